// Package store is the hub's persistence: GORM over PostgreSQL (production)
// or an embedded SQLite file (zero-setup default), with the schema applied
// from the versioned SQL files in /migrations.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/incidenthub/incidenthub/internal/redact"
	"github.com/incidenthub/incidenthub/migrations"
)

// Dialects.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// Store wraps the GORM handle and knows its dialect.
type Store struct {
	DB      *gorm.DB
	SQL     *sql.DB
	Dialect string
}

// Options selects and tunes the database.
type Options struct {
	// URL is a postgres:// URL; empty selects SQLite at Path.
	URL          string
	Path         string
	MaxOpenConns int
}

// Open connects to the database described by opts. It does not migrate.
func Open(ctx context.Context, opts Options) (*Store, error) {
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		SkipDefaultTransaction: true,
		TranslateError:         true,
	}
	var (
		db      *gorm.DB
		err     error
		dialect string
	)
	if opts.URL != "" {
		dialect = Postgres
		db, err = gorm.Open(postgres.Open(opts.URL), cfg)
	} else {
		dialect = SQLite
		db, err = gorm.Open(sqlite.Open(sqliteDSN(opts.Path)), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %s", dialect, redactURL(err.Error(), opts.URL))
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dialect, err)
	}
	if dialect == SQLite {
		// SQLite has one writer. A single connection serialises writers in
		// the pool instead of failing them with SQLITE_BUSY.
		sqlDB.SetMaxOpenConns(1)
	} else {
		n := opts.MaxOpenConns
		if n <= 0 {
			n = 20
		}
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connect to %s: %s", dialect, redactURL(err.Error(), opts.URL))
	}
	return &Store{DB: db, SQL: sqlDB, Dialect: dialect}, nil
}

func sqliteDSN(path string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	// _time_format=sqlite stores UTC times as fixed-width text that sorts
	// and compares correctly in SQL. synchronous(FULL) fsyncs the WAL at
	// every commit, so a 202 (sent after the event's commit) survives an OS
	// crash or power loss; NORMAL synced only at checkpoints. It costs
	// ingest about 4× on SQLite (README, Storage).
	return path + sep + "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_time_format=sqlite"
}

// redactURL removes a URL's password, in any encoding, from a driver
// error message.
func redactURL(msg, raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return msg
	}
	p, ok := u.User.Password()
	if ok && p != "" && len(p) < redact.MinLen {
		// Too short to search for in its encodings; hidden as written.
		return strings.ReplaceAll(msg, p, redact.Mark)
	}
	return redact.New(p).String(msg)
}

// Close closes the database.
func (s *Store) Close() error { return s.SQL.Close() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.SQL.PingContext(ctx) }

func (s *Store) provider() (*goose.Provider, error) {
	fsys, err := migrations.FS(s.Dialect)
	if err != nil {
		return nil, err
	}
	var opts []goose.ProviderOption
	dialect := goose.DialectSQLite3
	if s.Dialect == Postgres {
		dialect = goose.DialectPostgres
		// Replicas starting together take turns migrating.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(dialect, s.SQL, fsys, opts...)
}

// Migrate applies every pending migration.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return s.migrateRiver(ctx)
}

// MigrationStatus is one migration file and whether it is applied.
type MigrationStatus struct {
	Version   int64
	Source    string
	Applied   bool
	AppliedAt time.Time
}

// Migrations lists every known migration and its state.
func (s *Store) Migrations(ctx context.Context) ([]MigrationStatus, error) {
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, m := range st {
		out = append(out, MigrationStatus{
			Version:   m.Source.Version,
			Source:    m.Source.Path,
			Applied:   m.State == goose.StateApplied,
			AppliedAt: m.AppliedAt,
		})
	}
	return out, nil
}

// Ready reports nil when the database answers and every migration is applied.
func (s *Store) Ready(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("check migrations: %w", err)
	}
	if !pending {
		if pending, err = s.riverPending(ctx); err != nil {
			return err
		}
	}
	if pending {
		return errors.New("migrations pending: run `incidenthub migrate up`")
	}
	return nil
}

// Tx runs fn in a transaction.
func (s *Store) Tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.DB.WithContext(ctx).Transaction(fn)
}

// RetryBusy runs op, and again while it fails because another process
// holds SQLite's write lock or committed a write since op's transaction
// began reading (SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT: the transaction was
// rolled back, nothing of it applied), for up to about 10 s. Within one
// process the single connection serialises transactions; this is for a
// short-lived process beside a running hub on the same file (the CLI).
// op must do all its work in one transaction and keep its results only
// from the last run. Other errors, and PostgreSQL's, return at once.
func RetryBusy(ctx context.Context, op func() error) error {
	wait := 20 * time.Millisecond
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := op()
		if err == nil || !sqliteBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// sqliteBusy reports whether err is SQLite's SQLITE_BUSY (any extended
// code: 5, 261, 517, …).
func sqliteBusy(err error) bool {
	var c interface{ Code() int }
	return errors.As(err, &c) && c.Code()&0xff == 5
}

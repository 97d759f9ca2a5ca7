package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// migrateRiver applies River's own migrations (the delivery queue's
// river_job and friends) with rivermigrate, which tracks them in its own
// river_migration table. They land in the connection's search_path schema.
func (s *Store) migrateRiver(ctx context.Context) error {
	var err error
	if s.Dialect == Postgres {
		// Replicas starting together take turns, as goose's migrations do
		// (its session lock), so the second sees the first's tables instead
		// of racing it to CREATE TYPE.
		var m *rivermigrate.Migrator[*sqlTx]
		m, err = rivermigrate.New(riverdatabasesql.New(s.SQL), nil)
		if err == nil {
			err = s.migrateRiverLocked(ctx, m)
		}
	} else {
		var m *rivermigrate.Migrator[*sqlTx]
		m, err = rivermigrate.New(riversqlite.New(s.SQL), nil)
		if err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	}
	if err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	return nil
}

// riverMigrationLock is the advisory lock key that serialises River's
// migrations across replicas (arbitrary, fixed: "ihriver" in ASCII).
const riverMigrationLock = 0x6968726976657200

func (s *Store) migrateRiverLocked(ctx context.Context, m *rivermigrate.Migrator[*sqlTx]) error {
	// A session lock on a connection of its own: River applies its
	// migrations in several transactions (an enum value must commit before
	// it is used), on other connections of the pool.
	conn, err := s.SQL.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(riverMigrationLock)); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(riverMigrationLock)) //nolint:errcheck // closing the session releases it too
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// riverPending reports whether River migrations are pending.
func (s *Store) riverPending(ctx context.Context) (bool, error) {
	var (
		res *rivermigrate.ValidateResult
		err error
	)
	if s.Dialect == Postgres {
		var m *rivermigrate.Migrator[*sqlTx]
		if m, err = rivermigrate.New(riverdatabasesql.New(s.SQL), nil); err == nil {
			res, err = m.Validate(ctx)
		}
	} else {
		var m *rivermigrate.Migrator[*sqlTx]
		if m, err = rivermigrate.New(riversqlite.New(s.SQL), nil); err == nil {
			res, err = m.Validate(ctx)
		}
	}
	if err != nil {
		return false, fmt.Errorf("check river migrations: %w", err)
	}
	return !res.OK, nil
}

type sqlTx = sql.Tx

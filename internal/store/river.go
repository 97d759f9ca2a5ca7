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
		var m *rivermigrate.Migrator[*sqlTx]
		m, err = rivermigrate.New(riverdatabasesql.New(s.SQL), nil)
		if err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
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

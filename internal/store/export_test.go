package store

import (
	"context"

	"gorm.io/gorm"
)

// ListEventsSQL is the statement ListEvents runs for f, with its values
// inlined, for EXPLAIN in tests.
func (s *Store) ListEventsSQL(f EventFilter) string {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	return s.DB.ToSQL(func(tx *gorm.DB) *gorm.DB {
		var rows []EventSummary
		return s.eventsQuery(tx, f).Order("id DESC").Limit(f.Limit + 1).Find(&rows)
	})
}

// EventColumns are the columns InsertEvent writes.
var EventColumns = eventColumns

// MigrateRiver runs only River's migrations, for the concurrency test.
func (s *Store) MigrateRiver(ctx context.Context) error { return s.migrateRiver(ctx) }

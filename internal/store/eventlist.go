package store

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// EventDuplicate is the pseudo-status of ListEvents that selects events
// which received at least one duplicate, whatever their processing status.
const EventDuplicate = "duplicate"

// EventStatuses are the values EventFilter.Status accepts.
var EventStatuses = []string{EventProcessed, EventPending, EventUnmapped, EventFailed, EventDuplicate}

// EventFilter narrows ListEvents. Since is inclusive and Until exclusive,
// on received_at; zero means unbounded. After is a cursor: only events
// with a smaller id (received earlier) are returned.
type EventFilter struct {
	Source string
	Status string // one of EventStatuses, or ""
	Kind   string
	Since  time.Time
	Until  time.Time
	After  string
	Limit  int
}

// EventSummary is an event without its body, headers and alerts: what a
// list shows.
type EventSummary struct {
	ID              string
	Source          string
	Kind            string
	ReceivedAt      time.Time
	RemoteAddr      string
	ContentType     string
	Status          string
	Error           string
	Attempts        int
	ProcessedAt     *time.Time
	Duplicates      int
	LastDuplicateAt *time.Time
	// AlertCount is how many alerts the event was mapped to; Size is the
	// body's length in bytes. Both are computed by the database, so the
	// list never reads a body or an alert array into Go.
	AlertCount int
	Size       int64
}

// ListEvents returns events newest first (by id: UUIDv7s sort by arrival)
// and the next cursor ("" on the last page). No filter reads the table
// sequentially: the primary key serves the list and its common filters,
// the partial indexes of migration 00011 the rare statuses
// (TestListEventsPlan checks the plans with 20,000 events).
func (s *Store) ListEvents(ctx context.Context, f EventFilter) ([]EventSummary, string, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	q := s.eventsQuery(s.DB.WithContext(ctx), f)
	return Page(q, "id DESC", f.Limit, func(r *EventSummary) string { return r.ID }, func(r *EventSummary) EventSummary { return *r })
}

// eventsQuery is ListEvents' query before its order and limit.
func (s *Store) eventsQuery(db *gorm.DB, f EventFilter) *gorm.DB {
	q := db.Model(&Event{}).Select(s.eventSummaryColumns())
	if f.Source != "" {
		q = q.Where("source = ?", f.Source)
	}
	switch f.Status {
	case "":
	case EventDuplicate:
		q = q.Where("duplicates > 0")
	case EventProcessed, EventPending, EventUnmapped, EventFailed:
		// A literal, not a parameter: the partial indexes of migration
		// 00011 (and events_pending) match only a literal predicate.
		q = q.Where("status = '" + f.Status + "'")
	default:
		q = q.Where("1 = 0")
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	if !f.Since.IsZero() {
		q = q.Where("received_at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("received_at < ?", f.Until.UTC())
	}
	if f.After != "" {
		q = q.Where("id < ?", f.After)
	}
	return q
}

// eventSummaryColumns selects everything but the body, headers and alerts,
// with the alert count and body size computed in SQL.
func (s *Store) eventSummaryColumns() string {
	const cols = "id, source, kind, received_at, remote_addr, content_type, status, error, attempts, processed_at, duplicates, last_duplicate_at, "
	if s.Dialect == Postgres {
		// octet_length reads a TOASTed bytea's size without fetching it.
		return cols + "CASE WHEN jsonb_typeof(alerts) = 'array' THEN jsonb_array_length(alerts) ELSE 0 END AS alert_count, octet_length(body) AS size"
	}
	return cols + "CASE WHEN json_type(alerts) = 'array' THEN json_array_length(alerts) ELSE 0 END AS alert_count, length(body) AS size"
}

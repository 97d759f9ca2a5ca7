package store

import (
	"context"
	"fmt"
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

// eventCountPredicates are the statuses EventStatusCounts counts, each a
// literal predicate one partial index serves. Processed is not counted:
// it is nearly every event, and counting it would read them all.
var eventCountPredicates = map[string]string{
	EventPending:   "status = 'pending'",
	EventUnmapped:  "status = 'unmapped'",
	EventFailed:    "status = 'failed'",
	EventDuplicate: "duplicates > 0",
}

// EventStatusCounts counts the events of source ("" for every source) that
// are pending, unmapped, failed, or received duplicates.
func (s *Store) EventStatusCounts(ctx context.Context, source string) (map[string]int64, error) {
	out := make(map[string]int64, len(eventCountPredicates))
	for status, pred := range eventCountPredicates {
		q := s.DB.WithContext(ctx).Model(&Event{}).Where(pred)
		if source != "" {
			q = q.Where("source = ?", source)
		}
		var n int64
		if err := q.Count(&n).Error; err != nil {
			return nil, fmt.Errorf("count %s events: %w", status, err)
		}
		out[status] = n
	}
	return out, nil
}

// SourceCount is how many events of one source have one status.
type SourceCount struct {
	Source string
	Status string
	Count  int64
}

// AttentionBySource counts the unmapped and failed events of each source
// (the ones a replay may fix), by source name.
func (s *Store) AttentionBySource(ctx context.Context) ([]SourceCount, error) {
	var out []SourceCount
	for _, status := range []string{EventUnmapped, EventFailed} {
		var rows []SourceCount
		err := s.DB.WithContext(ctx).Model(&Event{}).Select("source, COUNT(*) AS count").
			Where(eventCountPredicates[status]).Group("source").Order("source").Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("count %s events by source: %w", status, err)
		}
		for _, r := range rows {
			r.Status = status
			out = append(out, r)
		}
	}
	return out, nil
}

// AlertKey names an alert across incidents: its source and fingerprint.
type AlertKey struct{ Source, Fingerprint string }

// AlertIncidents finds, for each alert, the incident it belongs to now:
// the incident of its latest membership, the one that took its latest
// event (an alert split out or reopened later is found where it is now).
// Alerts that never reached correlation (dropped by a rule) are missing
// from the map.
func (s *Store) AlertIncidents(ctx context.Context, keys []AlertKey) (map[AlertKey]Incident, error) {
	out := map[AlertKey]Incident{}
	ids := map[AlertKey]int64{}
	db := s.DB.WithContext(ctx)
	for _, k := range keys {
		if _, done := ids[k]; done {
			continue
		}
		var m IncidentAlert
		err := db.Select("incident_id").Where("source = ? AND fingerprint = ?", k.Source, k.Fingerprint).
			Order("last_seen_at DESC, id DESC").Limit(1).Find(&m).Error // correlation.LatestIncarnation
		if err != nil {
			return nil, fmt.Errorf("find the incident of alert %s: %w", k.Fingerprint, err)
		}
		ids[k] = m.IncidentID
	}
	want := make([]int64, 0, len(ids))
	for _, id := range ids {
		if id > 0 {
			want = append(want, id)
		}
	}
	if len(want) == 0 {
		return out, nil
	}
	var incs []Incident
	if err := db.Select("id, title, status, severity, service").Where("id IN ?", want).Find(&incs).Error; err != nil {
		return nil, err
	}
	byID := make(map[int64]Incident, len(incs))
	for _, inc := range incs {
		byID[inc.ID] = inc
	}
	for k, id := range ids {
		if inc, ok := byID[id]; ok {
			out[k] = inc
		}
	}
	return out, nil
}

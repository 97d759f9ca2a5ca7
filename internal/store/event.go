package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/incidenthub/incidenthub"
)

// InsertEvent stores ev durably. When the source already sent an event with
// the same dedup key, ev is not stored: the earlier event's duplicates
// counter and last_duplicate_at are updated instead, and its id is returned
// with duplicate true. Either way it is one statement, an upsert that
// returns the id of the row it wrote. ev.ID is assigned when empty.
//
// This is the ingest hot path, so it is plain database/sql rather than
// GORM's Create: no reflection, and the statement text is constant (pgx
// prepares it once per connection).
func (s *Store) InsertEvent(ctx context.Context, ev *Event) (id string, duplicate bool, err error) {
	if ev.ID == "" {
		u, err := uuid.NewV7()
		if err != nil {
			return "", false, err
		}
		ev.ID = u.String()
	}
	if ev.Status == "" {
		ev.Status = EventPending
	}
	ev.DedupKey = storableKey(ev.DedupKey)
	q := insertEventSQL
	if s.Dialect == Postgres {
		q = insertEventPostgres
	}
	err = s.SQL.QueryRowContext(ctx, q, ev.ID, ev.Source, ev.Kind, ev.DedupKey, ev.ReceivedAt, ev.RemoteAddr,
		ev.ContentType, ev.Headers, ev.Body, ev.Status, ev.Error, ev.Note, ev.Attempts, ev.Alerts, warningsValue(ev.Warnings.V),
		ev.ProcessedAt, ev.RetryAt, ev.Duplicates, ev.LastDuplicateAt, ev.BodyPurgedAt).Scan(&id)
	if err != nil {
		return "", false, fmt.Errorf("store event: %w", err)
	}
	return id, id != ev.ID, nil
}

// MaxDedupKeyBytes bounds a stored dedup key: the unique index
// events_source_dedup_key cannot hold a value much longer than 2 KB on
// PostgreSQL (a B-tree entry holds at most 2704 bytes).
const MaxDedupKeyBytes = 1024

// storableKey returns a dedup key the events table can hold and index on
// both databases: the key itself, or, when it is longer than
// MaxDedupKeyBytes or not valid text (a NUL, invalid UTF-8: PostgreSQL
// refuses both), "sha256:" and the hex SHA-256 of its bytes, so distinct
// keys stay distinct and a repeat still finds its original.
func storableKey(k *string) *string {
	if k == nil || (len(*k) <= MaxDedupKeyBytes && incidenthub.ValidText(*k)) {
		return k
	}
	sum := sha256.Sum256([]byte(*k))
	h := "sha256:" + hex.EncodeToString(sum[:])
	return &h
}

// eventColumns are the columns InsertEvent writes: every column of Event
// (TestInsertEventWritesEveryColumn keeps the two in step).
var eventColumns = []string{"id", "source", "kind", "dedup_key", "received_at", "remote_addr", "content_type",
	"headers", "body", "status", "error", "note", "attempts", "alerts", "warnings", "processed_at", "retry_at", "duplicates", "last_duplicate_at", "body_purged_at"}

// insertEventSQL turns the insert of a repeat (same source and dedup key:
// the partial unique index events_source_dedup_key) into an update of the
// original's duplicate counter; RETURNING then yields the original's id.
// A repeat waits for the original's row lock, which the processor holds
// while it maps and correlates that event (milliseconds).
var insertEventSQL = "INSERT INTO events (" + strings.Join(eventColumns, ", ") + ") VALUES (" +
	strings.TrimSuffix(strings.Repeat("?, ", len(eventColumns)), ", ") + ")" + `
ON CONFLICT (source, dedup_key) WHERE dedup_key IS NOT NULL
DO UPDATE SET duplicates = events.duplicates + 1, last_duplicate_at = excluded.received_at
RETURNING id`

// insertEventPostgres is insertEventSQL with $n placeholders.
var insertEventPostgres = func() string {
	var b strings.Builder
	n := 0
	for _, r := range insertEventSQL {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}()

// GetEvent returns one event.
func (s *Store) GetEvent(ctx context.Context, id string) (*Event, error) {
	var ev Event
	err := s.DB.WithContext(ctx).Take(&ev, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, incidenthub.Errorf(incidenthub.ENOTFOUND, "event %q not found", id)
	}
	return &ev, err
}

// ClaimPendingEvent locks the oldest pending event inside tx. On PostgreSQL
// other workers and replicas skip it (SKIP LOCKED); on SQLite the single
// writer connection serialises claims. It returns nil when none is pending.
func ClaimPendingEvent(tx *gorm.DB) (*Event, error) {
	var ev Event
	err := tx.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"}).
		Where("status = ? AND (retry_at IS NULL OR retry_at <= ?)", EventPending, time.Now().UTC()).
		Order("id").Limit(1).Take(&ev).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return &ev, err
}

// Outcome is what processing made of an event.
type Outcome struct {
	Status   string // EventProcessed or EventUnmapped
	Error    string // why it is unmapped
	Alerts   []incidenthub.Alert
	Warnings []incidenthub.Warning
	Note     string // what the hub did with a control message (an SNS subscription confirmation)
}

// warningsValue is the warnings column's value: NULL for none.
func warningsValue(w []incidenthub.Warning) any {
	if len(w) == 0 {
		return nil
	}
	return JSON[[]incidenthub.Warning]{V: w}
}

// FinishEvent records the outcome of processing ev inside tx.
func FinishEvent(tx *gorm.DB, ev *Event, out Outcome) error {
	now := time.Now().UTC()
	warnings := warningsValue(out.Warnings)
	return tx.Model(&Event{}).Where("id = ?", ev.ID).Updates(map[string]any{
		"status":       out.Status,
		"error":        incidenthub.RepairText(out.Error),
		"attempts":     gorm.Expr("attempts + 1"),
		"alerts":       JSON[[]incidenthub.Alert]{V: out.Alerts},
		"warnings":     warnings,
		"note":         incidenthub.RepairText(out.Note),
		"processed_at": now,
	}).Error
}

// CountEvents counts events by status (for tests and metrics).
func (s *Store) CountEvents(ctx context.Context, status string) (int64, error) {
	var n int64
	err := s.DB.WithContext(ctx).Model(&Event{}).Where("status = ?", status).Count(&n).Error
	return n, err
}

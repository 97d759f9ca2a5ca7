package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/incidenthub/incidenthub"
)

// InsertEvent stores ev durably. When the source already sent an event with
// the same dedup key, nothing is written and the earlier event's id is
// returned with duplicate true. ev.ID is assigned when empty.
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
	res := s.DB.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(ev)
	if res.Error != nil {
		return "", false, fmt.Errorf("store event: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return ev.ID, false, nil
	}
	if ev.DedupKey == nil {
		return "", false, errors.New("store event: insert affected no row")
	}
	var prior Event
	err = s.DB.WithContext(ctx).Select("id").
		Where("source = ? AND dedup_key = ?", ev.Source, *ev.DedupKey).Take(&prior).Error
	if err != nil {
		return "", false, fmt.Errorf("find duplicate event: %w", err)
	}
	return prior.ID, true, nil
}

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

// FinishEvent records the outcome of processing ev inside tx.
func FinishEvent(tx *gorm.DB, ev *Event, out Outcome) error {
	now := time.Now().UTC()
	var warnings any // NULL for none
	if len(out.Warnings) > 0 {
		warnings = JSON[[]incidenthub.Warning]{V: out.Warnings}
	}
	return tx.Model(&Event{}).Where("id = ?", ev.ID).Updates(map[string]any{
		"status":       out.Status,
		"error":        out.Error,
		"attempts":     gorm.Expr("attempts + 1"),
		"alerts":       JSON[[]incidenthub.Alert]{V: out.Alerts},
		"warnings":     warnings,
		"note":         out.Note,
		"processed_at": now,
	}).Error
}

// CountEvents counts events by status (for tests and metrics).
func (s *Store) CountEvents(ctx context.Context, status string) (int64, error) {
	var n int64
	err := s.DB.WithContext(ctx).Model(&Event{}).Where("status = ?", status).Count(&n).Error
	return n, err
}

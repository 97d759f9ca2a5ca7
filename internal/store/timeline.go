package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
)

// CorrelationKey is a row of correlation_keys: where a key routes, and the
// row every alert for the key locks first.
type CorrelationKey struct {
	CorrelationKey string `gorm:"primaryKey"`
	IncidentID     int64
}

// TimelineEntry is a row of incident_timeline.
type TimelineEntry struct {
	ID          int64 `gorm:"primaryKey"`
	IncidentID  int64
	At          time.Time
	Kind        string
	Actor       string
	EventID     string
	Source      string
	Fingerprint string
	Status      string
	Reason      string
	Details     JSON[map[string]any]
}

// TableName implements gorm's Tabler.
func (TimelineEntry) TableName() string { return "incident_timeline" }

// Domain converts the row to the shared domain type.
func (r *TimelineEntry) Domain() incidenthub.TimelineEntry {
	return incidenthub.TimelineEntry{
		ID: r.ID, IncidentID: r.IncidentID, At: r.At, Kind: r.Kind, Actor: r.Actor, EventID: r.EventID,
		Source: r.Source, Fingerprint: r.Fingerprint, Status: r.Status, Reason: r.Reason, Details: r.Details.V,
	}
}

// AddTimeline appends entries to their incidents' timelines inside tx.
func AddTimeline(tx *gorm.DB, entries ...TimelineEntry) error {
	if len(entries) == 0 {
		return nil
	}
	for i := range entries {
		if entries[i].Details.V == nil {
			entries[i].Details.V = map[string]any{}
		}
	}
	if err := tx.Create(&entries).Error; err != nil {
		return fmt.Errorf("add timeline entry: %w", err)
	}
	return nil
}

// Timeline returns an incident's timeline oldest first, entries after the
// cursor after (an entry id), and the cursor of the next page (0 when this
// is the last).
func (s *Store) Timeline(ctx context.Context, incidentID, after int64, limit int) ([]incidenthub.TimelineEntry, int64, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var n int64
	if err := s.DB.WithContext(ctx).Model(&Incident{}).Where("id = ?", incidentID).Count(&n).Error; err != nil {
		return nil, 0, err
	}
	if n == 0 {
		return nil, 0, incidenthub.Errorf(incidenthub.ENOTFOUND, "incident %d not found", incidentID)
	}
	q := s.DB.WithContext(ctx).Where("incident_id = ? AND id > ?", incidentID, after)
	return Page(q, "id", limit, func(r *TimelineEntry) int64 { return r.ID }, (*TimelineEntry).Domain)
}

// OrphanResolve is a resolve for an alert the hub had not seen firing.
type OrphanResolve struct {
	Source      string `gorm:"primaryKey"`
	Fingerprint string `gorm:"primaryKey"`
	EndedAt     time.Time
	EventID     string
	ReceivedAt  time.Time
}

// TimelineNewest returns an incident's timeline newest first: entries
// before the cursor before (an entry id; 0 starts at the newest), and the
// cursor of the next, older page (0 when this is the last). It does not
// check that the incident exists.
func (s *Store) TimelineNewest(ctx context.Context, incidentID, before int64, limit int) ([]incidenthub.TimelineEntry, int64, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := s.DB.WithContext(ctx).Where("incident_id = ?", incidentID)
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	return Page(q, "id DESC", limit, func(r *TimelineEntry) int64 { return r.ID }, (*TimelineEntry).Domain)
}

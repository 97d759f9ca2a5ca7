package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
)

// DeliverySync is a row of delivery_syncs: per (incident, target), the
// state last delivered and who is syncing it now.
type DeliverySync struct {
	ID               int64 `gorm:"primaryKey"`
	IncidentID       int64
	Target           string
	SyncedState      *JSON[incidenthub.Incident]
	SyncedDeliveryID int64
	// NotifyState is the incident as of its last change that notifies:
	// what the sync brings the target to (nil: the live incident).
	NotifyState *JSON[incidenthub.Incident]
	Ref         JSON[map[string]string]
	JobQueued   bool
	LeaseOwner  *int64
	LeaseUntil  *time.Time
	WakeAt      *time.Time
	// SendingDeliveryID is the delivery whose attempt is in flight;
	// InterruptedDeliveryID one whose attempt started and was never
	// recorded (the process died mid-send): its outcome is unknown.
	SendingDeliveryID     *int64
	InterruptedDeliveryID *int64
	// JobID is the River job last queued for or claiming the pair
	// (delivery/catchup.go).
	JobID     *int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Delivery is a row of deliveries.
type Delivery struct {
	ID             int64 `gorm:"primaryKey"`
	IncidentID     int64
	Target         string
	TargetType     string
	Event          string
	MessageID      string
	Status         string
	Changes        JSON[[]string]
	State          JSON[incidenthub.Incident]
	Previous       *JSON[incidenthub.Incident]
	LatestAlert    *JSON[incidenthub.Alert]
	Attempts       int
	LastError      string
	LastStatusCode int
	NextAttemptAt  *time.Time
	WindowStart    time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DeliveredAt    *time.Time
}

// DeliveryAttempt is a row of delivery_attempts.
type DeliveryAttempt struct {
	ID              int64 `gorm:"primaryKey"`
	DeliveryID      int64
	Attempt         int
	StartedAt       time.Time
	Method          string
	URL             string
	RequestHeaders  JSON[map[string][]string]
	RequestBody     string
	ResponseStatus  int
	ResponseHeaders JSON[map[string][]string]
	ResponseBody    string
	LatencyMS       int64 `gorm:"column:latency_ms"`
	Error           string
	Outcome         string
	NextAttemptAt   *time.Time
	// BodiesPurgedAt is when retention (retention.attempt_bodies) blanked
	// RequestBody and ResponseBody.
	BodiesPurgedAt *time.Time
}

// Domain converts the row to the shared domain type.
func (r *Delivery) Domain() incidenthub.Delivery {
	ch := r.Changes.V
	if ch == nil {
		ch = []string{}
	}
	return incidenthub.Delivery{
		ID: r.ID, IncidentID: r.IncidentID, Target: r.Target, TargetType: r.TargetType, Event: r.Event,
		MessageID: r.MessageID, Status: r.Status, Changes: ch, Attempts: r.Attempts, LastError: r.LastError,
		LastStatusCode: r.LastStatusCode, NextAttemptAt: r.NextAttemptAt, CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt, DeliveredAt: r.DeliveredAt,
	}
}

// Domain converts the row to the shared domain type.
func (r *DeliveryAttempt) Domain() incidenthub.DeliveryAttempt {
	return incidenthub.DeliveryAttempt{
		ID: r.ID, Attempt: r.Attempt, StartedAt: r.StartedAt, Method: r.Method, URL: r.URL,
		RequestHeaders: r.RequestHeaders.V, RequestBody: r.RequestBody, ResponseStatus: r.ResponseStatus,
		ResponseHeaders: r.ResponseHeaders.V, ResponseBody: r.ResponseBody, LatencyMS: r.LatencyMS,
		Error: r.Error, Outcome: r.Outcome, NextAttemptAt: r.NextAttemptAt, BodiesPurgedAt: r.BodiesPurgedAt,
	}
}

// DeliveryFilter narrows ListDeliveries. After is a cursor: only
// deliveries with a smaller id are returned (newest first).
type DeliveryFilter struct {
	IncidentID int64
	Target     string
	Status     string
	After      int64
	Limit      int
}

// ListDeliveries returns deliveries newest first and the next cursor (0 on
// the last page).
func (s *Store) ListDeliveries(ctx context.Context, f DeliveryFilter) ([]incidenthub.Delivery, int64, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	q := s.DB.WithContext(ctx).Model(&Delivery{})
	if f.IncidentID > 0 {
		q = q.Where("incident_id = ?", f.IncidentID)
	}
	if f.Target != "" {
		q = q.Where("target = ?", f.Target)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.After > 0 {
		q = q.Where("id < ?", f.After)
	}
	return Page(q, "id DESC", f.Limit, func(r *Delivery) int64 { return r.ID }, (*Delivery).Domain)
}

// GetDelivery returns one delivery and its attempts, oldest first.
func (s *Store) GetDelivery(ctx context.Context, id int64) (*incidenthub.Delivery, []incidenthub.DeliveryAttempt, error) {
	var row Delivery
	err := s.DB.WithContext(ctx).Take(&row, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, incidenthub.Errorf(incidenthub.ENOTFOUND, "delivery %d not found", id)
	}
	if err != nil {
		return nil, nil, err
	}
	var rows []DeliveryAttempt
	if err := s.DB.WithContext(ctx).Where("delivery_id = ?", id).Order("id").Find(&rows).Error; err != nil {
		return nil, nil, err
	}
	d := row.Domain()
	atts := make([]incidenthub.DeliveryAttempt, len(rows))
	for i := range rows {
		atts[i] = rows[i].Domain()
	}
	return &d, atts, nil
}

// IncidentTargets returns, per target the incident was delivered to (or is
// being delivered to), the target's ids for it, a link to the remote
// object and the status of the latest delivery, ordered by target name.
// Refs hold remote ids only, never secrets.
func (s *Store) IncidentTargets(ctx context.Context, incidentID int64) ([]incidenthub.TargetSync, error) {
	m, err := s.TargetStates(ctx, []int64{incidentID})
	if err != nil {
		return nil, err
	}
	out := m[incidentID]
	if out == nil {
		out = []incidenthub.TargetSync{}
	}
	return out, nil
}

// TargetStates is IncidentTargets for several incidents in three queries:
// the map holds an entry for each incident that has targets.
func (s *Store) TargetStates(ctx context.Context, incidentIDs []int64) (map[int64][]incidenthub.TargetSync, error) {
	out := map[int64][]incidenthub.TargetSync{}
	if len(incidentIDs) == 0 {
		return out, nil
	}
	db := s.DB.WithContext(ctx)
	var syncs []DeliverySync
	if err := db.Select("incident_id, target, ref, updated_at").Where("incident_id IN ?", incidentIDs).
		Order("incident_id, target").Find(&syncs).Error; err != nil {
		return nil, err
	}
	if len(syncs) == 0 {
		return out, nil
	}
	// The latest delivery of each (incident, target) pair.
	var last []Delivery
	if err := db.Select("incident_id, target, target_type, status").Where("id IN (?)",
		db.Model(&Delivery{}).Select("MAX(id)").Where("incident_id IN ?", incidentIDs).Group("incident_id, target"),
	).Find(&last).Error; err != nil {
		return nil, err
	}
	type pair struct {
		id     int64
		target string
	}
	latest := make(map[pair]*Delivery, len(last))
	for i := range last {
		latest[pair{last[i].IncidentID, last[i].Target}] = &last[i]
	}
	for _, sy := range syncs {
		ts := incidenthub.TargetSync{Target: sy.Target, UpdatedAt: sy.UpdatedAt}
		ts.Refs, ts.URL = incidenthub.RefView(sy.Ref.V)
		if d := latest[pair{sy.IncidentID, sy.Target}]; d != nil {
			ts.Type, ts.LastStatus = d.TargetType, d.Status
		}
		out[sy.IncidentID] = append(out[sy.IncidentID], ts)
	}
	return out, nil
}

// AttemptsOf returns the attempts of each delivery, oldest first, keyed by
// delivery id.
func (s *Store) AttemptsOf(ctx context.Context, deliveryIDs []int64) (map[int64][]incidenthub.DeliveryAttempt, error) {
	out := map[int64][]incidenthub.DeliveryAttempt{}
	if len(deliveryIDs) == 0 {
		return out, nil
	}
	var rows []DeliveryAttempt
	if err := s.DB.WithContext(ctx).Where("delivery_id IN ?", deliveryIDs).Order("delivery_id, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	for i := range rows {
		out[rows[i].DeliveryID] = append(out[rows[i].DeliveryID], rows[i].Domain())
	}
	return out, nil
}

// DeliveryTransition is a row of delivery_transitions: a status change an
// (incident, target) pair has still to hear, with the incident as it was
// right after it.
type DeliveryTransition struct {
	ID         int64 `gorm:"primaryKey"`
	IncidentID int64
	Target     string
	Event      string
	State      JSON[incidenthub.Incident]
	CreatedAt  time.Time
}

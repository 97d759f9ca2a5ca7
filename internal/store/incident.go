package store

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
)

// IncidentFilter narrows ListIncidents. After is a cursor: only incidents
// with a smaller id are returned (newest first).
type IncidentFilter struct {
	Status  string
	Service string
	Key     string
	After   int64
	Limit   int
}

// ListIncidents returns incidents newest first, and the cursor of the next
// page (0 when this is the last).
func (s *Store) ListIncidents(ctx context.Context, f IncidentFilter) ([]incidenthub.Incident, int64, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	q := s.DB.WithContext(ctx).Model(&Incident{})
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Service != "" {
		q = q.Where("service = ?", f.Service)
	}
	if f.Key != "" {
		q = q.Where("correlation_key = ?", f.Key)
	}
	if f.After > 0 {
		q = q.Where("id < ?", f.After)
	}
	return Page(q, "id DESC", f.Limit, func(r *Incident) int64 { return r.ID }, (*Incident).Domain)
}

// GetIncident returns one incident and its member alerts.
func (s *Store) GetIncident(ctx context.Context, id int64) (*incidenthub.Incident, []incidenthub.IncidentAlert, error) {
	var row Incident
	err := s.DB.WithContext(ctx).Take(&row, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, incidenthub.Errorf(incidenthub.ENOTFOUND, "incident %d not found", id)
	}
	if err != nil {
		return nil, nil, err
	}
	var members []IncidentAlert
	if err := s.DB.WithContext(ctx).Where("incident_id = ?", id).Order("id").Find(&members).Error; err != nil {
		return nil, nil, err
	}
	inc := row.Domain()
	alerts := make([]incidenthub.IncidentAlert, len(members))
	for i := range members {
		alerts[i] = members[i].Domain()
	}
	return &inc, alerts, nil
}

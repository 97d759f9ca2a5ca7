package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"
)

// Circuit breaker states, as target_circuits.state holds them.
const (
	CircuitClosed   = "closed"
	CircuitOpen     = "open"
	CircuitDisabled = "disabled"
)

// TargetCircuit is a row of target_circuits: the latest circuit breaker
// state change of an outbound target, on whichever replica it happened.
type TargetCircuit struct {
	Target    string `gorm:"primaryKey"`
	State     string
	ChangedAt time.Time
	LastError string
}

// SetCircuit records target's breaker state (an upsert: the latest change
// wins, whichever replica made it).
func (s *Store) SetCircuit(ctx context.Context, c TargetCircuit) error {
	return s.DB.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "target"}},
		DoUpdates: clause.AssignmentColumns([]string{"state", "changed_at", "last_error"}),
	}).Create(&c).Error
}

// Circuits returns every target's recorded breaker state by target name.
func (s *Store) Circuits(ctx context.Context) (map[string]TargetCircuit, error) {
	var rows []TargetCircuit
	if err := s.DB.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]TargetCircuit, len(rows))
	for _, r := range rows {
		out[r.Target] = r
	}
	return out, nil
}

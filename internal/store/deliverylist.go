package store

import (
	"context"
	"fmt"

	"github.com/incidenthub/incidenthub"
)

// DeliveryCounts are a target's deliveries that are not delivered yet.
type DeliveryCounts struct {
	Pending, Retrying, Dead int64
}

// UndeliveredByTarget counts each target's pending, retrying and dead
// deliveries (deliveries_status serves it; delivered ones, nearly all, are
// not read).
func (s *Store) UndeliveredByTarget(ctx context.Context) (map[string]DeliveryCounts, error) {
	var rows []struct {
		Target, Status string
		Count          int64
	}
	err := s.DB.WithContext(ctx).Model(&Delivery{}).Select("target, status, COUNT(*) AS count").
		Where("status IN ?", []string{incidenthub.DeliveryPending, incidenthub.DeliveryRetrying, incidenthub.DeliveryDead}).
		Group("target, status").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("count undelivered deliveries: %w", err)
	}
	out := map[string]DeliveryCounts{}
	for _, r := range rows {
		c := out[r.Target]
		switch r.Status {
		case incidenthub.DeliveryPending:
			c.Pending = r.Count
		case incidenthub.DeliveryRetrying:
			c.Retrying = r.Count
		case incidenthub.DeliveryDead:
			c.Dead = r.Count
		}
		out[r.Target] = c
	}
	return out, nil
}

package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
)

// ReplayEvent puts event id back to pending so the processor maps and
// correlates it again, with kind (the source's current kind; "" keeps the
// event's). An unmapped or failed event can always be replayed; a
// processed one only with force, because its alerts then reach correlation
// a second time. A pending event is a conflict: it is already queued.
func (s *Store) ReplayEvent(ctx context.Context, id, kind string, force bool) (*Event, error) {
	var ev *Event
	err := s.Tx(ctx, func(tx *gorm.DB) error {
		var cur Event
		err := tx.Select("id", "source", "kind", "status", "body_purged_at").Take(&cur, "id = ?", id).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return incidenthub.Errorf(incidenthub.ENOTFOUND, "event %q not found", id)
		}
		if err != nil {
			return err
		}
		if cur.BodyPurgedAt != nil {
			return incidenthub.Errorf(incidenthub.ECONFLICT, "event %s cannot be replayed: its body was purged by retention on %s (retention.event_bodies)",
				id, cur.BodyPurgedAt.UTC().Format(time.RFC3339))
		}
		switch cur.Status {
		case EventUnmapped, EventFailed:
		case EventProcessed:
			if !force {
				return incidenthub.Errorf(incidenthub.ECONFLICT, "event %s was processed already; replaying it correlates its alerts again (add ?force=true to do so)", id)
			}
		case EventPending:
			return incidenthub.Errorf(incidenthub.ECONFLICT, "event %s is pending already: it is queued for processing", id)
		default:
			return incidenthub.Errorf(incidenthub.ECONFLICT, "event %s has status %s and cannot be replayed", id, cur.Status)
		}
		if kind == "" {
			kind = cur.Kind
		}
		res := tx.Model(&Event{}).Where("id = ? AND status = ? AND body_purged_at IS NULL", id, cur.Status).Updates(requeue(kind))
		if res.Error != nil {
			return fmt.Errorf("replay event %s: %w", id, res.Error)
		}
		if res.RowsAffected != 1 {
			return incidenthub.Errorf(incidenthub.ECONFLICT, "event %s changed while being replayed; try again", id)
		}
		cur.Status, cur.Kind = EventPending, kind
		ev = &cur
		return nil
	})
	return ev, err
}

// ReplaySource puts every event of source with the given status (unmapped
// or failed) back to pending with kind, and returns how many.
func (s *Store) ReplaySource(ctx context.Context, source, status, kind string) (int64, error) {
	if status != EventUnmapped && status != EventFailed {
		return 0, incidenthub.Errorf(incidenthub.EINVALID, "status must be unmapped or failed (got %q); replay a processed event one at a time with force", status)
	}
	// An event whose body retention purged has nothing left to map.
	res := s.DB.WithContext(ctx).Model(&Event{}).Where("source = ? AND status = ? AND body_purged_at IS NULL", source, status).Updates(requeue(kind))
	if res.Error != nil {
		return 0, fmt.Errorf("replay %s events of %s: %w", status, source, res.Error)
	}
	return res.RowsAffected, nil
}

// requeue is the update that makes an event pending again. Its alerts,
// warnings and error are cleared; attempts restart so a failed event gets its retries.
func requeue(kind string) map[string]any {
	return map[string]any{
		"status":       EventPending,
		"kind":         kind,
		"error":        "",
		"attempts":     0,
		"alerts":       JSON[[]incidenthub.Alert]{V: nil},
		"warnings":     nil,
		"processed_at": nil,
		"retry_at":     nil,
	}
}

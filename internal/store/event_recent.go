package store

import (
	"context"
	"fmt"
	"time"
)

// EventBrief is an event without its body: for pickers.
type EventBrief struct {
	ID         string
	Source     string
	ReceivedAt time.Time
	Status     string
	Error      string
	Size       int
}

// RecentEventsOf returns the source's latest events, newest first, at
// most limit (the rules playground offers them as payloads).
func (s *Store) RecentEventsOf(ctx context.Context, source string, limit int) ([]EventBrief, error) {
	var out []EventBrief
	size := "length(body)"
	if s.Dialect == Postgres {
		size = "octet_length(body)"
	}
	err := s.DB.WithContext(ctx).Model(&Event{}).
		Select("id, source, received_at, status, error, "+size+" AS size").
		Where("source = ?", source).Order("received_at DESC, id DESC").Limit(limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("recent events of %s: %w", source, err)
	}
	for i := range out {
		out[i].ReceivedAt = out[i].ReceivedAt.UTC()
	}
	return out, nil
}

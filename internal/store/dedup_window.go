package store

import (
	"context"
	"fmt"
	"time"
)

// ReleaseDedupKey frees a dedup key held by an event of source received
// before cutoff, so the next event with that key is stored as new rather
// than counted as its duplicate: for keys that mean "the same request"
// only within a window (a body-signed request's signed content, see
// web's duplicate_window). The older event keeps everything but the key.
func (s *Store) ReleaseDedupKey(ctx context.Context, source, key string, cutoff time.Time) error {
	q := `UPDATE events SET dedup_key = NULL WHERE source = ? AND dedup_key = ? AND received_at < ?`
	if s.Dialect == Postgres {
		q = `UPDATE events SET dedup_key = NULL WHERE source = $1 AND dedup_key = $2 AND received_at < $3`
	}
	if _, err := s.SQL.ExecContext(ctx, q, source, key, cutoff.UTC()); err != nil {
		return fmt.Errorf("release dedup key: %w", err)
	}
	return nil
}

package delivery

import (
	"context"
	"time"
)

// Resync runs one resync sweep (catchup.go) and returns how many pairs it
// enqueued a fresh job for.
func (e *Engine) Resync(ctx context.Context) (int, error) { return e.resync(ctx) }

// SetCatchupTimings shortens the pair lease, heartbeat and sweep timings
// for a test; the returned func restores them.
func SetCatchupTimings(lease, beat, sweep, grace time.Duration) (restore func()) {
	l, b, s, g := pairLease, beatEvery, sweepEvery, sweepGrace
	pairLease, beatEvery, sweepEvery, sweepGrace = lease, beat, sweep, grace
	return func() { pairLease, beatEvery, sweepEvery, sweepGrace = l, b, s, g }
}

package delivery

import (
	"math/rand/v2"
	"sync"
	"time"
)

// backoff returns the wait before retry number attempt (1-based): the
// schedule's entry (the last one repeats), spread by ± jitter.
func backoff(schedule []time.Duration, jitter float64, attempt int) time.Duration {
	if len(schedule) == 0 {
		return time.Minute
	}
	d := schedule[min(max(attempt, 1), len(schedule))-1]
	if jitter > 0 {
		d = time.Duration(float64(d) * (1 + jitter*(2*rand.Float64()-1)))
	}
	return max(d, time.Millisecond)
}

// breaker is a per-target circuit breaker. After threshold failures in a
// row it opens: requests wait, and one probe goes through every probe
// interval; a success closes it. Failing for disableAfter without a
// success marks the target disabled (it keeps probing, and the first
// success re-enables it).
type breaker struct {
	threshold    int
	probe        time.Duration
	disableAfter time.Duration

	mu           sync.Mutex
	failures     int
	firstFailure time.Time
	openUntil    time.Time
	probeUntil   time.Time // a probe is in flight until then
	disabled     bool
}

// allow reports whether a request may go now, or how long to wait.
// probeRecheck is how long a send waits while another one probes the
// target.
const probeRecheck = time.Second

func (b *breaker) allow(now time.Time, inflight time.Duration) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.threshold {
		return true, 0
	}
	if now.Before(b.openUntil) {
		return false, b.openUntil.Sub(now)
	}
	if now.Before(b.probeUntil) {
		// A probe is in flight: look again soon rather than when its
		// window (inflight: up to 3×timeout+30 s) ends, so the other
		// pairs follow within a second of a probe that succeeds.
		return false, min(b.probeUntil.Sub(now), probeRecheck)
	}
	b.probeUntil = now.Add(inflight) // half-open: this request is the probe
	return true, 0
}

// done records an outcome. It reports state changes worth an operational
// event: disabled (true, false) or re-enabled (false, true).
func (b *breaker) done(now time.Time, ok bool) (disabled, enabled bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probeUntil = time.Time{}
	if ok {
		enabled = b.disabled
		b.failures, b.firstFailure, b.openUntil, b.disabled = 0, time.Time{}, time.Time{}, false
		return false, enabled
	}
	if b.failures == 0 {
		b.firstFailure = now
	}
	b.failures++
	if b.failures >= b.threshold {
		b.openUntil = now.Add(b.probe)
	}
	if !b.disabled && b.disableAfter > 0 && now.Sub(b.firstFailure) >= b.disableAfter {
		b.disabled = true
		return true, false
	}
	return false, false
}

// state is "closed", "open" or "disabled".
func (b *breaker) state() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.disabled:
		return "disabled"
	case b.failures >= b.threshold:
		return "open"
	}
	return "closed"
}

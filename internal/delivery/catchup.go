package delivery

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
)

// Catching up after a fault. A job can be left `running` in River with
// nobody working it: the process was killed, or River gave up recording
// its result while the database was down. Its pair then has job_queued
// set (so a change enqueues nothing) or an expired lease, and River would
// only rescue the job after RescueStuckJobsAfter (minutes). Two things
// bound the delay instead: the pair's lease is short (pairLease) and
// renewed by a heartbeat while its job works, and every replica sweeps
// for pairs that need work, have no live lease and no job waiting to run,
// and enqueues a fresh job for each (resync). Nothing delivered is sent
// again: the fresh job works the pair's open deliveries with their own
// message ids, after the state last recorded delivered.

var (
	// pairLease is how long a claim or renewal holds the pair.
	pairLease = 10 * time.Second
	// beatEvery is how often a working job renews its lease.
	beatEvery = 3 * time.Second
	// sweepEvery is how often the resync sweep looks.
	sweepEvery = 2 * time.Second
	// sweepGrace is how far past its wake time a queued pair must be
	// before the sweep takes it for stuck.
	sweepGrace = 5 * time.Second
	// recordFor bounds how long an attempt's outcome is retried into a
	// database that does not answer (a send that reached the target is
	// then recorded rather than sent again by the next job).
	recordFor = 30 * time.Second
)

// heartbeat renews jobID's lease on the pair every beatEvery until the
// returned stop is called (it waits for the goroutine to end). A renewal
// that fails (the database is down) is retried on the next beat; one that
// finds the lease taken ends the heartbeat (renew, before the next send,
// then stops the job).
func (w *worker) heartbeat(db *gorm.DB, a SyncArgs, jobID int64, lease time.Duration) (stop func()) {
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		t := time.NewTicker(beatEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			res := db.Model(&store.DeliverySync{}).
				Where("incident_id = ? AND target = ? AND lease_owner = ?", a.IncidentID, a.Target, jobID).
				Update("lease_until", w.e.now().Add(lease))
			if res.Error == nil && res.RowsAffected == 0 {
				return
			}
		}
	}()
	return func() { close(done); <-ended }
}

// resyncLoop runs the sweep every sweepEvery until ctx ends. A database
// that does not answer is logged once when the sweep starts failing and
// once when it works again, not at every tick.
func (e *Engine) resyncLoop(ctx context.Context) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := e.resync(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			if !failing {
				e.log.Warn("delivery resync sweep failing (database unavailable?); retrying every "+sweepEvery.String(), "err", err)
			}
			failing = true
			continue
		case failing:
			e.log.Info("delivery resync sweep works again")
			failing = false
		}
		if n > 0 {
			e.log.Info("delivery resync: fresh jobs enqueued for pairs left without a working job", "pairs", n)
		}
	}
}

// stuckSQL selects pairs that need work and have nobody on it: their
// lease is free or expired, they are not waiting to wake (or woke more
// than sweepGrace ago) and the River job last queued for them is not
// waiting to run. "Need work" is a queued job, a lease left behind, an
// open delivery or a transition still to deliver; each is found through
// an index (delivery_syncs_busy, deliveries_pair_open,
// delivery_transitions_pair).
const stuckSQL = `SELECT s.id, s.incident_id, s.target FROM delivery_syncs s
WHERE s.id IN (
    SELECT b.id FROM delivery_syncs b WHERE b.job_queued OR b.lease_owner IS NOT NULL
    UNION SELECT o.id FROM delivery_syncs o JOIN deliveries d ON d.incident_id = o.incident_id AND d.target = o.target
        WHERE d.status IN ('pending', 'retrying')
    UNION SELECT r.id FROM delivery_syncs r JOIN delivery_transitions t ON t.incident_id = r.incident_id AND t.target = r.target)
  AND (s.lease_until IS NULL OR s.lease_until < ?)
  AND (s.wake_at IS NULL OR s.wake_at < ?)
  AND NOT EXISTS (SELECT 1 FROM river_job j WHERE j.id = s.job_id AND j.state IN ('available', 'scheduled', 'retryable', 'pending'))`

type stuckPair struct {
	ID         int64
	IncidentID int64
	Target     string
}

// resync enqueues a fresh job for each pair stuckSQL finds, re-checking
// each under its row lock (SKIP LOCKED on PostgreSQL: a pair another
// replica is handling is left to it), and returns how many it enqueued.
func (e *Engine) resync(ctx context.Context) (int, error) {
	now := e.now()
	var pairs []stuckPair
	if err := e.store.DB.WithContext(ctx).Raw(stuckSQL+" ORDER BY s.id LIMIT 500", now, now.Add(-sweepGrace)).
		Scan(&pairs).Error; err != nil {
		return 0, fmt.Errorf("find pairs to resync: %w", err)
	}
	n := 0
	for _, p := range pairs {
		if _, ok := e.target(p.Target); !ok {
			continue // a removed target's pairs are ended by the reload (reload.go)
		}
		err := e.store.Tx(ctx, func(tx *gorm.DB) error {
			now := e.now()
			q := stuckSQL + " AND s.id = ?"
			if e.store.Dialect == store.Postgres {
				q += " FOR UPDATE OF s SKIP LOCKED"
			}
			var still []stuckPair
			if err := tx.Raw(q, now, now.Add(-sweepGrace), p.ID).Scan(&still).Error; err != nil || len(still) == 0 {
				return err
			}
			if err := e.enqueue(tx, p.IncidentID, p.Target, true); err != nil {
				return err
			}
			n++
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("resync incident %d to %s: %w", p.IncidentID, p.Target, err)
		}
	}
	return n, nil
}

// recordAttempt runs fn (an attempt's outcome, one transaction) and
// retries it for up to recordFor while the database refuses it, so that
// a send that reached the target during an outage is recorded once the
// database is back rather than sent again. A job being stopped (ctx
// done) tries once more and gives up.
func (w *worker) recordAttempt(ctx context.Context, db *gorm.DB, d *store.Delivery, fn func(tx *gorm.DB) error) error {
	deadline := time.Now().Add(recordFor)
	wait := 200 * time.Millisecond
	for {
		err := db.Transaction(fn)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		if wait == 200*time.Millisecond {
			w.e.log.Warn("cannot record a delivery attempt; retrying", "delivery_id", d.ID, "incident_id", d.IncidentID,
				"target", d.Target, "retry_for", recordFor, "err", incidenthub.RepairText(err.Error()))
		}
		time.Sleep(wait)
		wait = min(2*wait, 2*time.Second)
	}
}

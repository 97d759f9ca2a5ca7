package correlation

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
)

// AutoResolver is the actor recorded when the sweep resolves an incident.
const AutoResolver = "auto-resolve"

// orphanResolveTTL is how long a resolve that arrived before its firing is
// remembered.
const orphanResolveTTL = 24 * time.Hour

// Sweeper does the time-driven part of correlation, periodically:
// auto-resolving incidents that heard nothing for Policy.AutoResolveAfter,
// sending the pending "N more alerts joined" summaries whose interval has
// passed, and settling incidents that stopped flapping.
//
// Several replicas may sweep the same database: each incident is claimed
// with FOR UPDATE SKIP LOCKED and its condition re-checked under the lock,
// so each change happens once.
type Sweeper struct {
	Store  *store.Store
	Policy Policy
	// Notifier hears every change worth notifying, inside its transaction;
	// nil drops them.
	Notifier Notifier
	Log      *slog.Logger
	// Interval between sweeps; 0 means 30s.
	Interval time.Duration
}

// SweepResult counts what one sweep did.
type SweepResult struct {
	AutoResolved, JoinsNotified, Settled int
}

// Run sweeps every Interval until ctx is done.
func (s *Sweeper) Run(ctx context.Context) {
	iv := s.Interval
	if iv <= 0 {
		iv = 30 * time.Second
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A sweep in progress finishes its transaction during shutdown.
		if _, err := s.Sweep(context.WithoutCancel(ctx), time.Now().UTC()); err != nil && s.Log != nil {
			s.Log.Error("correlation sweep", "err", err)
		}
	}
}

const sweepBatch = 100

// Sweep runs one sweep as of now.
func (s *Sweeper) Sweep(ctx context.Context, now time.Time) (SweepResult, error) {
	var r SweepResult
	p := s.Policy
	if p.AutoResolveAfter > 0 {
		n, err := s.each(ctx, func(q *gorm.DB) *gorm.DB {
			return q.Where("status <> ? AND resolve_policy <> ? AND last_seen_at < ?",
				incidenthub.IncidentResolved, ResolveManual, now.Add(-p.AutoResolveAfter))
		}, func(tx *gorm.DB, inc *store.Incident) (Change, error) { return s.autoResolve(tx, inc, now) })
		r.AutoResolved = n
		if err != nil {
			return r, err
		}
	}
	n, err := s.each(ctx, func(q *gorm.DB) *gorm.DB {
		return q.Where("status <> ? AND pending_joins > 0 AND joins_notified_at <= ?",
			incidenthub.IncidentResolved, now.Add(-p.JoinNotifyInterval))
	}, func(tx *gorm.DB, inc *store.Incident) (Change, error) { return s.notifyJoins(tx, inc, now) })
	r.JoinsNotified = n
	if err != nil {
		return r, err
	}
	n, err = s.each(ctx, func(q *gorm.DB) *gorm.DB {
		return q.Where("flapping = ? AND last_flap_at <= ?", true, now.Add(-p.FlapWindow))
	}, func(tx *gorm.DB, inc *store.Incident) (Change, error) { return s.settle(tx, inc, now) })
	r.Settled = n
	if err != nil {
		return r, err
	}
	err = s.Store.DB.WithContext(ctx).Where("received_at < ?", now.Add(-orphanResolveTTL)).Delete(&store.OrphanResolve{}).Error
	if err != nil {
		return r, fmt.Errorf("forget old orphan resolves: %w", err)
	}
	return r, nil
}

// each claims batches of incidents matching where, applies fn to each in
// the claiming transaction, and notifies, until none is left.
func (s *Sweeper) each(ctx context.Context, where func(*gorm.DB) *gorm.DB, fn func(*gorm.DB, *store.Incident) (Change, error)) (int, error) {
	total := 0
	for {
		n := 0
		var changes []Change // logged once committed
		err := s.Store.Tx(ctx, func(tx *gorm.DB) error {
			changes = changes[:0]
			var incs []store.Incident
			q := tx.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
			if err := where(q).Order("id").Limit(sweepBatch).Find(&incs).Error; err != nil {
				return fmt.Errorf("claim incidents: %w", err)
			}
			for i := range incs {
				ch, err := fn(tx, &incs[i])
				if err != nil {
					return err
				}
				changes = append(changes, ch)
				if ch.Notify && s.Notifier != nil {
					if err := s.Notifier.IncidentChanged(tx, ch); err != nil {
						return fmt.Errorf("incident %d: notify: %w", ch.IncidentID, err)
					}
				}
			}
			n = len(incs)
			return nil
		})
		if err != nil {
			return total, err
		}
		LogChanges(ctx, s.Log, changes)
		total += n
		if n < sweepBatch {
			return total, nil
		}
	}
}

// autoResolve resolves an incident that heard nothing for the policy's
// AutoResolveAfter. Its firing alerts are marked resolved too (their source
// is presumed never to send a resolve), so the alert's next firing reopens
// the incident or opens a new one.
func (s *Sweeper) autoResolve(tx *gorm.DB, inc *store.Incident, now time.Time) (Change, error) {
	err := tx.Model(&store.IncidentAlert{}).Where("incident_id = ? AND status = ?", inc.ID, incidenthub.AlertFiring).
		Update("status", string(incidenthub.AlertResolved)).Error
	if err != nil {
		return Change{}, fmt.Errorf("resolve alerts of incident %d: %w", inc.ID, err)
	}
	reason := fmt.Sprintf("no event for %s (correlation.auto_resolve_after); %d firing alerts presumed resolved",
		s.Policy.AutoResolveAfter, inc.FiringCount)
	inc.Status = string(incidenthub.IncidentResolved)
	inc.ResolvedAt, inc.ResolvedBy = &now, AutoResolver
	inc.FiringCount, inc.PendingJoins = 0, 0
	notify := !inc.Flapping
	if inc.Flapping {
		inc.HeldBack++
	}
	if err := saveIncident(tx, inc, now); err != nil {
		return Change{}, err
	}
	act := Action{Actor: AutoResolver, Now: now}
	if err := store.AddTimeline(tx, act.entry(inc.ID, incidenthub.TimelineResolved, reason)); err != nil {
		return Change{}, err
	}
	ch := act.change(inc, Resolved, reason)
	ch.Notify = notify
	return ch, nil
}

// notifyJoins sends the "N more alerts joined" summary that the join
// throttle held back.
func (s *Sweeper) notifyJoins(tx *gorm.DB, inc *store.Incident, now time.Time) (Change, error) {
	n := inc.PendingJoins
	inc.PendingJoins, inc.JoinsNotifiedAt = 0, &now
	if err := saveIncident(tx, inc, now); err != nil {
		return Change{}, err
	}
	reason := fmt.Sprintf("%d more alerts joined", n)
	act := Action{Now: now}
	if err := store.AddTimeline(tx, act.entry(inc.ID, incidenthub.TimelineJoinsNotified, reason)); err != nil {
		return Change{}, err
	}
	ch := act.change(inc, Joined, reason)
	ch.Joined = n
	return ch, nil
}

// settle ends flapping once the incident has not flapped for FlapWindow;
// downstream hears the current state once, in place of the held-back ones.
func (s *Sweeper) settle(tx *gorm.DB, inc *store.Incident, now time.Time) (Change, error) {
	held := inc.HeldBack
	inc.Flapping, inc.HeldBack = false, 0
	inc.FlapTimes.V = []time.Time{}
	if err := saveIncident(tx, inc, now); err != nil {
		return Change{}, err
	}
	reason := fmt.Sprintf("no flap for %s; %d held-back notifications replaced by the current state (%s)", s.Policy.FlapWindow, held, inc.Status)
	act := Action{Now: now}
	if err := store.AddTimeline(tx, act.entry(inc.ID, incidenthub.TimelineSettled, reason)); err != nil {
		return Change{}, err
	}
	return act.change(inc, Settled, reason), nil
}

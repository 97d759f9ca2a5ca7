package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub/internal/audit"
)

type metrics struct {
	spikes *prometheus.CounterVec
}

// newMetrics registers the registry's collector (collector.go): the
// per-entry gauges and auth-failure counts read from the database at
// scrape time, and the spike counter.
func newMetrics(reg prometheus.Registerer, r *Registry) metrics {
	m := metrics{
		spikes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "incidenthub_inbound_auth_failure_spikes_total",
			Help: "Auth-failure spikes (registry.auth_failure_spike failures within 5m) raised, by source.",
		}, []string{"source"}),
	}
	if reg != nil {
		reg.MustRegister(&collector{r: r, spikes: m.spikes}) // it reports spikes too
	}
	return m
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Run runs the scheduler until ctx is done: every interval it rotates the
// entries whose rotation is due, ends finished overlaps, verifies entries
// due for verification (the metrics are read at scrape time: collector.go).
// Replicas may all run it: each due rotation happens once (row lock and
// re-check).
func (r *Registry) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	defer func() {
		// Auth failures still gathered in memory (authfail.go), before the
		// store closes.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		r.flushAuthFailures(fctx)
	}()
	for {
		if err := r.Tick(ctx); err != nil && ctx.Err() == nil {
			r.o.Log.Error("registry scheduler", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick is one scheduler pass.
func (r *Registry) Tick(ctx context.Context) error {
	now := r.now()
	var due []entryRow
	err := r.o.Store.DB.WithContext(ctx).Select("id", "direction", "name").
		Where("removed_at IS NULL AND ((next_rotation_at IS NOT NULL AND next_rotation_at <= ?) OR (previous_expires_at IS NOT NULL AND previous_expires_at <= ?))", now, now).
		Find(&due).Error
	if err != nil {
		return fmt.Errorf("find due rotations: %w", err)
	}
	var errs []error
	if err := r.heartbeat(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, d := range due {
		if err := r.scheduled(ctx, d.Direction, d.Name); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.ref(), err))
		}
	}
	if r.o.VerifyInterval > 0 {
		for _, s := range *r.specs.Load() {
			if s.Verifier == nil {
				continue
			}
			e, err := r.Get(ctx, s.Direction, s.Name)
			if err != nil || (e.LastVerifiedAt != nil && now.Sub(*e.LastVerifiedAt) < r.o.VerifyInterval && e.LastVerifyError == "") {
				continue
			}
			if _, _, err := r.Verify(ctx, audit.ActorScheduler, s.Direction, s.Name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d scheduled registry actions failed, first: %w", len(errs), errs[0])
	}
	return nil
}

// scheduled rotates one due entry and/or ends its finished overlap, after
// re-checking under the row lock (another replica may have done it).
func (r *Registry) scheduled(ctx context.Context, direction, name string) error {
	var (
		secret string
		saved  entryRow
		action string
	)
	err := r.o.Store.Tx(ctx, func(tx *gorm.DB) error {
		row, err := find(tx, direction, name, true)
		if err != nil {
			return err
		}
		now := r.now()
		before := row.meta()
		if row.PreviousExpiresAt != nil && !now.Before(*row.PreviousExpiresAt) {
			row.SecretPrevious, row.PreviousExpiresAt, row.UpdatedAt = nil, nil, now
			if err := tx.Save(row).Error; err != nil {
				return err
			}
			if err := r.audit(tx, audit.ActorScheduler, "registry.revoke", row, before, row.meta(), "overlap ended: previous secret revoked"); err != nil {
				return err
			}
			before = row.meta()
		}
		if row.NextRotationAt != nil && !now.Before(*row.NextRotationAt) {
			ov := seconds(row.RotationOverlapSeconds)
			s, err := r.rotateRow(row, ov, "")
			if err != nil {
				return err
			}
			row.SecretRevealedVersion = row.SecretVersion - 1 // nobody has seen it: reveal once
			row.UpdatedAt = now
			if err := tx.Save(row).Error; err != nil {
				return err
			}
			if err := r.audit(tx, audit.ActorScheduler, "registry.rotate", row, before, row.meta(), "scheduled ("+row.RotationSchedule+"), overlap "+ov.String()); err != nil {
				return err
			}
			secret, action = s, "registry.rotate"
		}
		saved = *row
		return nil
	})
	if err != nil {
		return err
	}
	r.invalidate()
	if secret != "" && r.o.Notify != nil {
		e := r.view(ctx, &saved)
		r.o.Notify(ctx, Notice{Entry: e, Action: action, Actor: audit.ActorScheduler, Instructions: fmt.Sprintf(
			"The secret of %s %q was rotated on schedule. An admin retrieves it once with `incidenthub registry reveal %[2]s` or POST /api/v1/registry/%[2]s/reveal; update the sender before %[3]s.",
			e.Direction, e.Name, validUntil(e))})
	}
	return nil
}

package registry

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub/internal/audit"
)

type metrics struct {
	authFailures *prometheus.CounterVec
	spikes       *prometheus.CounterVec
	overdue      *prometheus.GaugeVec
	secretAge    *prometheus.GaugeVec
	stale        *prometheus.GaugeVec
	failing      *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) metrics {
	labels := []string{"direction", "name"}
	m := metrics{
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "incidenthub_inbound_auth_failures_total",
			Help: "Inbound requests that failed authentication, by source.",
		}, []string{"source"}),
		spikes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "incidenthub_inbound_auth_failure_spikes_total",
			Help: "Auth-failure spikes (registry.auth_failure_spike failures within 5m) raised, by source.",
		}, []string{"source"}),
		overdue: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "incidenthub_registry_rotation_overdue",
			Help: "1 when the entry's secret rotation is overdue or its secret is older than the policy maximum.",
		}, labels),
		secretAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "incidenthub_registry_secret_age_seconds",
			Help: "Age of the entry's current secret.",
		}, labels),
		stale: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "incidenthub_registry_stale",
			Help: "1 when the entry has been silent longer than its expected interval.",
		}, labels),
		failing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "incidenthub_registry_failing",
			Help: "1 when the entry's last verification or delivery failed, or it had recent auth failures.",
		}, labels),
	}
	if reg != nil {
		reg.MustRegister(m.authFailures, m.spikes, m.overdue, m.secretAge, m.stale, m.failing)
	}
	return m
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// refreshMetrics sets the per-entry gauges from entries.
func (r *Registry) refreshMetrics(entries []Entry) {
	for _, g := range []*prometheus.GaugeVec{r.m.overdue, r.m.secretAge, r.m.stale, r.m.failing} {
		g.Reset()
	}
	for _, e := range entries {
		r.m.overdue.WithLabelValues(e.Direction, e.Name).Set(b2f(e.Flags.RotationOverdue))
		r.m.stale.WithLabelValues(e.Direction, e.Name).Set(b2f(e.Flags.Stale))
		r.m.failing.WithLabelValues(e.Direction, e.Name).Set(b2f(e.Flags.Failing))
		if e.Secret.Present {
			r.m.secretAge.WithLabelValues(e.Direction, e.Name).Set(e.Secret.AgeDays * 86400)
		}
	}
}

// AuthFailed records that a request to inbound source failed
// authentication from ip. When the source's failures within
// AuthFailureWindow reach the spike threshold, it logs a warning and
// writes an inbound.auth_failure_spike audit record, once per window.
// source must be a configured source (to bound the metric's labels).
func (r *Registry) AuthFailed(ctx context.Context, source, ip string) {
	r.m.authFailures.WithLabelValues(source).Inc()
	now := r.now()
	r.failMu.Lock()
	f, ok := r.failures[source]
	if !ok {
		f = &failureStat{}
		r.failures[source] = f
	}
	f.count++
	f.lastAt = now
	if i := indexOf(f.ips, ip); i >= 0 {
		f.ips = append(f.ips[:i], f.ips[i+1:]...)
	}
	f.ips = append([]string{ip}, f.ips...)
	if len(f.ips) > maxIPs {
		f.ips = f.ips[:maxIPs]
	}
	if now.Sub(f.windowStart) > AuthFailureWindow {
		f.windowStart, f.windowCount, f.raised = now, 0, false
	}
	f.windowCount++
	spike := r.o.AuthFailureSpike > 0 && f.windowCount >= r.o.AuthFailureSpike && !f.raised
	if spike {
		f.raised = true
	}
	count, ips := f.windowCount, strings.Join(f.ips, ", ")
	r.failMu.Unlock()
	if !spike {
		return
	}
	r.m.spikes.WithLabelValues(source).Inc()
	detail := fmt.Sprintf("%d authentication failures within %s; last addresses: %s (someone probing, or a sender with an old secret)", count, AuthFailureWindow, ips)
	r.o.Log.Warn("inbound auth failure spike", "source", source, "failures", count, "last_ips", ips)
	err := audit.Record(r.o.Store.DB.WithContext(ctx), audit.Entry{At: now, Actor: audit.ActorSystem,
		Action: "inbound.auth_failure_spike", EntityType: "registry", Entity: Inbound + "/" + source, Detail: detail})
	if err != nil {
		r.o.Log.Error("audit auth failure spike", "source", source, "err", err)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// Run runs the scheduler until ctx is done: every interval it rotates the
// entries whose rotation is due, ends finished overlaps, verifies entries
// due for verification and refreshes the metrics. Replicas may all run it:
// each due rotation happens once (row lock and re-check).
func (r *Registry) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
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
	entries, err := r.List(ctx, ListFilter{})
	if err != nil {
		errs = append(errs, err)
	} else {
		r.refreshMetrics(entries)
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

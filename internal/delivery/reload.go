package delivery

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	"golang.org/x/time/rate"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/store"
)

// Targets change on a config reload (Reload). The rules for deliveries
// already under way:
//
//   - An attempt already sending finishes with the settings it started
//     with, and its outcome is recorded as usual.
//   - A changed target (any of its settings, its outbound mapping file, or
//     the delivery section's ssrf_allowlist and public_url) gets a new
//     connector, a closed circuit breaker and a full rate-limit bucket. Its
//     pending and retrying deliveries keep their place, attempt count and
//     retry window, and their next attempt is sent with the new settings.
//   - A removed target's pending and retrying deliveries become dead, with
//     the error "target removed by reload"; nothing is dropped silently.
//     One whose attempt was in flight keeps that attempt's outcome, and
//     becomes dead instead of retrying. Its queued syncs end without
//     sending. Added back by a later reload, the target's dead deliveries
//     can be retried (POST /api/v1/deliveries/{id}/retry, or
//     POST /api/v1/targets/{target}/deliveries/retry for all of them).
//   - An unchanged target keeps its connector, breaker and rate limiter.
//
// Each replica applies its own reload: reload every replica.

// RemovedByReload is the error a removed target's open deliveries are
// left with.
const RemovedByReload = "target removed by reload"

// TargetChanges is what a reload changed, by target name.
type TargetChanges struct {
	Added, Changed, Removed []string
	// Abandoned counts the removed targets' deliveries marked dead.
	Abandoned int64
}

// Empty reports whether nothing changed.
func (c TargetChanges) Empty() bool {
	return len(c.Added) == 0 && len(c.Changed) == 0 && len(c.Removed) == 0
}

// target returns the configured target name.
func (e *Engine) target(name string) (*target, bool) {
	t, ok := (*e.targets.Load())[name]
	return t, ok
}

// buildTargets builds cfg's targets, reusing prev's target (connector,
// breaker, limiter) for each whose settings did not change.
func (e *Engine) buildTargets(cfg *config.Config, prev map[string]*target) (map[string]*target, error) {
	out := make(map[string]*target, len(cfg.Targets))
	for i := range cfg.Targets {
		tc := cfg.Targets[i]
		if old, ok := prev[tc.Name]; ok && sameTarget(&old.cfg, &tc) && sameDelivery(old.delivery, cfg.Delivery) {
			out[tc.Name] = old
			continue
		}
		conn, err := connectors.Build(&tc, cfg.Delivery, HTTPClient(&tc, cfg.Delivery))
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", tc.Name, err)
		}
		if su, ok := conn.(secretUser); ok && e.secrets != nil {
			name, secrets := tc.Name, e.secrets
			su.SetSecretSource(func(ctx context.Context) ([]string, bool, error) { return secrets(ctx, name) })
		}
		if lu, ok := conn.(logUser); ok {
			lu.SetLogger(e.log.With("target", tc.Name))
		}
		t := &target{cfg: tc, delivery: cfg.Delivery, conn: conn, redact: tc.Redactor(), breaker: &breaker{threshold: tc.CircuitBreaker.Failures,
			probe: tc.CircuitBreaker.ProbeInterval.Std(), disableAfter: tc.CircuitBreaker.DisableAfter.Std()}}
		if tc.RateLimit.PerSecond > 0 {
			t.limiter = rate.NewLimiter(rate.Limit(tc.RateLimit.PerSecond), tc.RateLimit.Burst)
		}
		out[tc.Name] = t
	}
	return out, nil
}

// sameTarget reports whether two loads of a target have the same settings.
// The outbound mapping is compared by file and content.
func sameTarget(a, b *config.Target) bool {
	ac, bc := *a, *b
	ac.Outbound, bc.Outbound = nil, nil
	if !reflect.DeepEqual(ac, bc) {
		return false
	}
	if (a.Outbound == nil) != (b.Outbound == nil) {
		return false
	}
	return a.Outbound == nil || (a.Outbound.File == b.Outbound.File && a.Outbound.Digest == b.Outbound.Digest)
}

// sameDelivery compares the delivery settings connectors are built with.
func sameDelivery(a, b config.Delivery) bool {
	return slices.Equal(a.SSRFAllowlist, b.SSRFAllowlist) && a.PublicURL == b.PublicURL
}

// Reload replaces the targets with cfg's (the rules above). On an error
// (a connector that cannot be built) nothing changes. Reloads must not run
// concurrently with each other (the config reloader serialises them).
func (e *Engine) Reload(ctx context.Context, cfg *config.Config) (TargetChanges, error) {
	prev := *e.targets.Load()
	next, err := e.buildTargets(cfg, prev)
	if err != nil {
		return TargetChanges{}, err
	}
	var ch TargetChanges
	for name, t := range next {
		switch old, ok := prev[name]; {
		case !ok:
			ch.Added = append(ch.Added, name)
			e.m.init(name)
			e.disabled.WithLabelValues(name).Set(0)
		case old != t:
			ch.Changed = append(ch.Changed, name)
			e.disabled.DeleteLabelValues(name)
		}
	}
	for name := range prev {
		if _, ok := next[name]; !ok {
			ch.Removed = append(ch.Removed, name)
			e.disabled.DeleteLabelValues(name)
		}
	}
	slices.Sort(ch.Added)
	slices.Sort(ch.Changed)
	slices.Sort(ch.Removed)
	e.targets.Store(&next)
	// Their new breakers are closed: what every replica reports
	// (target_circuits) says so now, not at their next send.
	for _, name := range slices.Concat(ch.Added, ch.Changed) {
		e.reportCircuit(ctx, next[name], "")
	}
	db := e.store.DB.WithContext(context.WithoutCancel(ctx))
	for _, name := range ch.Removed {
		n, err := e.abandon(db, name, 0)
		if err != nil {
			// The target's queued syncs mark them when they run.
			e.log.Error("mark deliveries of a removed target dead", "target", name, "err", err)
			continue
		}
		ch.Abandoned += n
	}
	return ch, nil
}

// abandon marks the open (pending, retrying) deliveries of target name —
// of one incident when incidentID is not 0 — dead: the target was removed
// by a reload.
func (e *Engine) abandon(db *gorm.DB, name string, incidentID int64) (int64, error) {
	now := e.now()
	q := db.Model(&store.Delivery{}).Where("target = ? AND status IN ?", name,
		[]string{incidenthub.DeliveryPending, incidenthub.DeliveryRetrying})
	if incidentID != 0 {
		q = q.Where("incident_id = ?", incidentID)
	}
	res := q.Updates(map[string]any{"status": incidenthub.DeliveryDead, "last_error": RemovedByReload,
		"next_attempt_at": nil, "updated_at": now})
	if res.Error != nil {
		return 0, res.Error
	}
	if res.RowsAffected > 0 {
		e.log.Info("deliveries to a target removed by reload marked dead", "target", name,
			"incident_id", incidentID, "deliveries", res.RowsAffected)
	}
	// Status changes it had still to hear never become deliveries: left,
	// they would count in its queue depth (and the "deliveries late"
	// alert) until the incident is deleted. A target added back hears the
	// incident's state with its next change.
	tq := db.Where("target = ?", name)
	if incidentID != 0 {
		tq = tq.Where("incident_id = ?", incidentID)
	}
	if err := tq.Delete(&store.DeliveryTransition{}).Error; err != nil {
		return res.RowsAffected, fmt.Errorf("drop status changes queued for %s: %w", name, err)
	}
	return res.RowsAffected, nil
}

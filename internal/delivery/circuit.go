package delivery

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/incidenthub/incidenthub/internal/store"
)

// engineMetrics are the delivery counters beside attempts and disabled
// (engine.go): notifications by final outcome and rate-limit waits.
type engineMetrics struct {
	notifications *prometheus.CounterVec
	rateWaits     *prometheus.CounterVec
}

func newEngineMetrics(reg prometheus.Registerer) engineMetrics {
	m := engineMetrics{
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "incidenthub_notifications_total",
			Help: "Deliveries (notifications) that reached a final outcome, by target and outcome (delivered, dead).",
		}, []string{"target", "outcome"}),
		rateWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "incidenthub_delivery_rate_limit_waits_total",
			Help: "Sends that had to wait for the target's rate limit, by target.",
		}, []string{"target"}),
	}
	if reg != nil {
		reg.MustRegister(m.notifications, m.rateWaits)
	}
	return m
}

// init reports 0 for target's counters from the start.
func (m engineMetrics) init(target string) {
	m.notifications.WithLabelValues(target, "delivered")
	m.notifications.WithLabelValues(target, "dead")
	m.rateWaits.WithLabelValues(target)
}

// reportCircuit records t's breaker state in target_circuits when it
// differs from what this process last recorded (and once after start), so
// that every replica reports the same state: a write per state change,
// none per successful send. A failed write is logged and tried again on
// the next outcome.
func (e *Engine) reportCircuit(ctx context.Context, t *target, lastError string) {
	state := t.breaker.state()
	if p := t.reported.Load(); p != nil && *p == state {
		return
	}
	if state == store.CircuitClosed {
		lastError = ""
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := e.store.SetCircuit(ctx, store.TargetCircuit{Target: t.cfg.Name, State: state, ChangedAt: e.now(), LastError: lastError})
	if err != nil {
		e.log.Warn("record circuit state", "target", t.cfg.Name, "state", state, "err", err)
		return
	}
	t.reported.Store(&state)
}

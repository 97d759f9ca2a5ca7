package registry

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// collectTimeout bounds the database reads of one scrape.
const collectTimeout = 5 * time.Second

var (
	entryLabels  = []string{"direction", "name"}
	descOverdue  = prometheus.NewDesc("incidenthub_registry_rotation_overdue", "1 when the entry's secret rotation is overdue or its secret is older than the policy maximum.", entryLabels, nil)
	descAge      = prometheus.NewDesc("incidenthub_registry_secret_age_seconds", "Age of the entry's current secret.", entryLabels, nil)
	descStale    = prometheus.NewDesc("incidenthub_registry_stale", "1 when the entry has been silent longer than its expected interval.", entryLabels, nil)
	descFailing  = prometheus.NewDesc("incidenthub_registry_failing", "1 when the entry's last verification or delivery failed, it had recent auth failures, or its stored secret does not decrypt with this hub's keys.", entryLabels, nil)
	descUnverif  = prometheus.NewDesc("incidenthub_registry_unverified", "1 when the entry has a credential check (verify) and has not passed one: never verified, or the last check failed.", entryLabels, nil)
	descAuthFail = prometheus.NewDesc("incidenthub_inbound_auth_failures_total", "Inbound requests that failed authentication, by source, over every replica.", []string{"source"}, nil)
)

// collector reports the registry's flags and auth-failure counts from the
// database at scrape time: current (no scheduler tick behind) and the
// same on every replica.
type collector struct {
	r      *Registry
	spikes *prometheus.CounterVec // reported after this replica's failures are written
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	c.spikes.Describe(ch)
	for _, d := range []*prometheus.Desc{descOverdue, descAge, descStale, descFailing, descUnverif, descAuthFail} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), collectTimeout)
	defer cancel()
	r := c.r
	// This replica's unwritten failures first (they may raise a spike).
	r.flushAuthFailures(ctx)
	c.spikes.Collect(ch)
	entries, err := r.List(ctx, ListFilter{})
	if err != nil {
		r.o.Log.Warn("metrics: list registry entries", "err", err)
	}
	for _, e := range entries {
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, e.Direction, e.Name)
		}
		gauge(descOverdue, b2f(e.Flags.RotationOverdue))
		gauge(descStale, b2f(e.Flags.Stale))
		gauge(descFailing, b2f(e.Flags.Failing))
		if e.Secret.Present {
			gauge(descAge, e.Secret.AgeDays*86400)
		}
		if s, ok := r.spec(key{e.Direction, e.Name}); ok && s.Verifier != nil {
			gauge(descUnverif, b2f(e.LastVerifiedAt == nil || e.LastVerifyError != ""))
		}
	}
	counts, err := r.authFailureCounts(ctx)
	if err != nil {
		r.o.Log.Warn("metrics: read auth failures", "err", err)
	}
	for source, n := range counts {
		ch <- prometheus.MustNewConstMetric(descAuthFail, prometheus.CounterValue, float64(n), source)
	}
}

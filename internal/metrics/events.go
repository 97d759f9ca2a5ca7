package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/incidenthub/incidenthub/internal/store"
)

// Events counts this process's event outcomes by source: processed,
// unmapped and failed (given up after the processor's last attempt), and
// observes each event's latency from receipt to the end of its
// processing. (incidenthub_events_received_total is counted by the HTTP
// layer, where events are stored.)
type Events struct {
	processed *prometheus.CounterVec
	unmapped  *prometheus.CounterVec
	failed    *prometheus.CounterVec
	latency   *prometheus.HistogramVec
}

// NewEvents registers the event metrics with reg.
func NewEvents(reg prometheus.Registerer) *Events {
	e := &Events{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "incidenthub_events_processed_total",
			Help: "Events normalized and correlated by this process, by source.",
		}, []string{"source"}),
		unmapped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "incidenthub_events_unmapped_total",
			Help: "Events kept as unmapped (the payload parsed but did not map) by this process, by source.",
		}, []string{"source"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "incidenthub_events_failed_total",
			Help: "Events this process gave up processing (status failed after the last attempt), by source.",
		}, []string{"source"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "incidenthub_event_processing_latency_seconds",
			Help:    "Time from an event's receipt to the end of its processing (queueing included), by source.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 16), // 5ms … ~164s
		}, []string{"source"}),
	}
	reg.MustRegister(e.processed, e.unmapped, e.failed, e.latency)
	return e
}

// Init reports 0 for each source's counters, so that a rate is defined
// from the first event and a dashboard shows 0 rather than no data.
func (e *Events) Init(sources ...string) {
	for _, s := range sources {
		e.processed.WithLabelValues(s)
		e.unmapped.WithLabelValues(s)
		e.failed.WithLabelValues(s)
	}
}

// Observe counts one event that reached status (store.EventProcessed,
// EventUnmapped or EventFailed) sinceReceived after it was received.
func (e *Events) Observe(source, status string, sinceReceived time.Duration) {
	switch status {
	case store.EventProcessed:
		e.processed.WithLabelValues(source).Inc()
	case store.EventUnmapped:
		e.unmapped.WithLabelValues(source).Inc()
	case store.EventFailed:
		e.failed.WithLabelValues(source).Inc()
	default:
		return
	}
	e.latency.WithLabelValues(source).Observe(max(sinceReceived, 0).Seconds())
}

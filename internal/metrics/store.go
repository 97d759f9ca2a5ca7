// Package metrics holds the hub's Prometheus metrics that are not owned by
// one component: the gauges read from the database at scrape time (so
// every replica reports the same backlog, open incidents, delivery queue
// and circuit states), the event counters, config reload status and build
// information.
package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
)

// DefaultCacheTTL is how long one scrape's database reads serve the next
// scrapes: several Prometheus servers (or a reload of a dashboard) cost
// one set of queries.
const DefaultCacheTTL = 2 * time.Second

// queryTimeout bounds the database reads of one scrape.
const queryTimeout = 5 * time.Second

// Severities are reported even when no incident has them, so that a
// dashboard shows 0, not "no data".
var severities = []string{string(incidenthub.SeverityCritical), string(incidenthub.SeverityHigh),
	string(incidenthub.SeverityWarning), string(incidenthub.SeverityInfo)}

var (
	descStoreUp = prometheus.NewDesc("incidenthub_store_up",
		"1 when the database answered this scrape's queries, 0 when it did not (the other database-backed metrics are then missing).", nil, nil)
	descPending = prometheus.NewDesc("incidenthub_events_pending",
		"Stored events not processed yet (including those waiting to retry), over every replica.", nil, nil)
	descPendingAge = prometheus.NewDesc("incidenthub_events_oldest_pending_age_seconds",
		"Age of the oldest pending event (0 when none is pending).", nil, nil)
	descOpen = prometheus.NewDesc("incidenthub_incidents_open",
		"Incidents in status open, by severity.", []string{"severity"}, nil)
	descAcked = prometheus.NewDesc("incidenthub_incidents_acknowledged",
		"Incidents in status acknowledged (not resolved), by severity.", []string{"severity"}, nil)
	descQueue = prometheus.NewDesc("incidenthub_delivery_queue_depth",
		"Changes waiting to be delivered to a target: deliveries pending or retrying, plus status changes not yet turned into a delivery.", []string{"target"}, nil)
	descQueueAge = prometheus.NewDesc("incidenthub_delivery_oldest_pending_age_seconds",
		"Age of the oldest change waiting to be delivered to a target (0 when none waits).", []string{"target"}, nil)
	descDead = prometheus.NewDesc("incidenthub_deliveries_dead",
		"Deliveries that gave up (dead letter) and were not retried, by target.", []string{"target"}, nil)
	descCircuit = prometheus.NewDesc("incidenthub_delivery_circuit_state",
		"The target's circuit breaker as last changed on any replica: 0 closed, 1 open (probing), 2 disabled.", []string{"target"}, nil)
)

// circuitValue maps a breaker state to incidenthub_delivery_circuit_state.
var circuitValue = map[string]float64{store.CircuitClosed: 0, store.CircuitOpen: 1, store.CircuitDisabled: 2}

// Store reports the database-backed gauges. Targets, when set, lists the
// configured targets, each reported even when it has nothing queued.
type Store struct {
	Store   *store.Store
	Targets func() []string
	Log     *slog.Logger
	TTL     time.Duration // default DefaultCacheTTL; negative: no cache
	Now     func() time.Time

	mu     sync.Mutex
	at     time.Time
	cached []prometheus.Metric
}

var _ prometheus.Collector = (*Store)(nil)

// Describe implements prometheus.Collector.
func (s *Store) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStoreUp, descPending, descPendingAge, descOpen, descAcked, descQueue, descQueueAge, descDead, descCircuit} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *Store) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock() // one scrape queries at a time; the others wait and share it
	defer s.mu.Unlock()
	ttl := s.TTL
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	if s.cached == nil || time.Since(s.at) >= ttl {
		ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
		ms, err := s.read(ctx)
		cancel()
		if err != nil {
			if s.Log != nil {
				s.Log.Warn("metrics: database-backed metrics unavailable", "err", err)
			}
			ms = []prometheus.Metric{prometheus.MustNewConstMetric(descStoreUp, prometheus.GaugeValue, 0)}
		}
		s.cached, s.at = ms, time.Now()
	}
	for _, m := range s.cached {
		ch <- m
	}
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func age(now, t time.Time) float64 { return max(now.Sub(t).Seconds(), 0) }

// read runs the scrape's queries.
func (s *Store) read(ctx context.Context) ([]prometheus.Metric, error) {
	db := s.Store.DB.WithContext(ctx)
	now := s.now()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
		return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	out := []prometheus.Metric{gauge(descStoreUp, 1)}

	// The event backlog.
	var pending int64
	if err := db.Model(&store.Event{}).Where("status = ?", store.EventPending).Count(&pending).Error; err != nil {
		return nil, err
	}
	oldest := 0.0
	if pending > 0 {
		var evs []store.Event
		if err := db.Select("id", "received_at").Where("status = ?", store.EventPending).Order("id").Limit(1).Find(&evs).Error; err != nil {
			return nil, err
		}
		if len(evs) > 0 {
			oldest = age(now, evs[0].ReceivedAt)
		}
	}
	out = append(out, gauge(descPending, float64(pending)), gauge(descPendingAge, oldest))

	// Unresolved incidents by severity.
	var incs []struct {
		Severity string
		Status   string
		N        int64
	}
	if err := db.Model(&store.Incident{}).Select("severity, status, COUNT(*) AS n").
		Where("status IN ?", []string{string(incidenthub.IncidentOpen), string(incidenthub.IncidentAcknowledged)}).
		Group("severity, status").Scan(&incs).Error; err != nil {
		return nil, err
	}
	open, acked := map[string]float64{}, map[string]float64{}
	for _, sev := range severities {
		open[sev], acked[sev] = 0, 0
	}
	for _, r := range incs {
		if r.Status == string(incidenthub.IncidentOpen) {
			open[r.Severity] += float64(r.N)
		} else {
			acked[r.Severity] += float64(r.N)
		}
	}
	for sev, n := range open {
		out = append(out, gauge(descOpen, n, sev))
	}
	for sev, n := range acked {
		out = append(out, gauge(descAcked, n, sev))
	}

	// The delivery queue, per target.
	targets := map[string]bool{}
	if s.Targets != nil {
		for _, t := range s.Targets() {
			targets[t] = true
		}
	}
	var dels []struct {
		Target string
		Status string
		N      int64
	}
	if err := db.Model(&store.Delivery{}).Select("target, status, COUNT(*) AS n").
		Where("status IN ?", []string{incidenthub.DeliveryPending, incidenthub.DeliveryRetrying, incidenthub.DeliveryDead}).
		Group("target, status").Scan(&dels).Error; err != nil {
		return nil, err
	}
	var trans []struct {
		Target string
		N      int64
	}
	if err := db.Model(&store.DeliveryTransition{}).Select("target, COUNT(*) AS n").Group("target").Scan(&trans).Error; err != nil {
		return nil, err
	}
	queue, dead := map[string]int64{}, map[string]int64{}
	for _, r := range dels {
		targets[r.Target] = true
		if r.Status == incidenthub.DeliveryDead {
			dead[r.Target] += r.N
		} else {
			queue[r.Target] += r.N
		}
	}
	for _, r := range trans {
		targets[r.Target] = true
		queue[r.Target] += r.N
	}
	circuits, err := s.Store.Circuits(ctx)
	if err != nil {
		return nil, err
	}
	for t := range targets {
		oldest := 0.0
		if queue[t] > 0 {
			var first []time.Time
			var d []store.Delivery
			if err := db.Select("id", "created_at").Where("target = ? AND status IN ?", t,
				[]string{incidenthub.DeliveryPending, incidenthub.DeliveryRetrying}).Order("id").Limit(1).Find(&d).Error; err != nil {
				return nil, err
			}
			if len(d) > 0 {
				first = append(first, d[0].CreatedAt)
			}
			var tr []store.DeliveryTransition
			if err := db.Select("id", "created_at").Where("target = ?", t).Order("id").Limit(1).Find(&tr).Error; err != nil {
				return nil, err
			}
			if len(tr) > 0 {
				first = append(first, tr[0].CreatedAt)
			}
			for _, at := range first {
				oldest = max(oldest, age(now, at))
			}
		}
		state := 0.0
		if c, ok := circuits[t]; ok {
			state = circuitValue[c.State]
		}
		out = append(out, gauge(descQueue, float64(queue[t]), t), gauge(descQueueAge, oldest, t),
			gauge(descDead, float64(dead[t]), t), gauge(descCircuit, state, t))
	}
	return out, nil
}

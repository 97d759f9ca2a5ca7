package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/internal/stormtest"
)

// metricsConfig: the storm's sources, a webhook target that answers (rate
// limited), one that always fails and whose deliveries die quickly (its
// breaker never opens), one that always fails and whose breaker opens at
// the first failure, and a spike threshold of 2.
const metricsConfig = `database:
  %[1]s
ingest:
  workers: 4
  poll_interval: 50ms
registry:
  auth_failure_spike: 2
routing:
  default: [hook, dead, down]
targets:
  - name: hook
    type: webhook
    url: %[2]s/ok
    allow_private_network: true
    rate_limit: {per_second: 4, burst: 1}
    update_interval: 0s
  - name: dead
    type: webhook
    url: %[2]s/fail
    allow_private_network: true
    retry: {schedule: [50ms], max_age: 300ms, jitter: 0}
    circuit_breaker: {failures: 1000}
    update_interval: 0s
  - name: down
    type: webhook
    url: %[2]s/fail
    allow_private_network: true
    circuit_breaker: {failures: 1, probe_interval: 1m}
%[3]s`

// stormIncident is one correlation key of the metrics storm.
type stormIncident struct {
	source, service, severity string
	payloads, alerts          int // payloads, each with alerts member alerts
}

var metricsStorm = []stormIncident{
	{"gen", "pay", "critical", 3, 4}, {"gen", "auth", "critical", 2, 5}, {"gen", "search", "high", 2, 3},
	{"gen", "mail", "warning", 2, 2}, {"gen", "cdn", "warning", 2, 2}, {"gen", "docs", "info", 1, 3},
	{"am", "db", "critical", 4, 1},
}

// TestMetricsAfterStorm posts a small storm over HTTP to a running hub
// and checks /metrics: events received and processed by source, an
// unmapped one, the backlog drained to 0, open incidents by severity as
// the API lists them, notifications by target and outcome as the fake
// receiver saw them, the failing target's circuit open and its deliveries
// dead, auth failures and the registry's failing flag at once, reload
// status and build info. On PostgreSQL a second replica started afterwards
// reports the same database-backed values. The docs' rules and dashboard
// name only metrics found here (checkMonitoringDocs).
func TestMetricsAfterStorm(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		var okHits, failHits atomic.Int64
		fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/fail" {
				failHits.Add(1)
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			if b, _ := io.ReadAll(r.Body); !bytes.Contains(b, []byte(`"type":"registry.verify"`)) {
				okHits.Add(1) // a delivery, not the registry's check
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(fake.Close)
		db := fmt.Sprintf("path: %q", filepath.Join(t.TempDir(), "hub.db"))
		if dialect == store.Postgres {
			db = fmt.Sprintf("url: %q", storetest.PostgresURL(t))
		}
		yaml := fmt.Sprintf(metricsConfig, db, fake.URL, stormtest.Sources)
		started := time.Now()
		url := serveConfig(t, yaml)

		// Before anything arrives: every source and target reports 0.
		m := scrape(t, url)
		for _, src := range []string{"am", "graf", "gen"} {
			require.Equal(t, 0.0, m.value(t, "incidenthub_events_received_total", "source", src))
			require.Equal(t, 0.0, m.value(t, "incidenthub_events_failed_total", "source", src))
		}
		require.Equal(t, 0.0, m.value(t, "incidenthub_notifications_total", "target", "hook", "outcome", "dead"))
		require.Equal(t, 1.0, m.value(t, "incidenthub_config_last_reload_successful"))
		at := m.value(t, "incidenthub_config_last_reload_success_timestamp_seconds")
		require.InDelta(t, float64(started.Unix()), at, 60, "the start is the first successful load")
		require.Equal(t, 1.0, m.value(t, "incidenthub_store_up"))

		// Three refusals: counted, the source flagged failing at once
		// (not at the registry scheduler's next tick), one spike.
		for range 3 {
			code, _ := postHook(t, url, "graf", "wrong-token", []byte(`{"alerts":[]}`))
			require.Equal(t, http.StatusUnauthorized, code)
		}
		m = scrape(t, url)
		require.Equal(t, 3.0, m.value(t, "incidenthub_inbound_auth_failures_total", "source", "graf"))
		require.Equal(t, 1.0, m.value(t, "incidenthub_inbound_auth_failure_spikes_total", "source", "graf"))
		require.Equal(t, 1.0, m.value(t, "incidenthub_registry_failing", "direction", "inbound", "name", "graf"))
		require.Equal(t, 0.0, m.value(t, "incidenthub_registry_failing", "direction", "inbound", "name", "gen"))

		// The storm, concurrently, plus one payload that parses but does
		// not map.
		received := map[string]int{}
		var bodies []struct {
			source string
			body   []byte
		}
		for _, inc := range metricsStorm {
			for p := range inc.payloads {
				bodies = append(bodies, struct {
					source string
					body   []byte
				}{inc.source, stormPayload(inc, p)})
				received[inc.source]++
			}
		}
		var wg sync.WaitGroup
		for i := range bodies {
			wg.Go(func() {
				code, body := postHook(t, url, bodies[i].source, sourceToken, bodies[i].body)
				assert.Equal(t, http.StatusAccepted, code, "%s", body)
			})
		}
		wg.Wait()
		code, body := postHook(t, url, "gen", sourceToken, []byte(`{"alerts":[{"status":"firing","severity":"critical"}]}`))
		require.Equal(t, http.StatusAccepted, code, "%s", body)
		received["gen"]++

		// Drained: nothing pending, nothing queued for delivery.
		drained := func() bool {
			m = scrape(t, url)
			return m.value(t, "incidenthub_events_pending") == 0 &&
				m.value(t, "incidenthub_delivery_queue_depth", "target", "hook") == 0 &&
				m.value(t, "incidenthub_delivery_queue_depth", "target", "dead") == 0 &&
				m.value(t, "incidenthub_events_processed_total", "source", "gen")+m.value(t, "incidenthub_events_unmapped_total", "source", "gen") == float64(received["gen"]) &&
				m.value(t, "incidenthub_notifications_total", "target", "dead", "outcome", "dead") >= float64(len(metricsStorm)) &&
				m.value(t, "incidenthub_notifications_total", "target", "hook", "outcome", "delivered") == float64(okHits.Load())
		}
		for deadline := time.Now().Add(time.Minute); !drained(); time.Sleep(100 * time.Millisecond) {
			require.True(t, time.Now().Before(deadline), "backlog never drained: %s", drainState(m, okHits.Load()))
		}
		time.Sleep(2 * metricsCacheTTL) // the database-backed gauges' cache
		m = scrape(t, url)

		for src, n := range received {
			require.Equal(t, float64(n), m.value(t, "incidenthub_events_received_total", "source", src), src)
		}
		require.Equal(t, float64(received["gen"]-1), m.value(t, "incidenthub_events_processed_total", "source", "gen"))
		require.Equal(t, 1.0, m.value(t, "incidenthub_events_unmapped_total", "source", "gen"))
		require.Equal(t, float64(received["am"]), m.value(t, "incidenthub_events_processed_total", "source", "am"))
		require.Equal(t, 0.0, m.value(t, "incidenthub_events_failed_total", "source", "gen"))
		require.Equal(t, uint64(received["gen"]), m.histogram(t, "incidenthub_event_processing_latency_seconds", "source", "gen").GetSampleCount())
		require.Equal(t, 0.0, m.value(t, "incidenthub_events_pending"))
		require.Equal(t, 0.0, m.value(t, "incidenthub_events_oldest_pending_age_seconds"))

		// Open incidents by severity: as built, and as the API lists them.
		want := map[string]float64{"critical": 0, "high": 0, "warning": 0, "info": 0}
		for _, inc := range metricsStorm {
			want[inc.severity]++
		}
		incs, err := stormtest.Incidents(context.Background(), url, apiToken)
		require.NoError(t, err)
		api := map[string]float64{"critical": 0, "high": 0, "warning": 0, "info": 0}
		for _, inc := range incs {
			require.EqualValues(t, "open", inc.Status)
			api[string(inc.Severity)]++
		}
		require.Equal(t, want, api)
		for sev, n := range want {
			require.Equal(t, n, m.value(t, "incidenthub_incidents_open", "severity", sev), sev)
			require.Equal(t, 0.0, m.value(t, "incidenthub_incidents_acknowledged", "severity", sev), sev)
		}

		// Deliveries (no plain update is held back: update_interval 0):
		// every one to hook delivered, as the receiver saw; every one to
		// dead given up; down's breaker open, holding its deliveries; hook
		// had to wait for its rate limit.
		delivered := m.value(t, "incidenthub_notifications_total", "target", "hook", "outcome", "delivered")
		require.GreaterOrEqual(t, delivered, float64(len(metricsStorm)), "at least each incident's opening")
		require.Equal(t, float64(okHits.Load()), delivered)
		require.Equal(t, 0.0, m.value(t, "incidenthub_notifications_total", "target", "hook", "outcome", "dead"))
		dead := m.value(t, "incidenthub_notifications_total", "target", "dead", "outcome", "dead")
		require.Equal(t, dead, m.value(t, "incidenthub_deliveries_dead", "target", "dead"))
		require.Equal(t, 0.0, m.value(t, "incidenthub_deliveries_dead", "target", "hook"))
		require.LessOrEqual(t, dead, float64(failHits.Load()))
		require.Equal(t, 0.0, m.value(t, "incidenthub_delivery_circuit_state", "target", "dead"), "closed: failures never reach 1000")
		require.Equal(t, 1.0, m.value(t, "incidenthub_delivery_circuit_state", "target", "down"), "open")
		require.Equal(t, 0.0, m.value(t, "incidenthub_delivery_circuit_state", "target", "hook"), "closed")
		require.Greater(t, m.value(t, "incidenthub_delivery_queue_depth", "target", "down"), 0.0, "held by the open breaker")
		require.Greater(t, m.value(t, "incidenthub_delivery_oldest_pending_age_seconds", "target", "down"), 0.0)
		for _, target := range []string{"hook", "dead"} { // an age only while something waits
			waiting := m.value(t, "incidenthub_delivery_queue_depth", "target", target) > 0
			require.Equal(t, waiting, m.value(t, "incidenthub_delivery_oldest_pending_age_seconds", "target", target) > 0, target)
		}
		require.GreaterOrEqual(t, m.value(t, "incidenthub_delivery_rate_limit_waits_total", "target", "hook"), 1.0)
		require.Equal(t, 0.0, m.value(t, "incidenthub_delivery_rate_limit_waits_total", "target", "dead"))

		// Build info.
		bi := m.family(t, "incidenthub_build_info").GetMetric()
		require.Len(t, bi, 1)
		require.Equal(t, 1.0, bi[0].GetGauge().GetValue())
		labels := map[string]string{}
		for _, l := range bi[0].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		require.Equal(t, runtime.Version(), labels["goversion"])
		require.NotEmpty(t, labels["version"])
		require.Contains(t, labels, "revision")

		checkMonitoringDocs(t, m)

		if dialect != store.Postgres {
			return
		}
		// A second replica, which saw none of it, reports the same
		// database-backed values.
		other := scrape(t, serveConfig(t, yaml))
		for _, q := range [][]string{
			{"incidenthub_inbound_auth_failures_total", "source", "graf"},
			{"incidenthub_registry_failing", "direction", "inbound", "name", "graf"},
			{"incidenthub_delivery_circuit_state", "target", "down"},
			{"incidenthub_deliveries_dead", "target", "dead"},
			{"incidenthub_incidents_open", "severity", "critical"},
			{"incidenthub_incidents_open", "severity", "warning"},
			{"incidenthub_events_pending"},
		} {
			require.Equal(t, m.value(t, q[0], q[1:]...), other.value(t, q[0], q[1:]...), "%v", q)
		}
		require.Equal(t, 0.0, other.value(t, "incidenthub_events_received_total", "source", "gen"), "counters are per process")
	})
}

// drainState describes what TestMetricsAfterStorm waits for.
func drainState(m families, okHits int64) string {
	var b strings.Builder
	for _, name := range []string{"incidenthub_events_pending", "incidenthub_delivery_queue_depth", "incidenthub_events_processed_total",
		"incidenthub_events_unmapped_total", "incidenthub_notifications_total"} {
		for _, s := range m[name].GetMetric() {
			fmt.Fprintf(&b, "%s%v=%v ", name, s.GetLabel(), s.GetGauge().GetValue()+s.GetCounter().GetValue())
		}
	}
	fmt.Fprintf(&b, "receiver saw %d", okHits)
	for name, f := range m {
		if strings.HasPrefix(name, "incidenthub_events") || strings.HasPrefix(name, "incidenthub_inc") {
			fmt.Fprintf(&b, "\n%s", f.String())
		}
	}
	return b.String()
}

// metricsCacheTTL is metrics.DefaultCacheTTL.
const metricsCacheTTL = 2 * time.Second

// stormPayload is payload p of inc: inc.alerts member alerts of its key,
// firing.
func stormPayload(inc stormIncident, p int) []byte {
	start := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)
	var alerts []map[string]any
	for a := range inc.alerts {
		fp := fmt.Sprintf("%s-%d-%d", inc.service, p, a)
		if inc.source == "gen" {
			alerts = append(alerts, map[string]any{"fingerprint": fp, "status": "firing", "service": inc.service,
				"alert_type": "HighErrorRate", "severity": inc.severity, "host": fp, "starts_at": start,
				"title": "High error rate on " + inc.service})
			continue
		}
		alerts = append(alerts, map[string]any{"status": "firing", "fingerprint": fp,
			"labels":      map[string]string{"alertname": "HighErrorRate", "service": inc.service, "severity": inc.severity, "instance": fp},
			"annotations": map[string]string{"summary": "High error rate on " + inc.service},
			"startsAt":    start, "endsAt": "0001-01-01T00:00:00Z"})
	}
	body := map[string]any{"alerts": alerts}
	if inc.source != "gen" {
		body["version"], body["status"] = "4", "firing"
	}
	b, _ := json.Marshal(body)
	return b
}

// postHook posts body to source; safe to call from any goroutine (a
// transport error is reported as code 0).
func postHook(t *testing.T, base, source, token string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/hooks/"+source, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// families is one scrape of /metrics.
type families map[string]*dto.MetricFamily

func scrape(t *testing.T, base string) families {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

func (f families) family(t *testing.T, name string) *dto.MetricFamily {
	t.Helper()
	fam, ok := f[name]
	require.True(t, ok, "metric %s not exposed", name)
	return fam
}

// find returns the series of name with exactly the labels given as pairs.
func (f families) find(t *testing.T, name string, labels ...string) *dto.Metric {
	t.Helper()
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range f.family(t, name).GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) == len(want) {
			match := true
			for k, v := range want {
				match = match && got[k] == v
			}
			if match {
				return m
			}
		}
	}
	require.Failf(t, "series not exposed", "%s%v", name, want)
	return nil
}

func (f families) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	m := f.find(t, name, labels...)
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	require.Failf(t, "not a counter or gauge", "%s", name)
	return 0
}

func (f families) histogram(t *testing.T, name string, labels ...string) *dto.Histogram {
	t.Helper()
	h := f.find(t, name, labels...).GetHistogram()
	require.NotNil(t, h, "%s is a histogram", name)
	return h
}

// exposed reports whether name (or, for a histogram's _bucket, _sum and
// _count series, its family) is in the scrape.
func (f families) exposed(name string) bool {
	if _, ok := f[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if fam, ok := f[base]; ok && (fam.GetType() == dto.MetricType_HISTOGRAM || fam.GetType() == dto.MetricType_SUMMARY) {
				return true
			}
		}
	}
	return false
}

// TestReloadMetrics: a rejected reload sets
// incidenthub_config_last_reload_successful to 0 and keeps the last
// success's timestamp; restoring the file (the running version again)
// sets it back to 1 with a newer timestamp.
func TestReloadMetrics(t *testing.T) {
	yaml := fmt.Sprintf("database:\n  path: %q\ningest: {poll_interval: 50ms}\n%s", filepath.Join(t.TempDir(), "hub.db"), stormtest.Sources)
	url, file := serveFile(t, yaml)
	m := scrape(t, url)
	require.Equal(t, 1.0, m.value(t, "incidenthub_config_last_reload_successful"))
	first := m.value(t, "incidenthub_config_last_reload_success_timestamp_seconds")

	require.NoError(t, os.WriteFile(file, []byte(yaml+"bogus: 1\n"), 0o600))
	require.Eventually(t, func() bool {
		m = scrape(t, url)
		return m.value(t, "incidenthub_config_last_reload_successful") == 0
	}, 20*time.Second, 50*time.Millisecond, "the rejected reload is reported")
	require.Equal(t, first, m.value(t, "incidenthub_config_last_reload_success_timestamp_seconds"), "still the last success")

	require.NoError(t, os.WriteFile(file, []byte(yaml), 0o600))
	require.Eventually(t, func() bool {
		m = scrape(t, url)
		return m.value(t, "incidenthub_config_last_reload_successful") == 1
	}, 20*time.Second, 50*time.Millisecond, "the good file loads again")
	require.Greater(t, m.value(t, "incidenthub_config_last_reload_success_timestamp_seconds"), first)
}

// serveFile is serveConfig returning the config file's path too.
func serveFile(t *testing.T, yaml string) (url, file string) {
	t.Helper()
	env := map[string]string{"INCIDENTHUB_SOURCE_TOKEN": sourceToken, app.EnvAPIToken: apiToken}
	getenv := func(k string) string { return env[k] }
	file = filepath.Join(t.TempDir(), "hub.yaml")
	require.NoError(t, os.WriteFile(file, []byte(yaml), 0o600))
	cfg, err := config.Load(file, getenv)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, cfg, getenv, slog.New(slog.DiscardHandler), ln, nil) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return "http://" + ln.Addr().String(), file
}

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
	"slices"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

const inhibitE2EConfig = `
database: %s
ingest: {poll_interval: 50ms}
api:
  tokens:
    - {name: oncall, token: op-token-7f3a, role: operator}
sources:
  - {name: mon, kind: generic, auth: {type: token, token: src-token-91bd}}
routing:
  rules_dir: rules
  default: [hook]
targets:
  - name: hook
    type: webhook
    url: %s
    secrets: [%s]
    allow_private_network: true
    retry: {schedule: [100ms], jitter: 0}
`

const inhibitE2ERules = `
inhibit_rules:
  - name: cluster-down
    source_match: ['alert_type="ClusterDown"']
    target_match: ['alert_type!="ClusterDown"']
    equal: [cluster]
`

// TestInhibitedStormEndToEnd runs the hub (app.Serve: store, processor,
// hold releaser, delivery) against a webhook receiver: while a cluster-down
// parent fires, 50 alerts of that cluster across five incidents notify
// nobody (another cluster's alert does); when the parent resolves, each
// child incident still firing notifies exactly once, the one whose alerts
// resolved meanwhile stays quiet, and one delivered before the parent fired
// hears of its muted resolve.
func TestInhibitedStormEndToEnd(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		inhibitedStorm(t, dialect, 1)
	})
}

// TestInhibitedStormTwoReplicas: the same with two hubs on one PostgreSQL,
// the payloads spread over both: each sees the other's parent, and each
// child incident is released and delivered once.
func TestInhibitedStormTwoReplicas(t *testing.T) {
	t.Parallel()
	inhibitedStorm(t, store.Postgres, 2)
}

func inhibitedStorm(t *testing.T, dialect string, replicas int) {
	swh, err := standardwebhooks.NewWebhook(hookSecret)
	require.NoError(t, err)
	var (
		mu   sync.Mutex
		seen []string // "type key" per delivery
	)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if err := swh.Verify(b, r.Header); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var ev struct {
			Type     string `json:"type"`
			Incident struct {
				CorrelationKey string `json:"correlation_key"`
			} `json:"incident"`
		}
		if json.Unmarshal(b, &ev) == nil && ev.Type != "registry.verify" {
			mu.Lock()
			seen = append(seen, ev.Type+" "+ev.Incident.CorrelationKey)
			mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)
	deliveries := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := slices.Clone(seen)
		slices.Sort(out)
		return out
	}

	dir := t.TempDir()
	db := fmt.Sprintf("{path: %q}", filepath.Join(dir, "hub.db"))
	if dialect == store.Postgres {
		db = fmt.Sprintf("{url: %q}", storetest.PostgresURL(t))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "rules"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules", "inhibit.yaml"), []byte(inhibitE2ERules), 0o644))
	file := filepath.Join(dir, "hub.yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(inhibitE2EConfig, db, receiver.URL, hookSecret)), 0o644))
	getenv := func(string) string { return "" }
	cfg, err := config.Load(file, getenv)
	require.NoError(t, err)
	var bases []string
	for range replicas {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() {
			served <- app.Serve(ctx, cfg, getenv, slog.New(slog.NewTextHandler(io.Discard, nil)), ln, nil)
		}()
		t.Cleanup(func() {
			cancel()
			require.NoError(t, <-served)
		})
		bases = append(bases, "http://"+ln.Addr().String())
	}
	base := bases[0]

	posted := 0
	post := func(id string, alerts ...map[string]any) {
		t.Helper()
		b, err := json.Marshal(map[string]any{"id": id, "alerts": alerts})
		require.NoError(t, err)
		posted++
		req, err := http.NewRequest(http.MethodPost, bases[posted%len(bases)]+"/hooks/mon", bytes.NewReader(b))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer src-token-91bd")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
	}
	alert := func(fp, status, service, alertType, cluster string) map[string]any {
		return map[string]any{"fingerprint": fp, "status": status, "severity": "critical", "service": service,
			"alert_type": alertType, "title": fp, "labels": map[string]string{"cluster": cluster}}
	}
	// processed waits until the hub has processed every event it accepted.
	processed := func(n int) {
		t.Helper()
		require.Eventually(t, func() bool {
			req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/events?status=processed&limit=200", nil)
			req.Header.Set("Authorization", "Bearer op-token-7f3a")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			var page struct {
				Events []json.RawMessage `json:"events"`
			}
			return json.NewDecoder(resp.Body).Decode(&page) == nil && len(page.Events) == n
		}, 30*time.Second, 50*time.Millisecond, "%d events processed", n)
	}

	// An alert of the cluster fires before the parent: it notifies.
	post("early", alert("early-pod", "firing", "early", "PodCrash", "eu-1"))
	require.Eventually(t, func() bool { return slices.Equal(deliveries(), []string{"incident.opened early/PodCrash"}) },
		30*time.Second, 50*time.Millisecond, "the early alert notifies")
	post("parent", alert("eu1-down", "firing", "k8s", "ClusterDown", "eu-1"))
	require.Eventually(t, func() bool {
		return slices.Equal(deliveries(), []string{"incident.opened early/PodCrash", "incident.opened k8s/ClusterDown"})
	}, 30*time.Second, 50*time.Millisecond, "the parent notifies")

	events := 2
	for b := range 5 {
		var children []map[string]any
		for i := range 10 {
			children = append(children, alert(fmt.Sprintf("pod-%d-%d", b, i), "firing", fmt.Sprintf("svc-%d", b), "PodCrash", "eu-1"))
		}
		post(fmt.Sprintf("children-%d", b), children...)
		events++
	}
	post("other-cluster", alert("us1-pod", "firing", "us-svc", "PodCrash", "us-1"))
	events++
	var resolved []map[string]any
	for i := range 10 {
		resolved = append(resolved, alert(fmt.Sprintf("pod-4-%d", i), "resolved", "svc-4", "PodCrash", "eu-1"))
	}
	post("svc-4-resolved", resolved...)
	events++
	// The early alert resolves while the parent fires: muted too.
	post("early-resolved", alert("early-pod", "resolved", "early", "PodCrash", "eu-1"))
	events++
	processed(events)
	require.EventuallyWithT(t, func(c *assert.CollectT) { assert.Len(c, deliveries(), 3) }, 30*time.Second, 50*time.Millisecond)
	time.Sleep(2500 * time.Millisecond) // past two releaser passes: nothing more may go out
	require.Equal(t, []string{"incident.opened early/PodCrash", "incident.opened k8s/ClusterDown", "incident.opened us-svc/PodCrash"}, deliveries(),
		"while the parent fires only it and the other cluster's alert notify")

	post("parent-resolved", alert("eu1-down", "resolved", "k8s", "ClusterDown", "eu-1"))
	want := []string{"incident.opened early/PodCrash", "incident.opened k8s/ClusterDown", "incident.opened svc-0/PodCrash", "incident.opened svc-1/PodCrash",
		"incident.opened svc-2/PodCrash", "incident.opened svc-3/PodCrash", "incident.opened us-svc/PodCrash", "incident.resolved early/PodCrash", "incident.resolved k8s/ClusterDown"}
	require.EventuallyWithT(t, func(c *assert.CollectT) { assert.Equal(c, want, deliveries()) }, 30*time.Second, 50*time.Millisecond,
		"each child incident still firing notifies once")
	time.Sleep(2500 * time.Millisecond)
	require.Equal(t, want, deliveries(), "exactly once; svc-4, resolved unseen, stays quiet")
}

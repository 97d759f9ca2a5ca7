package web_test

// Browser tests of the Events and Deliveries screens, on the harness of
// browser_test.go (newTab, signIn, waitFor, …), against a real hub
// (app.Serve) whose config the test rewrites, as an operator would.
//
//	go test ./web -run 'TestBrowser(Replay|Retry)' -v

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// opsConfig: one custom source (a check runner, mapped by a mapping file)
// and one webhook target, a local sink that fails until the test fixes it.
// The sink's retries give up after half a second, and one failure opens
// its circuit breaker.
const opsConfig = `
database: %s
ingest: {workers: 2, poll_interval: 50ms}
api:
  tokens:
    - {name: dashboard, token: "${VIEWER_TOKEN}", role: viewer}
    - {name: alice, token: "${OPERATOR_TOKEN}", role: operator}
mappings: [%q]
sources:
  - name: checks
    kind: checks
    auth: {type: token, token: "${SOURCE_TOKEN}"}
routing:
  default: [sink]
targets:
  - name: sink
    type: webhook
    url: %s/in
    secrets: ["${HOOK_SECRET}"]
    allow_private_network: true
    retry: {schedule: [100ms], max_age: 500ms, jitter: 0}
    circuit_breaker: {failures: 1, probe_interval: 300ms}
`

// checksMapping maps the check runner's results. Version 1 has a bug: it
// knows no CRIT state, so critical results do not map. Version 2 fixes it.
const checksMappingV1 = `
kind: checks
description: The check runner in ops/checks (one result per POST)
vars:
  check: {path: check.name, required: true}
  host: check.host
alert:
  alert_type: {expr: check}
  status:
    path: state
    enum: {OK: resolved, WARN: firing}
    error: unknown check state %q (want OK or WARN)
  severity: {path: state, enum: {OK: info, WARN: warning}, otherwise: warning}
  fingerprint: {expr: 'check + ":" + host'}
  service: {path: check.service, default: unknown}
  host: check.host
  title: {template: "{{ check }} failing on {{ host }}"}
dedup: {path: run_id}
`

var checksMappingV2 = strings.NewReplacer(
	"{OK: resolved, WARN: firing}", "{OK: resolved, WARN: firing, CRIT: firing}",
	"(want OK or WARN)", "(want OK, WARN or CRIT)",
	"{OK: info, WARN: warning}", "{OK: info, WARN: warning, CRIT: critical}",
).Replace(checksMappingV1)

// sink is a webhook receiver that answers status until told otherwise,
// and remembers the message ids it was sent.
type sink struct {
	*httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	ids    []string
}

func newSink(t *testing.T, status int) *sink {
	s := &sink{}
	s.status.Store(int32(status))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		s.ids = append(s.ids, r.Header.Get("Webhook-Id"))
		s.mu.Unlock()
		code := int(s.status.Load())
		if code >= 300 {
			http.Error(w, `{"error": "receiver restarting"}`, code)
			return
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(s.Close)
	return s
}

// count is how many requests carried the message id.
func (s *sink) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, got := range s.ids {
		if got == id {
			n++
		}
	}
	return n
}

type opsHub struct {
	*liveHub
	dir, file, db string
	sink          *sink
}

// writeConfig writes the config pointing at mapping (written beside it as
// name), which makes the running hub reload.
func (h *opsHub) writeConfig(t *testing.T, name, mapping string) {
	t.Helper()
	path := filepath.Join(h.dir, name)
	require.NoError(t, os.WriteFile(path, []byte(mapping), 0o600))
	yaml := fmt.Sprintf(opsConfig, h.db, path, h.sink.URL)
	tmp := h.file + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(yaml), 0o600))
	require.NoError(t, os.Rename(tmp, h.file)) // as editors do
}

// startOpsHub runs app.Serve with opsConfig and mapping version 1.
func startOpsHub(t *testing.T, dialect string, sinkStatus int) *opsHub {
	t.Helper()
	h := &opsHub{dir: t.TempDir(), sink: newSink(t, sinkStatus)}
	h.file = filepath.Join(h.dir, "hub.yaml")
	dbPath := filepath.Join(h.dir, "hub.db")
	h.db = fmt.Sprintf("{path: %q}", dbPath)
	opts := store.Options{Path: dbPath}
	if dialect == store.Postgres {
		u := storetest.PostgresURL(t)
		h.db, opts = fmt.Sprintf("{url: %q}", u), store.Options{URL: u}
	}
	h.writeConfig(t, "checks-v1.yaml", checksMappingV1)
	env := map[string]string{"VIEWER_TOKEN": bViewerToken, "OPERATOR_TOKEN": bOperatorToken, app.EnvAPIToken: bAdminToken,
		"SOURCE_TOKEN": bSourceToken, "HOOK_SECRET": bHookSecret}
	getenv := func(k string) string { return env[k] }
	cfg, err := config.Load(h.file, getenv)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	st := serveForBrowser(t, cfg, getenv, ln, opts)
	base := "http://" + ln.Addr().String()
	h.liveHub = &liveHub{URL: base, Store: st,
		Secrets: []string{bViewerToken, bOperatorToken, bAdminToken, bSourceToken, bHookSecret, bHookSecretRaw}}
	return h
}

// check posts one check runner result.
func (h *opsHub) check(t *testing.T, name, host, state, runID string) {
	t.Helper()
	h.hook(t, "checks", map[string]any{"check": map[string]string{"name": name, "host": host, "service": "postgres"},
		"state": state, "run_id": runID, "message": "93% used"})
}

// count asks the API how many events or deliveries a list query finds.
func (h *opsHub) count(t *testing.T, path string) int {
	t.Helper()
	var out map[string][]map[string]any
	h.api(t, path, &out)
	for _, list := range out {
		return len(list)
	}
	return 0
}

// acceptDialogs accepts every confirm() the page asks, as a person clicking
// OK, and returns the questions asked so far.
func (b *tab) acceptDialogs() func() []string {
	var mu sync.Mutex
	var asked []string
	dialogs := chromedp.Events(b.ctx, cdppage.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			mu.Lock()
			asked = append(asked, ev.Message)
			mu.Unlock()
			_, _ = chromedp.Call(b.ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), asked...)
	}
}

// buttons lists the text of every button in the page's main region.
func (b *tab) buttons() string {
	b.t.Helper()
	return strings.Join(eval[[]string](b, `[...document.querySelectorAll("main button")].map(b => b.innerText)`), " | ")
}

// TestBrowserReplayFixedMapping: critical results of a check runner do not
// map (its mapping knows no CRIT). The operator finds them under Events,
// reads why, fixes the mapping, and replays one event: without a reload
// the page shows it processed, its alert and its incident; then replays
// the rest of the source at once. A viewer sees the events but no Replay.
func TestBrowserReplayFixedMapping(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromiumPath(t)
	storetest.Each(t, func(t *testing.T, dialect string) {
		hub := startOpsHub(t, dialect, http.StatusNoContent)
		hub.check(t, "disk_usage", "db-1", "CRIT", "r-1")
		hub.check(t, "disk_usage", "db-2", "CRIT", "r-2")
		require.Eventually(t, func() bool { return hub.count(t, "/api/v1/events?status=unmapped") == 2 }, 20*time.Second, 50*time.Millisecond)

		// A viewer sees them, and no Replay anywhere.
		v := newTab(t, hub.URL, 1280, 800)
		v.open("/ui/events", "#token")
		v.signIn(bViewerToken)
		require.Equal(t, "/ui/events", v.location())
		require.Contains(t, v.text(".attention"), "checks: 2 unmapped events")
		require.NotContains(t, v.buttons(), "Replay")
		v.do(chromedp.Click(chromedp.CSS("tr.event-row a.event-link")), chromedp.WaitVisible(chromedp.ID("h-state")))
		require.Contains(t, v.text("#event-state"), "unmapped")
		require.NotContains(t, v.buttons(), "Replay")
		v.html()

		b := newTab(t, hub.URL, 1280, 800)
		asked := b.acceptDialogs()
		b.open("/ui/", "#token")
		b.signIn(bOperatorToken)
		b.do(chromedp.Click(chromedp.CSS(`nav.mainnav a[href="/ui/events"]`)), chromedp.WaitVisible(chromedp.CSS("table.events")))
		require.Contains(t, b.text(".attention"), "checks: 2 unmapped events")
		b.do(chromedp.Click(chromedp.CSS(`nav.tabs a[href="/ui/events?status=unmapped"]`)), chromedp.WaitVisible(chromedp.CSS("table.events")))
		require.Equal(t, "2", b.text(`[data-count="unmapped"]`))
		rows := eval[int](b, `document.querySelectorAll("tr.event-row").length`)
		require.Equal(t, 2, rows)
		require.Contains(t, b.text("tr.event-row"), `unknown check state "CRIT"`)
		b.html()

		// The oldest one (db-1): why it did not map, and what was sent.
		b.do(chromedp.Click(chromedp.CSS("tr.event-row:last-child a.event-link")), chromedp.WaitVisible(chromedp.ID("h-state")))
		id := strings.TrimPrefix(b.location(), "/ui/events/")
		require.Contains(t, b.text("#event-state"), "unmapped")
		require.Contains(t, b.text(".mapping-error"), `unknown check state "CRIT" (want OK or WARN)`)
		body := b.text("pre.payload")
		require.Contains(t, body, "{\n  \"check\": {\n    \"host\": \"db-1\",", "the body is shown indented")
		require.Contains(t, body, `"state": "CRIT"`)
		require.Contains(t, b.text("dl.headers"), "<redacted>", "the source token's header is redacted")
		require.Contains(t, b.text("#h-alerts"), "0")
		b.html()

		// The fix: the mapping learns CRIT; the hub reloads.
		var before configAnswer
		hub.api(t, "/api/v1/config", &before)
		hub.writeConfig(t, "checks-v2.yaml", checksMappingV2)
		require.Eventually(t, func() bool {
			var now configAnswer
			hub.api(t, "/api/v1/config", &now)
			return now.Config.Version != before.Config.Version && now.Config.LastReloadError == ""
		}, 20*time.Second, 100*time.Millisecond, "the hub never reloaded the fixed mapping")

		// Replay it; the page follows it to processed without a reload.
		b.do(chromedp.Click(chromedp.CSS(`form[action="/ui/events/`+id+`/replay"] button`)), chromedp.WaitVisible(chromedp.CSS(".flash-ok")))
		require.Contains(t, b.text(".flash-ok"), "Event queued again: it is mapped with kind checks")
		eval[bool](b, `window.__sameDocument = "yes"; true`)
		b.waitFor(`document.querySelector("#event-state").innerText.includes("processed") &&
			document.querySelectorAll("tr.event-alert a.incident-link").length === 1`, 20*time.Second)
		require.Equal(t, "yes", eval[string](b, `window.__sameDocument || "reloaded"`), "the event updated in place")
		require.NotContains(t, b.text("#event-state"), "unknown check state")
		alertRow := b.text("tr.event-alert")
		require.Contains(t, alertRow, "disk_usage failing on db-1")
		require.Contains(t, alertRow, "Critical")
		require.Contains(t, alertRow, "firing")
		b.html()

		// Its incident.
		b.do(chromedp.Click(chromedp.CSS("tr.event-alert a.incident-link")), chromedp.WaitVisible(chromedp.ID("h-summary")))
		require.Contains(t, b.text("h1"), "disk_usage failing on db-1")
		require.Contains(t, b.text("table.alerts"), "db-1")
		b.html()

		// The other one, with every unmapped event of the source.
		b.do(chromedp.Click(chromedp.CSS(`nav.mainnav a[href="/ui/events"]`)), chromedp.WaitVisible(chromedp.CSS(".attention")))
		require.Contains(t, b.text(".attention"), "checks: 1 unmapped event")
		b.do(chromedp.Click(chromedp.CSS(`.attention form[action="/ui/sources/checks/replay"] button`)), chromedp.WaitVisible(chromedp.CSS(".flash-ok")))
		require.Equal(t, []string{"Replay every unmapped event of checks?"}, asked())
		require.Contains(t, b.text(".flash-ok"), "1 unmapped event of checks queued again with kind checks.")
		require.Eventually(t, func() bool { return hub.count(t, "/api/v1/events?status=processed") == 2 }, 20*time.Second, 50*time.Millisecond)
		b.open("/ui/events?source=checks", "table.events")
		require.Equal(t, 0, eval[int](b, `document.querySelectorAll(".attention").length`), "nothing needs attention any more")
		require.Equal(t, 2, eval[int](b, `[...document.querySelectorAll("tr.event-row")].filter(r => r.innerText.includes("processed")).length`))
		b.html()

		// The API agrees: one incident holding both hosts.
		var incs struct {
			Incidents []struct {
				Title      string `json:"title"`
				AlertCount int    `json:"alert_count"`
			} `json:"incidents"`
		}
		hub.api(t, "/api/v1/incidents", &incs)
		require.Len(t, incs.Incidents, 1)
		require.Equal(t, 2, incs.Incidents[0].AlertCount)

		v.requireNoSecrets(hub.Secrets)
		b.requireNoSecrets(hub.Secrets)
		v.requireClean()
		b.requireClean()
	})
}

type configAnswer struct {
	Config struct {
		Version         string `json:"version"`
		LastReloadError string `json:"last_reload_error"`
	} `json:"config"`
}

// TestBrowserRetryDeadDelivery: the sink answers 503 until its retries
// give up: the delivery is dead and the target's circuit open. The
// operator sees that on Deliveries, reads the attempt log, and once the
// sink answers again retries the delivery: the page shows it delivered
// without a reload, the circuit closes, and the sink got the same message
// id. A viewer sees the same pages without Retry.
func TestBrowserRetryDeadDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromiumPath(t)
	storetest.Each(t, func(t *testing.T, dialect string) {
		hub := startOpsHub(t, dialect, http.StatusServiceUnavailable)
		hub.check(t, "replication_lag", "db-3", "WARN", "r-9")
		require.Eventually(t, func() bool { return hub.count(t, "/api/v1/deliveries?status=dead") == 1 }, 30*time.Second, 50*time.Millisecond)
		var dead struct {
			Deliveries []struct {
				ID        int64  `json:"id"`
				MessageID string `json:"message_id"`
				Attempts  int    `json:"attempts"`
			} `json:"deliveries"`
		}
		hub.api(t, "/api/v1/deliveries?status=dead", &dead)
		msg, failed := dead.Deliveries[0].MessageID, dead.Deliveries[0].Attempts
		require.GreaterOrEqual(t, failed, 1)
		require.Equal(t, failed, hub.sink.count(msg), "each attempt reached the sink")

		b := newTab(t, hub.URL, 1280, 800)
		b.open("/ui/deliveries", "#token")
		b.signIn(bOperatorToken)
		require.Equal(t, "/ui/deliveries", b.location())
		card := b.text(`article[data-target="sink"]`)
		require.Contains(t, card, "circuit open")
		require.Contains(t, card, "1 dead")
		require.Contains(t, b.buttons(), "Retry all dead to sink")
		b.html()

		b.do(chromedp.Click(chromedp.CSS(`article[data-target="sink"] a.dead-count`)), chromedp.WaitVisible(chromedp.CSS("table.deliveries")))
		require.Equal(t, "/ui/deliveries?target=sink&status=dead", b.location())
		require.Contains(t, b.text("tr.delivery-row"), "incident.opened")
		require.Contains(t, b.text("tr.delivery-row"), "HTTP 503")
		b.do(chromedp.Click(chromedp.CSS("tr.delivery-row a")), chromedp.WaitVisible(chromedp.ID("h-attempts")))
		id := strings.TrimPrefix(b.location(), "/ui/deliveries/")
		require.Contains(t, b.text(".delivery-status"), "dead")
		attempt := b.text("article.attempt")
		require.Contains(t, attempt, "HTTP 503")
		require.Contains(t, attempt, "POST "+hub.sink.URL+"/in")
		require.Contains(t, attempt, "receiver restarting")
		require.Regexp(t, `\d+ ms`, b.text("article.attempt .latency"))
		require.Contains(t, attempt, `"type": "incident.opened"`, "the request body, indented")
		require.Contains(t, b.text("#h-attempts"), fmt.Sprint(failed))
		require.Contains(t, b.buttons(), "Retry now")
		b.html()

		// A viewer: the same delivery, no Retry.
		v := newTab(t, hub.URL, 1280, 800)
		v.open("/ui/deliveries/"+id, "#token")
		v.signIn(bViewerToken)
		require.Contains(t, v.text(".delivery-status"), "dead")
		require.NotContains(t, v.buttons(), "Retry")
		v.open("/ui/deliveries", "table.deliveries")
		require.NotContains(t, v.buttons(), "Retry")
		v.html()

		// The receiver is back; retry.
		hub.sink.status.Store(http.StatusOK)
		b.do(chromedp.Click(chromedp.CSS(`form[action="/ui/deliveries/`+id+`/retry"] button`)), chromedp.WaitVisible(chromedp.CSS(".flash-ok")))
		require.Contains(t, b.text(".flash-ok"), "Delivery "+id+" to sink is being attempted again.")
		eval[bool](b, `window.__sameDocument = "yes"; true`)
		b.waitFor(`document.querySelector(".delivery-status").innerText.includes("delivered")`, 20*time.Second)
		require.Equal(t, "yes", eval[string](b, `window.__sameDocument || "reloaded"`), "the delivery updated in place")
		require.Contains(t, b.text("article.attempt"), "HTTP 200", "the newest attempt comes first")
		b.html()

		var d struct {
			Delivery struct {
				MessageID string `json:"message_id"`
				Status    string `json:"status"`
			} `json:"delivery"`
		}
		hub.api(t, "/api/v1/deliveries/"+id, &d)
		require.Equal(t, "delivered", d.Delivery.Status)
		require.Equal(t, msg, d.Delivery.MessageID)
		require.Equal(t, failed+1, hub.sink.count(msg), "the retry carries the same message id")

		b.open("/ui/deliveries", "table.deliveries")
		card = b.text(`article[data-target="sink"]`)
		require.Contains(t, card, "circuit closed")
		require.Contains(t, card, "Nothing waiting.")
		b.html()

		b.requireNoSecrets(hub.Secrets)
		v.requireNoSecrets(hub.Secrets)
		b.requireClean()
		v.requireClean()
	})
}

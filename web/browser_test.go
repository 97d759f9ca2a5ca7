package web_test

// Browser tests: the web UI in a real headless Chromium (Debian's chromium
// package), driven from Go with chromedp, against a real hub (app.Serve:
// store, processor, delivery engine) with vendor fakes as targets.
//
// They skip when Chromium is missing, unless
// INCIDENTHUB_TEST_BROWSER_REQUIRED=1 (set by .ci/run), which makes them
// fail. INCIDENTHUB_TEST_CHROMIUM names another binary.
//
//	go test ./web -run 'TestBrowser' -v

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/connectors/jira/jiratest"
	"github.com/incidenthub/incidenthub/connectors/pagerduty/pagerdutytest"
	"github.com/incidenthub/incidenthub/connectors/slack/slackfake"
	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// chromiumPath finds Chromium, or skips (fails when required).
func chromiumPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("INCIDENTHUB_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("INCIDENTHUB_TEST_BROWSER_REQUIRED") == "1" {
		t.Fatal("Chromium is required (INCIDENTHUB_TEST_BROWSER_REQUIRED=1) but not found: apt-get install chromium")
	}
	t.Skip("Chromium not found (apt-get install chromium; .ci/run makes these tests mandatory)")
	return ""
}

// Secrets of the browser tests' hub.
const (
	bViewerToken   = "brtok-viewer-91c2de40"
	bOperatorToken = "brtok-operator-5a07b3e1"
	bAdminToken    = "brtok-admin-e66f12c9"
	bSourceToken   = "brsrc-token-03d9aa57"
	bSlackToken    = "xoxb-brslack-5521-77e0c4"
	bHookSecretRaw = "browser-hook-secret-2f8c1e09"
)

var bHookSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte(bHookSecretRaw))

const browserConfig = `
database: %s
ingest: {workers: 2, poll_interval: 50ms}
api:
  tokens:
    - {name: dashboard, token: "${VIEWER_TOKEN}", role: viewer}
    - {name: alice, token: "${OPERATOR_TOKEN}", role: operator}
sources:
  - name: alertmanager
    kind: alertmanager
    auth: {type: token, token: "${SOURCE_TOKEN}"}
  - name: checks
    kind: generic
    auth: {type: token, token: "${SOURCE_TOKEN}"}
routing:
  default: [tickets, chat, hook, pager]
delivery:
  public_url: %s
targets:
  - name: tickets
    type: jira
    jira: {base_url: %q, email: %s, api_token: "${JIRA_TOKEN}", project: %s}
    allow_private_network: true
  - name: chat
    type: slack
    token: "${SLACK_TOKEN}"
    channel: C0INCIDENTS
    api_url: %s
    allow_private_network: true
  - name: hook
    type: webhook
    url: %s/incidents
    secrets: ["${HOOK_SECRET}"]
    allow_private_network: true
  - name: pager
    type: pagerduty
    pagerduty: {routing_key: "${PD_ROUTING_KEY}", url: %q}
    allow_private_network: true
correlation:
  reopen_window: 10m
  flap_threshold: 2
  flap_window: 1h
`

// liveHub is a running hub and what a test may look at.
type liveHub struct {
	URL     string
	Store   *store.Store
	Slack   *slackfake.Server
	Jira    *jiratest.Server
	Secrets []string
}

// startHub runs app.Serve on a free port of 127.0.0.1 until the test ends.
func startHub(t *testing.T, dialect string) *liveHub {
	t.Helper()
	jf, pdf := jiratest.New(t), pagerdutytest.New(t)
	sf := slackfake.New(bSlackToken)
	t.Cleanup(sf.Close)
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hooks.Close)

	dir := t.TempDir()
	dbPath := filepath.Join(dir, "hub.db")
	db := fmt.Sprintf("{path: %q}", dbPath)
	var pgURL string
	if dialect == store.Postgres {
		pgURL = storetest.PostgresURL(t)
		db = fmt.Sprintf("{url: %q}", pgURL)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	yaml := fmt.Sprintf(browserConfig, db, base, jf.URL, jiratest.Email, jiratest.Project, sf.APIURL(), hooks.URL, pdf.EnqueueURL())
	file := filepath.Join(dir, "hub.yaml")
	require.NoError(t, os.WriteFile(file, []byte(yaml), 0o600))
	env := map[string]string{
		"VIEWER_TOKEN": bViewerToken, "OPERATOR_TOKEN": bOperatorToken, app.EnvAPIToken: bAdminToken,
		"SOURCE_TOKEN": bSourceToken, "JIRA_TOKEN": jiratest.APIToken, "SLACK_TOKEN": bSlackToken,
		"HOOK_SECRET": bHookSecret, "PD_ROUTING_KEY": pagerdutytest.RoutingKey,
	}
	getenv := func(k string) string { return env[k] }
	cfg, err := config.Load(file, getenv)
	require.NoError(t, err)
	opts := store.Options{Path: dbPath}
	if pgURL != "" {
		opts = store.Options{URL: pgURL}
	}
	st := serveForBrowser(t, cfg, getenv, ln, opts)
	secrets := []string{bViewerToken, bOperatorToken, bAdminToken, bSourceToken, bSlackToken, bHookSecret, bHookSecretRaw,
		jiratest.APIToken, pagerdutytest.RoutingKey}
	return &liveHub{URL: base, Store: st, Slack: sf, Jira: jf, Secrets: secrets}
}

// serveForBrowser runs app.Serve on ln until the test ends, waits until it
// is ready (generously: under -race on a loaded 2-core machine migrating a
// fresh database takes a while; a hub that stops says why at once), then
// opens a second handle on its database for the test's assertions (after
// the hub, so the two do not contend for a fresh SQLite file's lock).
func serveForBrowser(t *testing.T, cfg *config.Config, getenv func(string) string, ln net.Listener, opts store.Options) *store.Store {
	t.Helper()
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, cfg, getenv, slog.New(slog.NewTextHandler(io.Discard, nil)), ln, nil) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case err := <-done:
			done <- err // for the cleanup
			t.Fatalf("the hub stopped before it was ready: %v", err)
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub never became ready (last: %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	st, err := store.Open(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

// hook posts body to /hooks/{source} as a monitoring tool would.
func (h *liveHub) hook(t *testing.T, source string, body any) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, h.URL+"/hooks/"+source, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bSourceToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", out)
}

// api GETs an /api/v1 path with the admin token and decodes the answer.
func (h *liveHub) api(t *testing.T, path string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+bAdminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	require.NoError(t, json.Unmarshal(b, v), "%s", b)
}

// amAlert is one Alertmanager webhook holding one alert.
func amAlert(status, alertname, service, instance, severity, summary string, at time.Time) map[string]any {
	endsAt := "0001-01-01T00:00:00Z"
	if status == "resolved" {
		endsAt = at.Format(time.RFC3339Nano)
	}
	return map[string]any{
		"version": "4", "status": status, "receiver": "incidenthub",
		"groupLabels": map[string]string{"alertname": alertname},
		"alerts": []map[string]any{{
			"status": status, "fingerprint": fingerprint(alertname + "/" + instance),
			"labels":      map[string]string{"alertname": alertname, "service": service, "instance": instance, "severity": severity},
			"annotations": map[string]string{"summary": summary},
			"startsAt":    at.Format(time.RFC3339Nano), "endsAt": endsAt,
			"generatorURL": "http://prometheus.example.org/graph",
		}},
	}
}

// fingerprint is an Alertmanager-like 16-hex-digit fingerprint.
func fingerprint(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// tab is one Chromium tab, with what it saw.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu       sync.Mutex
	pages    []string // every page's HTML, as read
	problems []string // console errors, exceptions, CSP violations
}

// newTab starts a fresh Chromium (its own profile) with a window of
// width×height, closed when the test ends.
func newTab(t *testing.T, base string, width, height int) *tab {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	tb := &tab{t: t, ctx: ctx, base: base}
	// Start the browser, then read its console: script errors, uncaught
	// exceptions and CSP violations (the browser log's "security" errors).
	require.NoError(t, chromedp.Do(ctx))
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))))
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				tb.problem(fmt.Sprintf("%s %s: %s (%s)", m.Type, m.Source, m.Text, m.URL))
			}
		}
	}()
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		<-consoleDone
	})
	return tb
}

func (b *tab) problem(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// A 401/403/404 the test caused on purpose is logged by Chromium as a
	// failed resource load; those are asserted where they happen.
	if strings.Contains(s, "status of 40") {
		return
	}
	b.problems = append(b.problems, s)
}

// requireClean: no script error, console error or CSP violation so far.
func (b *tab) requireClean() {
	b.t.Helper()
	time.Sleep(200 * time.Millisecond) // let the console catch up
	b.mu.Lock()
	defer b.mu.Unlock()
	require.Empty(b.t, b.problems, "the browser reported problems")
}

// do runs actions with a deadline.
func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, actions...))
}

// get runs one action that returns a value.
func get[T any](b *tab, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	require.NoError(b.t, err)
	return v
}

// open navigates to path and waits for sel.
func (b *tab) open(path, sel string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// text is the visible text of the first element matching sel.
func (b *tab) text(sel string) string {
	b.t.Helper()
	return get(b, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
}

// html reads the whole document as the browser has it now, and keeps it
// for the secret check.
func (b *tab) html() string {
	b.t.Helper()
	s := get(b, chromedp.OuterHTML(chromedp.CSS("html")))
	b.mu.Lock()
	b.pages = append(b.pages, s)
	b.mu.Unlock()
	return s
}

func (b *tab) location() string {
	b.t.Helper()
	return strings.TrimPrefix(get(b, chromedp.Location()), b.base)
}

// eval runs JavaScript in the page, awaiting a promise.
func eval[T any](b *tab, js string) T {
	b.t.Helper()
	return get(b, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// waitFor polls a JavaScript condition until it holds.
func (b *tab) waitFor(js string, timeout time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		b.t.Fatalf("waiting for %s: %v\npage text: %s", js, err, b.text("body"))
	}
}

// signIn types the token into the sign-in form the way a person does.
func (b *tab) signIn(token string) {
	b.t.Helper()
	b.do(
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.CSS(`form[action="/ui/sign-in"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".whoami")),
	)
}

// requireNoSecrets: no page this tab read holds a secret.
func (b *tab) requireNoSecrets(secrets []string) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	require.NotEmpty(b.t, b.pages)
	for _, p := range b.pages {
		for _, s := range secrets {
			require.NotContains(b.t, p, s, "a page shows a secret")
		}
	}
}

// TestBrowserStorm: an on-call engineer signs in and watches the open
// incidents; a storm of 30 alerts from Alertmanager arrives and shows up,
// without a reload, as ONE incident with 30 firing alerts; they open it,
// see its targets with their remote ids, acknowledge it with a note, and
// see "Acknowledged by alice" and the note on the timeline; the API says
// the same. No page shows a secret. Runs on SQLite and PostgreSQL.
func TestBrowserStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromiumPath(t)
	storetest.Each(t, func(t *testing.T, dialect string) {
		hub := startHub(t, dialect)
		b := newTab(t, hub.URL, 1280, 800)

		b.open("/ui/", "#token")
		require.Equal(t, "/ui/sign-in", b.location())
		b.html()
		b.signIn(bOperatorToken)
		require.Equal(t, "/ui/", b.location())
		require.Contains(t, b.text(".whoami"), "alice")
		require.Contains(t, b.text("#incidents-live"), "No open incidents — no alert has been received yet.")

		// Mark this document: a reload would lose the mark.
		eval[bool](b, `window.__sameDocument = "yes"; true`)

		start := time.Now().UTC().Add(-2 * time.Minute)
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Go(func() {
				hub.hook(t, "alertmanager", amAlert("firing", "HighErrorRate", "checkout", fmt.Sprintf("web-%02d:9100", i),
					"critical", "Checkout error rate above 5%", start.Add(time.Duration(i)*time.Second)))
			})
		}
		wg.Wait()

		b.waitFor(`document.querySelectorAll("tr.incident-row").length === 1 &&
			document.querySelector("tr.incident-row").innerText.includes("30 firing")`, 30*time.Second)
		same := eval[string](b, `window.__sameDocument || "reloaded"`)
		require.Equal(t, "yes", same, "the list updated without a reload")
		row := b.text("tr.incident-row")
		require.Contains(t, row, "Checkout error rate above 5%")
		require.Contains(t, row, "checkout")
		require.Contains(t, row, "HighErrorRate")
		require.Contains(t, row, "30 firing / 30")
		require.Contains(t, row, "Critical")
		require.Equal(t, "1", b.text(`[data-count="open"]`))
		// Each target's chip follows its delivery, live too.
		b.waitFor(`(t => ["tickets", "chat", "hook", "pager"].every(n => t.includes(n)) && !/queued|pending|retrying/.test(t))(
			document.querySelector("tr.incident-row td.targets").innerText)`, 30*time.Second)
		require.Contains(t, b.text("tr.incident-row td.targets"), "delivered")
		b.html()

		// Open it.
		b.do(chromedp.Click(chromedp.CSS("tr.incident-row a.incident-title")), chromedp.WaitVisible(chromedp.ID("h-summary")))
		id := strings.TrimPrefix(b.location(), "/ui/incidents/")
		require.Contains(t, b.text("h1"), "Checkout error rate above 5%")
		require.Contains(t, b.text(".badges"), "Open")
		require.Contains(t, b.text("#h-alerts"), "30")
		require.Contains(t, b.text("table.alerts"), "web-07:9100")
		require.Contains(t, b.text(".timeline"), "Opened")

		// The Jira issue and the Slack message reach their targets; the
		// page shows the remote ids with links into the vendors.
		require.Eventually(t, func() bool { return len(hub.Jira.Issues()) == 1 && len(hub.Slack.TopLevel()) == 1 }, 30*time.Second, 100*time.Millisecond)
		key := hub.Jira.Issues()[0].Key
		b.open("/ui/incidents/"+id, "#h-targets")
		b.waitFor(`document.querySelector(".targets-list").innerText.includes(`+jsString(key)+`)`, 10*time.Second)
		jiraLink := eval[string](b, `[...document.querySelectorAll(".targets-list a.vendor-link")].map(a => a.href).find(h => h.includes("/browse/")) || ""`)
		require.Equal(t, hub.Jira.URL+"/browse/"+key, jiraLink)
		require.Contains(t, b.text(".targets-list"), "C0INCIDENTS")

		// Acknowledge with a note.
		b.do(
			chromedp.SendKeys(chromedp.ID("note"), "Rolling back deploy 4411"),
			chromedp.Click(chromedp.CSS(`form[action$="/acknowledge"] button.primary`)),
			chromedp.WaitVisible(chromedp.CSS(".flash-ok")),
		)
		require.Equal(t, "/ui/incidents/"+id, b.location())
		require.Contains(t, b.text(".flash-ok"), "Incident #"+id+" acknowledged.")
		require.Contains(t, b.text(".badges"), "Acknowledged by alice")
		first := b.text(".timeline li")
		require.Contains(t, first, "Acknowledged")
		require.Contains(t, first, "by alice")
		require.Contains(t, first, "Rolling back deploy 4411")
		require.NotContains(t, b.html(), ">Acknowledge</button>")

		var got struct {
			Incident struct {
				Status         string `json:"status"`
				AcknowledgedBy string `json:"acknowledged_by"`
				AlertCount     int    `json:"alert_count"`
			} `json:"incident"`
		}
		hub.api(t, "/api/v1/incidents/"+id, &got)
		require.Equal(t, "acknowledged", got.Incident.Status)
		require.Equal(t, "alice", got.Incident.AcknowledgedBy)
		require.Equal(t, 30, got.Incident.AlertCount)
		var tl struct {
			Timeline []struct{ Kind, Actor, Reason string } `json:"timeline"`
		}
		hub.api(t, "/api/v1/incidents/"+id+"/timeline?limit=1000", &tl)
		last := tl.Timeline[len(tl.Timeline)-1]
		require.Equal(t, "acknowledged", last.Kind)
		require.Equal(t, "alice", last.Actor)
		require.Contains(t, last.Reason, "Rolling back deploy 4411")

		// The acknowledged tab has it, with the badge.
		b.open("/ui/?status=acknowledged", "tr.incident-row")
		require.Contains(t, b.text("tr.incident-row"), "Acknowledged by alice")
		require.Equal(t, "0", b.text(`[data-count="open"]`))
		b.html()
		b.open("/ui/incidents/999999", ".error-page")
		b.html()

		b.requireNoSecrets(hub.Secrets)
		b.requireClean()
	})
}

// TestBrowserViewer: a viewer sees the incident but no action, and a
// forged POST from the page is refused: without the CSRF token, and with
// it (the role). The incident stays open.
func TestBrowserViewer(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromiumPath(t)
	hub := startHub(t, store.SQLite)
	hub.hook(t, "alertmanager", amAlert("firing", "DiskFull", "storage", "db-1:9100", "high", "Disk 95% full on db-1", time.Now().UTC()))
	b := newTab(t, hub.URL, 1280, 800)
	b.open("/ui/", "#token")
	b.signIn(bViewerToken)
	b.waitFor(`document.querySelectorAll("tr.incident-row").length === 1 &&
		!/queued|pending|retrying/.test(document.querySelector("tr.incident-row td.targets").innerText)`, 30*time.Second)
	b.do(chromedp.Click(chromedp.CSS("tr.incident-row a.incident-title")), chromedp.WaitVisible(chromedp.ID("h-summary")))
	id := strings.TrimPrefix(b.location(), "/ui/incidents/")
	page := b.html()
	require.Contains(t, page, "Disk 95% full on db-1")
	require.NotContains(t, page, `id="h-actions"`)
	buttons := eval[[]string](b, `[...document.querySelectorAll("main button")].map(b => b.innerText)`)
	require.Empty(t, buttons, "a viewer sees no action buttons")

	noToken := b.forgePOST(t, "/ui/incidents/"+id+"/acknowledge", map[string]string{"note": "mine"}, false)
	require.Equal(t, http.StatusForbidden, noToken.Status)
	require.Contains(t, noToken.Text, "no CSRF token")
	withToken := b.forgePOST(t, "/ui/incidents/"+id+"/acknowledge", map[string]string{"note": "mine"}, true)
	require.Equal(t, http.StatusForbidden, withToken.Status)
	require.Contains(t, withToken.Text, "This action needs the operator role; you are signed in as dashboard (viewer).")

	var got struct {
		Incident struct{ Status string } `json:"incident"`
	}
	hub.api(t, "/api/v1/incidents/"+id, &got)
	require.Equal(t, "open", got.Incident.Status)
	b.requireNoSecrets(hub.Secrets)
	b.requireClean()
}

// TestBrowserSlackLink: the link in the Slack message lands on the
// incident: for a person signed in (the click comes from another site, so
// without the SameSite=Strict cookie at first), and for one who is not,
// after signing in.
func TestBrowserSlackLink(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromiumPath(t)
	hub := startHub(t, store.SQLite)
	hub.hook(t, "alertmanager", amAlert("firing", "CertExpiry", "edge", "lb-1:9100", "warning", "TLS certificate expires in 7 days", time.Now().UTC()))
	require.Eventually(t, func() bool { return len(hub.Slack.TopLevel()) == 1 }, 30*time.Second, 100*time.Millisecond)
	blocks, err := json.Marshal(hub.Slack.TopLevel()[0])
	require.NoError(t, err)
	link := regexpFind(t, `http://127\.0\.0\.1:\d+/ui/incidents/\d+`, string(blocks))
	id := link[strings.LastIndex(link, "/")+1:]

	// "Slack": a page on another site (localhost is not 127.0.0.1) with
	// the message's link.
	chat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>#incidents</title><p>TLS certificate expires in 7 days <a id="open" href="%s">Incident #%s</a></p>`, link, id)
	}))
	t.Cleanup(chat.Close)
	chatURL := strings.Replace(chat.URL, "127.0.0.1", "localhost", 1)

	// Not signed in: the sign-in page, then the incident.
	b := newTab(t, hub.URL, 1280, 800)
	b.do(chromedp.Navigate(chatURL), chromedp.WaitVisible(chromedp.ID("open")), chromedp.Click(chromedp.ID("open")),
		chromedp.WaitVisible(chromedp.ID("token")))
	require.Equal(t, "/ui/sign-in?next=%2Fui%2Fincidents%2F"+id, b.location())
	b.signIn(bViewerToken)
	require.Equal(t, "/ui/incidents/"+id, b.location())
	require.Contains(t, b.text("h1"), "TLS certificate expires in 7 days")

	// Signed in: straight to the incident.
	b.do(chromedp.Navigate(chatURL), chromedp.WaitVisible(chromedp.ID("open")), chromedp.Click(chromedp.ID("open")),
		chromedp.WaitVisible(chromedp.ID("h-summary")))
	require.Equal(t, "/ui/incidents/"+id, b.location())
	require.Contains(t, b.text(".whoami"), "dashboard")
	b.html()
	b.requireNoSecrets(hub.Secrets)
	b.requireClean()
}

func regexpFind(t *testing.T, pattern, s string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindString(s)
	require.NotEmpty(t, m, "no %s in %s", pattern, s)
	return m
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// forgedAnswer is what a POST forged from the page got back.
type forgedAnswer struct {
	Status int    `json:"status"`
	Text   string `json:"text"`
}

// forgePOST posts form to path from the page's own script, as a person
// with the developer tools could, with the page's CSRF token when
// withCSRF (so the role is what refuses it) or without it.
func (b *tab) forgePOST(t *testing.T, path string, form map[string]string, withCSRF bool) forgedAnswer {
	t.Helper()
	fields, err := json.Marshal(form)
	require.NoError(t, err)
	target, err := json.Marshal(path)
	require.NoError(t, err)
	csrf := ""
	if withCSRF {
		csrf = `f.csrf = document.querySelector("input[name=csrf]").value;`
	}
	return eval[forgedAnswer](b, `(() => { const f = `+string(fields)+`; `+csrf+`
		return fetch(`+string(target)+`, {method: "POST", body: new URLSearchParams(f)}).
			then(async r => ({status: r.status, text: await r.text()})); })()`)
}

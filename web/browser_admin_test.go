package web_test

// Browser tests of the Registry, Audit trail and Rules playground screens
// (the harness is browser_test.go's: Chromium through chromedp against a
// hub run by app.Serve).
//
//	go test ./web -run 'TestBrowser(Registry|Playground)' -v

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/keyring"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// Secrets of the admin browser tests' hub.
const (
	baViewerToken   = "batok-viewer-2e7d90c1"
	baAdminToken    = "batok-admin-b3f0c85a"
	baSourceToken   = "basrc-token-61ad0f2e"
	baHMACSecret    = "bahmac-secret-0c4e97d3"
	baHookSecretRaw = "ba-hook-secret-77e1c04b-9d2a"
	baDDToken       = "badd-token-4f18e2c7"
	baSinkSecretRaw = "ba-sink-secret-0b93d6a2-51fe"
)

var (
	baHookSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte(baHookSecretRaw))
	baSinkSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte(baSinkSecretRaw))
)

// adminBrowserConfig: alertmanager and datadog are owned and rotate on a
// schedule; grafana and uptime have no owner; both targets are owned
// webhooks. The rules route payments to the hook.
const adminBrowserConfig = `
database: %s
ingest: {workers: 1, poll_interval: 50ms}
api:
  tokens:
    - {name: dashboard, token: "${VIEWER_TOKEN}", role: viewer}
registry:
  max_secret_age: 2160h
sources:
  - name: alertmanager
    kind: alertmanager
    auth: {type: token, token: "${SOURCE_TOKEN}"}
    owner: {name: platform, contact: "#platform-oncall"}
    description: production Alertmanager (eu-west-1)
    expected_interval: 24h
    rotation: {schedule: "@every 720h", overlap: 1h}
  - name: datadog
    kind: datadog
    auth: {type: token, token: "${DD_TOKEN}"}
    owner: {name: observability, contact: obs-team@example.org}
    rotation: {schedule: "@every 2160h", overlap: 24h}
  - name: grafana
    kind: grafana
    auth: {type: hmac, secret: "${HMAC_SECRET}", header: X-Grafana-Signature, prefix: "sha256="}
  - name: uptime
    kind: generic
    auth: {type: none}
    expected_interval: 1h
routing:
  rules_dir: rules
  default: [hook]
targets:
  - name: hook
    type: webhook
    url: %[2]s/incidents
    secrets: ["${HOOK_SECRET}"]
    owner: {name: sre, contact: sre@example.org}
    allow_private_network: true
  - name: audit-sink
    type: webhook
    url: %[2]s/audit
    secrets: ["${SINK_SECRET}"]
    owner: {name: security, contact: "#sec-ops"}
    description: the SIEM's incident feed
    rotation: {schedule: "@every 720h"}
    allow_private_network: true
`

// adminLiveHub is a running hub with the registry's key, and its files.
type adminLiveHub struct {
	URL     string
	Store   *store.Store
	Secrets []string
	Dir     string
}

func startAdminHub(t *testing.T, dialect string) *adminLiveHub {
	t.Helper()
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "rules"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules", "10-routing.yaml"), []byte(strings.ReplaceAll(adminRules, "ops-hook", "hook")), 0o644))
	dbPath := filepath.Join(dir, "hub.db")
	db := fmt.Sprintf("{path: %q}", dbPath)
	var pgURL string
	if dialect == store.Postgres {
		pgURL = storetest.PostgresURL(t)
		db = fmt.Sprintf("{url: %q}", pgURL)
	}
	file := filepath.Join(dir, "hub.yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(adminBrowserConfig, db, receiver.URL)), 0o600))
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	keyB64 := base64.StdEncoding.EncodeToString(key)
	env := map[string]string{
		"VIEWER_TOKEN": baViewerToken, app.EnvAPIToken: baAdminToken, "SOURCE_TOKEN": baSourceToken,
		"HMAC_SECRET": baHMACSecret, "HOOK_SECRET": baHookSecret, keyring.EnvKey: keyB64,
		"DD_TOKEN": baDDToken, "SINK_SECRET": baSinkSecret,
	}
	getenv := func(k string) string { return env[k] }
	cfg, err := config.Load(file, getenv)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	opts := store.Options{Path: dbPath}
	if pgURL != "" {
		opts = store.Options{URL: pgURL}
	}
	st := serveForBrowser(t, cfg, getenv, ln, opts)
	return &adminLiveHub{URL: base, Store: st, Dir: dir,
		Secrets: []string{baViewerToken, baAdminToken, baSourceToken, baHMACSecret, baHookSecret, baHookSecretRaw, keyB64,
			baDDToken, baSinkSecret, baSinkSecretRaw}}
}

// hookStatus posts an Alertmanager payload to /hooks/alertmanager with a
// bearer token and returns the status.
func (h *adminLiveHub) hookStatus(t *testing.T, token, alertname string) int {
	t.Helper()
	body := fmt.Sprintf(`{"version":"4","status":"firing","receiver":"hub","alerts":[{"status":"firing","labels":{"alertname":%q,"service":"checkout","severity":"warning"},"annotations":{"summary":"%s"},"fingerprint":"%s","startsAt":%q}]}`,
		alertname, alertname, fingerprint(alertname), time.Now().UTC().Format(time.RFC3339))
	req, err := http.NewRequest(http.MethodPost, h.URL+"/hooks/alertmanager", bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// ageSecret makes an entry's secret days old (the hub was started
// seconds ago; its policy maximum is 90 days).
func (h *adminLiveHub) ageSecret(t *testing.T, direction, name string, days int) {
	t.Helper()
	res := h.Store.DB.Exec("UPDATE registry_entries SET secret_set_at = ? WHERE direction = ? AND name = ?",
		time.Now().UTC().Add(-time.Duration(days)*24*time.Hour), direction, name)
	require.NoError(t, res.Error)
	require.EqualValues(t, 1, res.RowsAffected)
}

// confirmDialogs answers every confirm() with OK, as a person would.
func (b *tab) confirmDialogs() {
	dialogs := chromedp.Events(b.ctx, cdppage.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(b.ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
}

// waitPath waits until the tab shows path, fully loaded (after a history
// navigation, which may swap the document under a running script).
func (b *tab) waitPath(path string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`location.pathname === `+jsString(path)+` && document.readyState === "complete" && !!document.querySelector("main")`))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("the tab never showed %s (it shows %s)", path, b.location())
}

// forgive drops the browser's reports of an HTTP status a test caused on
// purpose (a 410 for a secret already shown, a 400 for a bad payload).
func (b *tab) forgive(status string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := b.problems[:0]
	for _, p := range b.problems {
		if !strings.Contains(p, "status of "+status) {
			kept = append(kept, p)
		}
	}
	b.problems = kept
}

// rows are the entries the registry list shows, in order.
func (b *tab) registryRows() []string {
	b.t.Helper()
	return eval[[]string](b, `[...document.querySelectorAll("tr.registry-row")].map(r => r.dataset.entry)`)
}

// TestBrowserRegistryRotate: a platform owner signs in as admin, narrows
// the registry to what is unowned or overdue in one click, opens a source,
// rotates its token and sees the new one once, with a Copy button that
// copies it; a reload finds it gone; the source accepts the new token
// over /hooks. No other page shows the new secret or any configured one.
func TestBrowserRegistryRotate(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromiumPath(t)
	hub := startAdminHub(t, store.SQLite)
	hub.ageSecret(t, "outbound", "hook", 120)
	b := newTab(t, hub.URL, 1280, 800)
	b.confirmDialogs()
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.Call(b.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: perm}, Setting: cdpbrowser.PermissionSettingGranted, Origin: hub.URL})
		require.NoError(t, err)
	}

	b.open("/ui/registry", "#token")
	b.signIn(baAdminToken)
	require.Equal(t, "/ui/registry", b.location())
	require.Equal(t, []string{"inbound/alertmanager", "inbound/datadog", "inbound/grafana", "inbound/uptime", "outbound/audit-sink", "outbound/hook"}, b.registryRows())
	require.Contains(t, b.text(`tr[data-entry="inbound/alertmanager"]`), "#platform-oncall")
	require.Contains(t, b.text(`tr[data-entry="outbound/hook"]`), "rotation overdue")
	b.html()

	// One click: everything unowned or overdue.
	b.do(chromedp.Click(chromedp.CSS(`nav.quick a:nth-child(2)`)), chromedp.WaitVisible(chromedp.CSS(`nav.quick a[aria-current="page"]`)))
	require.Contains(t, b.text(`nav.quick a[aria-current="page"]`), "Unowned or overdue 3")
	require.Equal(t, []string{"inbound/grafana", "inbound/uptime", "outbound/hook"}, b.registryRows())
	require.Contains(t, b.text("#registry-count"), "3 of 6 entries")
	for _, e := range []string{"inbound/grafana", "inbound/uptime"} {
		require.Contains(t, b.text(`tr[data-entry="`+e+`"]`), "unowned")
	}
	b.html()
	// Sorted by secret age: oldest first (the 120-day-old hook secret),
	// then, clicked again, newest first.
	b.do(chromedp.Click(chromedp.CSS(`th a.sort[href*="sort=age"]`)), chromedp.WaitVisible(chromedp.CSS(`th[aria-sort="descending"]`)))
	require.Equal(t, "outbound/hook", b.registryRows()[0])
	b.do(chromedp.Click(chromedp.CSS(`th a.sort[href*="sort=age"]`)), chromedp.WaitVisible(chromedp.CSS(`th[aria-sort="ascending"]`)))
	rows := b.registryRows()
	require.Equal(t, "outbound/hook", rows[len(rows)-1])
	require.Len(t, rows, 3, "still unowned or overdue only")

	// Open the source and rotate.
	b.open("/ui/registry", "tr.registry-row")
	b.do(chromedp.Click(chromedp.CSS(`tr[data-entry="inbound/alertmanager"] a.entry-name`)), chromedp.WaitVisible(chromedp.ID("h-secret")))
	require.Equal(t, "/ui/registry/inbound/alertmanager", b.location())
	require.Contains(t, b.text("#h-secret + dl"), "the config file's secret")
	b.html()
	b.do(chromedp.Click(chromedp.CSS(`form[action$="/rotate"] button`)), chromedp.WaitVisible(chromedp.ID("secret-value")))
	require.Equal(t, "/ui/registry/inbound/alertmanager/secret", b.location())
	require.Contains(t, b.text("h1"), "New secret for alertmanager")
	require.Contains(t, b.text(".reveal"), "Shown once")
	secret := eval[string](b, `document.getElementById("secret-value").value`)
	require.Regexp(t, `^ihs_[0-9a-f]{64}$`, secret)
	revealPage := b.html()
	require.Contains(t, revealPage, secret)

	// Copy puts it on the clipboard.
	b.do(chromedp.Click(chromedp.CSS(`button[data-copy]`)))
	b.waitFor(`document.querySelector("[data-copy-status]").innerText.includes("Copied")`, 5*time.Second)
	require.Equal(t, "Copied", b.text(`button[data-copy]`))
	require.Equal(t, secret, eval[string](b, `navigator.clipboard.readText()`))

	// Done, then Back: the secret does not come back (the browser asks
	// the hub again, or restores a page whose field was wiped on leaving).
	b.do(chromedp.Click(chromedp.CSS(`.reveal a.button`)), chromedp.WaitVisible(chromedp.ID("h-secret")))
	require.Equal(t, "/ui/registry/inbound/alertmanager", b.location())
	eval[bool](b, `history.back(); true`)
	b.waitPath("/ui/registry/inbound/alertmanager/secret")
	require.NotContains(t, eval[string](b, `document.documentElement.outerHTML`), secret)

	// Reload: gone.
	b.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".reveal-gone")))
	require.Contains(t, b.text("h1"), "This secret is gone")
	require.Contains(t, b.text(".reveal-gone"), "was shown once and is not shown again")
	require.NotContains(t, b.html(), secret)
	// Back to the entry and forward again: still gone.
	// (Read through script: a page restored from the back/forward cache
	// is one chromedp's DOM queries do not see.)
	eval[bool](b, `history.back(); true`)
	b.waitPath("/ui/registry/inbound/alertmanager")
	require.NotContains(t, eval[string](b, `document.documentElement.outerHTML`), secret)
	eval[bool](b, `history.forward(); true`)
	b.waitPath("/ui/registry/inbound/alertmanager/secret")
	require.NotContains(t, eval[string](b, `document.documentElement.outerHTML`), secret)

	// The source accepts the new token over /hooks, and the old one during
	// the 1h overlap.
	require.Equal(t, http.StatusAccepted, hub.hookStatus(t, secret, "RotatedTokenWorks"))
	require.Equal(t, http.StatusAccepted, hub.hookStatus(t, baSourceToken, "OldTokenDuringOverlap"))
	require.Equal(t, http.StatusUnauthorized, hub.hookStatus(t, "not-the-token", "WrongToken"))

	// The entry now shows version 2 and the overlap, and its audit trail
	// the rotation by the admin ("env", the environment's token).
	b.open("/ui/registry/inbound/alertmanager", "#h-secret")
	require.Contains(t, b.text("#h-secret + dl"), "2 · generated by the hub")
	require.Contains(t, b.text("#h-secret + dl"), "still accepted; the overlap ends in 60 min")
	latest := b.text("tr.audit-rec")
	require.Contains(t, latest, "registry.rotate")
	require.Contains(t, latest, "env")
	require.Contains(t, latest, "secret_version: 1 → 2")

	// Every other screen: neither the new secret nor a configured one.
	for _, path := range []string{"/ui/registry", "/ui/registry?show=unowned&show=overdue", "/ui/registry/inbound/alertmanager",
		"/ui/registry/inbound/datadog", "/ui/registry/inbound/grafana", "/ui/registry/inbound/uptime",
		"/ui/registry/outbound/hook", "/ui/registry/outbound/audit-sink",
		"/ui/audit", "/ui/audit?entity=inbound/alertmanager", "/ui/rules", "/ui/rules?source=alertmanager", "/ui/"} {
		b.open(path, "main")
		require.NotContains(t, b.html(), secret, path)
	}
	b.pages = slicesDelete(b.pages, revealPage)
	b.requireNoSecrets(append(hub.Secrets, secret))
	time.Sleep(200 * time.Millisecond)
	b.forgive("410 (Gone)")
	b.requireClean()
}

func slicesDelete(pages []string, drop string) []string {
	out := pages[:0]
	for _, p := range pages {
		if p != drop {
			out = append(out, p)
		}
	}
	return out
}

// TestBrowserRegistryViewer: a viewer sees the registry and an entry's
// audit trail but no rotate, revoke or verify button, and a forged POST is
// refused: without the CSRF token, and with it for the role. Nothing
// changes.
func TestBrowserRegistryViewer(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromiumPath(t)
	hub := startAdminHub(t, store.SQLite)
	b := newTab(t, hub.URL, 1280, 800)
	b.open("/ui/registry/inbound/grafana", "#token")
	b.signIn(baViewerToken)
	require.Equal(t, "/ui/registry/inbound/grafana", b.location())
	require.Contains(t, b.text("#h-audit + table"), "registry.create")
	buttons := eval[[]string](b, `[...document.querySelectorAll("main button")].map(b => b.innerText)`)
	require.Empty(t, buttons, "a viewer sees no action buttons")
	require.NotContains(t, b.html(), `id="h-actions"`)

	for _, action := range []string{"rotate", "revoke", "verify"} {
		form := map[string]string{"overlap": "0s"}
		noToken := b.forgePOST(t, "/ui/registry/inbound/grafana/"+action, form, false)
		require.Equal(t, http.StatusForbidden, noToken.Status, action)
		require.Contains(t, noToken.Text, "no CSRF token", action)
		withToken := b.forgePOST(t, "/ui/registry/inbound/grafana/"+action, form, true)
		require.Equal(t, http.StatusForbidden, withToken.Status, action)
		require.Contains(t, withToken.Text, "you are signed in as dashboard (viewer)", action)
	}
	b.open("/ui/registry/inbound/grafana", "#h-audit")
	require.NotContains(t, b.text("#h-audit + table"), "registry.rotate")
	require.NotContains(t, b.text("#h-audit + table"), "registry.verify")
	require.Contains(t, b.text("#h-secret + dl"), "1 · the config file's secret")
	b.html()
	b.requireNoSecrets(hub.Secrets)
	b.requireClean()
}

// TestBrowserPlayground: an engineer chooses a source, pastes a payload
// and runs the dry run: the rule that matched, with its file:line, the
// route, the correlation key and the silence check. Then they pick a
// stored event of another source (the list follows the source choice),
// and paste something that is not JSON: the page says what is wrong.
func TestBrowserPlayground(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	chromiumPath(t)
	hub := startAdminHub(t, store.SQLite)
	require.Equal(t, http.StatusAccepted, hub.hookStatus(t, baSourceToken, "CheckoutLatencyHigh"))
	b := newTab(t, hub.URL, 1280, 800)
	b.open("/ui/rules", "#token")
	b.signIn(baViewerToken)
	require.Equal(t, "/ui/rules", b.location())
	cfg := b.text("#h-config + dl")
	require.Contains(t, cfg, "4 sources, 2 rules, 1 silence")
	require.Contains(t, cfg, "none since start")

	payload := `{"alerts": [{"fingerprint": "pay-7", "status": "firing", "service": "payments", "alert_type": "card_auth", "severity": "high", "title": "Card authorisations failing", "host": "pay-7"}]}`
	b.do(
		chromedp.SetValue(chromedp.ID("p-source"), "uptime"),
		chromedp.SendKeys(chromedp.ID("p-payload"), payload),
		chromedp.Click(chromedp.CSS(`form.playground-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("h-result")),
	)
	require.Contains(t, b.text("#h-result"), "1 alert from uptime")
	trace := b.text("article.trace")
	require.Contains(t, trace, "Alert 1: Card authorisations failing")
	steps := eval[[]string](b, `[...document.querySelectorAll("li.step")].map(li => li.innerText)`)
	require.Equal(t, []string{"not matched drop-staging rules/10-routing.yaml:2", "matched payments-page rules/10-routing.yaml:5"}, steps)
	require.Contains(t, trace, "hook")
	require.Contains(t, trace, "escalated")
	require.Contains(t, trace, "none applies")
	require.Contains(t, eval[string](b, `document.getElementById("p-payload").value`), "Card authorisations failing", "the form keeps the payload")
	b.html()

	// Choose alertmanager: its recent events appear without a reload;
	// pick the stored one.
	b.do(chromedp.SetValue(chromedp.ID("p-source"), "alertmanager"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("p-source").dispatchEvent(new Event("change", {bubbles: true}))`))
	b.waitFor(`document.querySelector("#recent-events h2").innerText.includes("alertmanager") &&
		document.querySelectorAll("#recent-events ul.recent a").length === 1`, 10*time.Second)
	b.do(chromedp.Click(chromedp.CSS("#recent-events ul.recent a")), chromedp.WaitVisible(chromedp.ID("h-result")))
	require.Contains(t, b.text("#h-result"), "1 alert from alertmanager")
	require.Contains(t, b.text("article.trace"), "CheckoutLatencyHigh")
	require.Contains(t, b.text("article.trace"), "routing.default: no rule routed")
	require.Contains(t, eval[string](b, `document.getElementById("p-payload").value`), `"alertname": "CheckoutLatencyHigh"`)
	b.html()

	// Not JSON: a clear message on the page.
	b.do(
		chromedp.Clear(chromedp.ID("p-payload")),
		chromedp.SendKeys(chromedp.ID("p-payload"), "{\"alerts\": [oops]}"),
		chromedp.Click(chromedp.CSS(`form.playground-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("p-problem")),
	)
	require.Contains(t, b.text("#p-problem"), "The payload is not JSON: invalid character 'o' looking for beginning of value (line 1, column 13).")
	require.Contains(t, eval[string](b, `document.getElementById("p-payload").value`), "oops", "the form keeps what was typed")
	b.html()
	b.requireNoSecrets(hub.Secrets)
	time.Sleep(200 * time.Millisecond)
	b.forgive("400 (Bad Request)")
	b.requireClean()
}

package web_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/store"
)

// TestScreenshotsAdmin photographs the Registry, Audit trail and Rules
// playground screens of a demo hub (entries in the states an owner acts
// on: overdue, stale, failing, unowned) into the -screenshots directory,
// like TestScreenshots:
//
//	go test ./web -run 'TestScreenshots' -screenshots=docs/screenshots
func TestScreenshotsAdmin(t *testing.T) {
	dir := screenshotDir(t)
	hub := startAdminHub(t, store.SQLite)

	// Events: alertmanager and datadog are heard from; grafana's sender
	// signs with an old secret (auth failures); uptime has been silent for
	// days; the hook's secret is 120 days old (over the 90-day policy).
	for _, name := range []string{"CheckoutLatencyHigh", "DiskWillFillIn4Hours", "PaymentsErrorBudgetBurn"} {
		require.Equal(t, http.StatusAccepted, hub.hookStatus(t, baSourceToken, name))
	}
	post := func(source string, body string, headers ...string) int {
		req, err := http.NewRequest(http.MethodPost, hub.URL+"/hooks/"+source, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusAccepted, post("datadog", `{"id":"7012","title":"[Triggered] CPU high on web-3","alert_transition":"Triggered"}`, "Authorization", "Bearer "+baDDToken))
	grafana := `{"receiver":"hub","status":"firing","alerts":[]}`
	mac := hmac.New(sha256.New, []byte("an-old-secret"))
	mac.Write([]byte(grafana))
	for range 3 {
		require.Equal(t, http.StatusUnauthorized, post("grafana", grafana, "X-Grafana-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil))))
	}
	hub.ageSecret(t, "outbound", "hook", 120)
	hub.ageSecret(t, "inbound", "datadog", 31)
	hub.ageSecret(t, "inbound", "alertmanager", 12)
	for name, days := range map[string]int{"datadog": 90 - 31, "alertmanager": 30 - 12} {
		require.NoError(t, hub.Store.DB.Exec("UPDATE registry_entries SET next_rotation_at = ? WHERE name = ?",
			time.Now().UTC().Add(time.Duration(days)*24*time.Hour), name).Error)
	}
	require.NoError(t, hub.Store.DB.Exec("UPDATE registry_entries SET created_at = ? WHERE name = ?", time.Now().UTC().Add(-73*time.Hour), "uptime").Error)

	shoot := func(b *tab, name string, full bool) { t.Helper(); b.screenshot(t, dir, name, full) }

	desk := newTab(t, hub.URL, 1280, 800)
	desk.confirmDialogs()
	desk.open("/ui/registry", "#token")
	desk.signIn(baAdminToken)
	// The admin verifies the hook and the sink, so "last verified" reads.
	for _, e := range []string{"outbound/hook", "outbound/audit-sink", "inbound/alertmanager"} {
		desk.open("/ui/registry/"+e, "#h-actions")
		desk.do(chromedp.Click(chromedp.CSS(`form[action$="/verify"] button`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	}
	desk.open("/ui/registry", "tr.registry-row")
	shoot(desk, "registry.png", false)
	desk.open("/ui/registry?show=unowned&show=overdue", "tr.registry-row")
	shoot(desk, "registry-attention.png", false)

	// Rotate alertmanager's token: the reveal-once screen.
	desk.open("/ui/registry/inbound/alertmanager", "#h-actions")
	desk.do(chromedp.Click(chromedp.CSS(`form[action$="/rotate"] button`)), chromedp.WaitVisible(chromedp.ID("secret-value")))
	shoot(desk, "registry-secret.png", false)
	desk.open("/ui/registry/inbound/alertmanager", "#h-audit")
	shoot(desk, "registry-entry.png", false)
	desk.open("/ui/registry/inbound/grafana", "#h-audit")
	shoot(desk, "registry-entry-failing.png", false)

	desk.open("/ui/audit", ".audit")
	shoot(desk, "audit.png", false)

	desk.open("/ui/rules", "#p-payload")
	payload := `{"alerts": [{"fingerprint": "pay-7", "status": "firing", "service": "payments", "alert_type": "card_auth", "severity": "high", "title": "Card authorisations failing", "host": "pay-7", "environment": "prod"}]}`
	desk.do(chromedp.SetValue(chromedp.ID("p-source"), "uptime"), chromedp.SendKeys(chromedp.ID("p-payload"), payload),
		chromedp.Click(chromedp.CSS(`form.playground-form button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("h-result")))
	shoot(desk, "playground.png", true)

	phone := newTab(t, hub.URL, 390, 844)
	phone.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	phone.open("/ui/registry", "#token")
	phone.signIn(baViewerToken)
	phone.open("/ui/registry?show=unowned&show=overdue", "tr.registry-row")
	shoot(phone, "registry-phone.png", false)
	phone.open("/ui/registry/inbound/grafana", "#h-audit")
	shoot(phone, "registry-entry-phone.png", false)
	phone.open("/ui/audit", "table.audit")
	shoot(phone, "audit-phone.png", true)
	phone.open("/ui/rules?source=alertmanager", "#recent-events")
	shoot(phone, "playground-phone.png", false)

	fmt.Fprintln(os.Stderr, "admin screenshots written to", dir)
	desk.requireNoSecrets(hub.Secrets)
	phone.requireNoSecrets(hub.Secrets)
	desk.requireClean()
	phone.requireClean()
}

package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/store"
)

// TestScreenshotsSilences photographs the Silences screen for the README,
// with the same flag as TestScreenshots (one command makes all):
//
//	go test ./web -run TestScreenshots -screenshots docs/screenshots
//
// Silences of every state, one of them holding an incident back.
func TestScreenshotsSilences(t *testing.T) {
	dir := screenshotDir(t)
	hub := startHub(t, store.SQLite)
	post := func(path, body string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, hub.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+bOperatorToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", out)
	}
	soon := time.Now().UTC().Add(3 * time.Hour).Truncate(time.Hour)
	post("/api/v1/silences", `{"matchers": ["service=payments", "alertname=~\"Card.*\""], "duration": "2h",
		"comment": "Card processor maintenance window, CHG-7"}`)
	post("/api/v1/silences", `{"expr": "severity == \"info\" && labels.cluster == \"eu-2\"", "duration": "8h",
		"comment": "eu-2 is being rebuilt; info alerts are noise until it is done"}`)
	post("/api/v1/silences", `{"matchers": ["service=search", "env!=prod"], "starts_at": "`+soon.Format(time.RFC3339)+`",
		"duration": "1h", "comment": "Reindex of the staging search cluster"}`)
	hub.hook(t, "alertmanager", amAlert("firing", "CardDeclines", "payments", "pay-1:9100", "critical",
		"Card declines above 20%", time.Now().UTC()))
	time.Sleep(time.Second) // processed

	shoot := func(b *tab, name string) { t.Helper(); b.screenshot(t, dir, name, false) }
	b := newTab(t, hub.URL, 1280, 800)
	b.open("/ui/sign-in", "#token")
	b.signIn(bOperatorToken)
	b.open("/ui/silences", "tr.silence-row")
	b.waitFor(`document.body.innerText.includes("1 incident")`, 10*time.Second)
	shoot(b, "silences.png")
	b.open("/ui/silences?matcher=service%3Dcheckout&matcher=alertname%3D~5xx.*", "#s-matchers")
	b.do(chromedp.SendKeys(chromedp.ID("s-comment"), "Deploy of checkout 4411"),
		chromedp.Click(chromedp.CSS(`form[action="/ui/silences"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash-ok")))
	b.open("/ui/silences?matcher=service%3Dcheckout&matcher=alertname%3D~5xx(", "#s-matchers")
	b.do(chromedp.SendKeys(chromedp.ID("s-comment"), "typo in the regexp"),
		chromedp.Click(chromedp.CSS(`form[action="/ui/silences"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("silence-problem")))
	shoot(b, "silences-form-error.png")

	phone := newTab(t, hub.URL, 390, 844)
	phone.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	phone.open("/ui/sign-in", "#token")
	phone.signIn(bOperatorToken)
	phone.open("/ui/silences", "tr.silence-row")
	shoot(phone, "silences-phone.png")

	b.forgive("422")
	b.requireNoSecrets(hub.Secrets)
	b.requireClean()
	phone.requireClean()
}

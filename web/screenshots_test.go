package web_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/store"
)

// screenshots is where TestScreenshots writes the README's screenshots;
// a relative path is from the repository root:
//
//	go test ./web -run TestScreenshots -screenshots docs/screenshots
var screenshots = flag.String("screenshots", "", "write PNGs of the main screens to this directory (relative to the repository root) and skip nothing")

// TestScreenshots seeds a demo hub (a day's worth of incidents, posted
// through /hooks and handled by the real engine and vendor fakes), then
// photographs the main screens at 1280×800 and at a phone's 390×844. It
// runs only with -screenshots.
func TestScreenshots(t *testing.T) {
	dir := screenshotDir(t)
	hub := startHub(t, store.SQLite)
	storm, acked := seedDemo(t, hub)

	shoot := func(b *tab, name string) { t.Helper(); b.screenshot(t, dir, name, false) }

	desk := newTab(t, hub.URL, 1280, 800)
	desk.open("/ui/sign-in", "#token")
	shoot(desk, "sign-in.png")
	desk.signIn(bOperatorToken)
	desk.open("/ui/", "tr.incident-row")
	shoot(desk, "incidents.png")
	desk.open(fmt.Sprintf("/ui/incidents/%d", storm), "#h-summary")
	shoot(desk, "incident.png")
	desk.open(fmt.Sprintf("/ui/incidents/%d", acked), "#h-summary")
	shoot(desk, "incident-acknowledged.png")
	// The whole page: the timeline and the deliveries with their attempts.
	desk.do(chromedp.Click(chromedp.CSS("tr.attempts summary")))
	full := get(desk, chromedp.FullScreenshot(100))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "incident-full.png"), full, 0o644))

	phone := newTab(t, hub.URL, 390, 844)
	phone.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	phone.open("/ui/sign-in", "#token")
	phone.signIn(bOperatorToken)
	phone.open("/ui/", "tr.incident-row")
	shoot(phone, "incidents-phone.png")
	phone.open(fmt.Sprintf("/ui/incidents/%d", storm), "#h-summary")
	shoot(phone, "incident-phone.png")

	desk.requireNoSecrets(hub.Secrets)
	desk.requireClean()
	phone.requireClean()
}

// seedDemo posts a plausible on-call day through the hub's webhooks and
// acts on it through the UI, then spreads the incidents' times over the
// last hours (everything really happened in the last seconds) so that ages
// read like a real list. It returns the storm incident and the
// acknowledged one.
func seedDemo(t *testing.T, hub *liveHub) (storm, acked int64) {
	t.Helper()
	now := time.Now().UTC()
	am := func(status, name, service, instance, severity, summary string) {
		hub.hook(t, "alertmanager", amAlert(status, name, service, instance, severity, summary, now))
	}
	check := func(id, status, fp, service, alertType, severity, title, host string, at time.Time) {
		a := map[string]any{"fingerprint": fp, "status": status, "service": service, "alert_type": alertType,
			"severity": severity, "title": title, "host": host, "environment": "prod", "starts_at": at.Format(time.RFC3339)}
		if status == "resolved" {
			a["ends_at"] = at.Format(time.RFC3339)
		}
		hub.hook(t, "checks", map[string]any{"id": id, "alerts": []map[string]any{a}})
	}

	// Resolved earlier in the day.
	check("d1", "firing", "disk-db3", "postgres", "disk_usage", "high", "Disk 90% full on db-3", "db-3", now.Add(-5*time.Hour))
	check("d2", "resolved", "disk-db3", "postgres", "disk_usage", "high", "Disk 90% full on db-3", "db-3", now.Add(-4*time.Hour))
	am("firing", "CertificateExpiry", "edge", "lb-2:9100", "warning", "TLS certificate for shop.example.com expires in 7 days")
	// Still open.
	check("s1", "firing", "es-yellow", "search", "cluster_health", "warning", "Elasticsearch cluster health is yellow", "es-1", now.Add(-3*time.Hour))
	for i, h := range []string{"pay-1", "pay-2", "pay-3"} {
		check(fmt.Sprintf("p%d", i), "firing", "lat-"+h, "payments-api", "latency_p99", "high", "p99 latency above 800 ms on payments-api", h, now.Add(-50*time.Minute))
	}
	// Flapping: fires and resolves again and again.
	for i := range 4 {
		at := now.Add(time.Duration(i*2-30) * time.Minute)
		check(fmt.Sprintf("q%df", i), "firing", "lag-orders", "orders-queue", "consumer_lag", "warning", "Consumer lag above 10k messages on orders", "mq-1", at)
		if i < 3 {
			check(fmt.Sprintf("q%dr", i), "resolved", "lag-orders", "orders-queue", "consumer_lag", "warning", "Consumer lag above 10k messages on orders", "mq-1", at.Add(time.Minute))
		}
	}
	check("c1", "firing", "cdn-5xx", "cdn", "cdn_errors", "info", "CDN 5xx ratio above 0.5% in fra1", "fra1", now.Add(-20*time.Minute))
	// The storm: 24 web nodes at once.
	for i := range 24 {
		am("firing", "HighErrorRate", "checkout", fmt.Sprintf("web-%02d:9100", i+1), "critical", "Checkout error rate above 5%")
	}

	var list struct {
		Incidents []struct {
			ID         int64  `json:"id"`
			AlertCount int64  `json:"alert_count"`
			Service    string `json:"service"`
		} `json:"incidents"`
	}
	require.Eventually(t, func() bool {
		hub.api(t, "/api/v1/incidents?service=checkout", &list)
		return len(list.Incidents) == 1 && list.Incidents[0].AlertCount == 24
	}, 30*time.Second, 100*time.Millisecond)
	storm = list.Incidents[0].ID
	require.Eventually(t, func() bool {
		hub.api(t, "/api/v1/incidents?service=payments-api", &list)
		return len(list.Incidents) == 1 && list.Incidents[0].AlertCount == 3
	}, 30*time.Second, 100*time.Millisecond)
	acked = list.Incidents[0].ID
	settle(t, hub)

	// People act through the UI.
	b := newTab(t, hub.URL, 1280, 800)
	b.open("/ui/sign-in", "#token")
	b.signIn(bOperatorToken)
	b.open(fmt.Sprintf("/ui/incidents/%d", acked), "#note")
	b.do(chromedp.SendKeys(chromedp.ID("note"), "Scaling out payments-api; the card processor is slow too"),
		chromedp.Click(chromedp.CSS(`form[action$="/acknowledge"] button.primary`)), chromedp.WaitVisible(chromedp.CSS(".flash-ok")))
	hub.api(t, "/api/v1/incidents?q=certificate", &list)
	require.Len(t, list.Incidents, 1)
	b.open(fmt.Sprintf("/ui/incidents/%d", list.Incidents[0].ID), "#note")
	eval[bool](b, `window.confirm = () => true; true`) // the resolve form asks first
	b.do(chromedp.SendKeys(chromedp.ID("note"), "Renewed; cert-manager was stuck"),
		chromedp.Click(chromedp.CSS(`button[formaction$="/resolve"]`)), chromedp.WaitVisible(chromedp.CSS(".flash-ok")))
	settle(t, hub)

	// Spread the times: each incident's whole story moves back by its age.
	ages := map[string]time.Duration{"postgres": 5 * time.Hour, "edge": 2 * time.Hour, "search": 3 * time.Hour,
		"payments-api": 47 * time.Minute, "orders-queue": 26 * time.Minute, "cdn": 18 * time.Minute, "checkout": 9 * time.Minute}
	var incs []store.Incident
	require.NoError(t, hub.Store.DB.Find(&incs).Error)
	for _, inc := range incs {
		shiftIncident(t, hub.Store, inc.ID, ages[inc.Service])
	}
	return storm, acked
}

// shiftIncident moves every time of an incident's story d into the past.
// (UpdateColumns, not Save: Save would stamp updated_at with now.)
func shiftIncident(t *testing.T, st *store.Store, id int64, d time.Duration) {
	t.Helper()
	shift := func(table string, where string, args []any, cols ...string) {
		t.Helper()
		var rows []map[string]any
		require.NoError(t, st.DB.Table(table).Where(where, args...).Find(&rows).Error)
		for _, row := range rows {
			set := map[string]any{}
			for _, c := range cols {
				if v, ok := row[c].(time.Time); ok && !v.IsZero() {
					set[c] = v.Add(-d).UTC()
				}
			}
			if len(set) > 0 {
				require.NoError(t, st.DB.Table(table).Where("id = ?", row["id"]).UpdateColumns(set).Error)
			}
		}
	}
	shift("incidents", "id = ?", []any{id}, "opened_at", "last_seen_at", "created_at", "updated_at", "resolved_at",
		"acknowledged_at", "last_flap_at", "joins_notified_at")
	shift("incident_alerts", "incident_id = ?", []any{id}, "first_seen_at", "last_seen_at")
	shift("incident_timeline", "incident_id = ?", []any{id}, "at")
	shift("deliveries", "incident_id = ?", []any{id}, "created_at", "updated_at", "delivered_at", "next_attempt_at")
	shift("delivery_attempts", "delivery_id IN (SELECT id FROM deliveries WHERE incident_id = ?)", []any{id}, "started_at")
}

// settle waits until no delivery is pending or being retried.
func settle(t *testing.T, hub *liveHub) {
	t.Helper()
	var busy struct {
		Deliveries []struct {
			Target, Status, LastError string
		} `json:"deliveries"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		hub.api(t, "/api/v1/deliveries?status=pending", &busy)
		n := len(busy.Deliveries)
		hub.api(t, "/api/v1/deliveries?status=retrying", &busy)
		if n+len(busy.Deliveries) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries never settled: %+v", busy.Deliveries)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// screenshotDir is the -screenshots directory, made if need be (relative
// paths are from the repository root); without the flag the test skips.
func screenshotDir(t *testing.T) string {
	t.Helper()
	if *screenshots == "" {
		t.Skip("run with -screenshots DIR to regenerate docs/screenshots")
	}
	dir := *screenshots
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", dir)
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// screenshot writes the tab's view (or, with full, the whole page) to
// dir/name once the page has settled.
func (b *tab) screenshot(t *testing.T, dir, name string, full bool) {
	t.Helper()
	b.do(chromedp.Sleep(300 * time.Millisecond))
	b.html()
	action := chromedp.CaptureScreenshot()
	if full {
		action = chromedp.FullScreenshot(100)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), get(b, action), 0o644))
	t.Logf("wrote %s", filepath.Join(dir, name))
}

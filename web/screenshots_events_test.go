package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/store"
)

// TestScreenshotsEvents photographs the Events and Deliveries screens for
// the README, with the same flag as TestScreenshots (one command makes
// both):
//
//	go test ./web -run TestScreenshots -screenshots docs/screenshots
//
// The hub is the one of the browser tests of these screens: a check runner
// whose mapping knows no CRIT, and a webhook sink that is down.
func TestScreenshotsEvents(t *testing.T) {
	dir := screenshotDir(t)
	hub := startOpsHub(t, store.SQLite, http.StatusServiceUnavailable)
	hub.check(t, "replication_lag", "db-3", "WARN", "r-101")
	hub.check(t, "disk_usage", "db-1", "CRIT", "r-102")
	hub.check(t, "disk_usage", "db-2", "CRIT", "r-103")
	hub.check(t, "backup_age", "db-1", "WARN", "r-104")
	hub.check(t, "backup_age", "db-1", "WARN", "r-104") // the runner retried: a duplicate
	hub.check(t, "replication_lag", "db-3", "OK", "r-105")
	require.Eventually(t, func() bool { return hub.count(t, "/api/v1/deliveries?status=dead") >= 1 }, 30*time.Second, 100*time.Millisecond)
	time.Sleep(time.Second) // the other deliveries try, and wait behind the open circuit

	shoot := func(b *tab, name string) { t.Helper(); b.screenshot(t, dir, name, false) }
	b := newTab(t, hub.URL, 1280, 800)
	b.open("/ui/sign-in", "#token")
	b.signIn(bOperatorToken)
	b.open("/ui/events", "table.events")
	shoot(b, "events.png")
	b.open("/ui/events?status=unmapped", "tr.event-row")
	b.do(chromedp.Click(chromedp.CSS("tr.event-row:last-child a.event-link")), chromedp.WaitVisible(chromedp.ID("h-state")))
	id := strings.TrimPrefix(b.location(), "/ui/events/")
	shoot(b, "event-unmapped.png")

	hub.writeConfig(t, "checks-v2.yaml", checksMappingV2)
	time.Sleep(time.Second) // the reload
	b.open("/ui/events/"+id, "#h-state")
	b.do(chromedp.Click(chromedp.CSS(`form[action="/ui/events/`+id+`/replay"] button`)), chromedp.WaitVisible(chromedp.CSS(".flash-ok")))
	b.waitFor(`document.querySelectorAll("tr.event-alert a.incident-link").length === 1`, 20*time.Second)
	shoot(b, "event.png")

	b.open("/ui/deliveries", "table.deliveries")
	shoot(b, "deliveries.png")
	b.open("/ui/deliveries?status=dead", "tr.delivery-row")
	b.do(chromedp.Click(chromedp.CSS("tr.delivery-row:last-child a")), chromedp.WaitVisible(chromedp.ID("h-attempts")))
	shoot(b, "delivery.png")

	phone := newTab(t, hub.URL, 390, 844)
	phone.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	phone.open("/ui/sign-in", "#token")
	phone.signIn(bOperatorToken)
	phone.open("/ui/events", "table.events")
	shoot(phone, "events-phone.png")

	b.requireNoSecrets(hub.Secrets)
	b.requireClean()
	phone.requireClean()
}

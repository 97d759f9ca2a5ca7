package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/web"
)

// newSwappableUIHub is newUIHub with a config that the test can replace,
// as a reload does.
func newSwappableUIHub(t *testing.T, dialect, yamlText string) (*uiHub, func(yamlText string)) {
	t.Helper()
	getenv := func(k string) string { return uiEnv[k] }
	parse := func(y string) *config.Config {
		cfg, err := config.Parse("test.yaml", []byte(y), getenv)
		require.NoError(t, err)
		return cfg
	}
	var active atomic.Pointer[config.Config]
	active.Store(parse(yamlText))
	st := storetest.Open(t, dialect)
	h := newHubWithStore(t, st, active.Load(), app.Tokens(active.Load(), getenv))
	h.handler = web.New(web.Deps{Store: st, Config: active.Load, Tokens: app.Tokens(active.Load(), getenv), Log: h.log,
		Accepted: func() { h.accepted.Add(1) }})
	u := &uiHub{hub: h, cfg: active.Load(), router: processor.DefaultRouter(nil)}
	u.srv = httptest.NewServer(h.handler)
	t.Cleanup(u.srv.Close)
	return u, func(y string) { active.Store(parse(y)) }
}

// process runs the processor until no event is pending.
func (u *uiHub) process(t *testing.T) {
	t.Helper()
	p := processor.New(u.st, u.log, 1, time.Second)
	for range 200 {
		did, err := p.ProcessOne(context.Background())
		require.NoError(t, err)
		if !did {
			return
		}
	}
	t.Fatal("the processor never ran out of events")
}

// An Alertmanager payload. Posted to a source of kind generic it does not
// map (no status at its root); once the source is of kind alertmanager it
// does.
const amPayload = `{"version": "4", "status": "firing", "receiver": "hub", "groupLabels": {"alertname": "DiskFull"},
 "alerts": [{"status": "firing", "fingerprint": "d1sk0001", "startsAt": "2026-03-01T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
  "labels": {"alertname": "DiskFull", "service": "billing", "instance": "db-7", "severity": "critical"},
  "annotations": {"summary": "Disk full on db-7 <script>alert(1)</script>"}}]}`

const uiEventsConfig = `
api:
  tokens:
    - {name: dashboard, token: "${VIEWER_TOKEN}", role: viewer}
    - {name: alice, token: "${OPERATOR_TOKEN}", role: operator}
sources:
  - name: gen
    kind: generic
    auth: {type: none}
  - name: prom
    kind: %s
    auth: {type: token, token: "${SOURCE_TOKEN}"}
`

var uiCSRFField = regexp.MustCompile(`action="([^"]+)"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"`)

// formCSRF returns the CSRF token of the page's form that posts to action.
func formCSRF(t *testing.T, p page, action string) string {
	t.Helper()
	for _, m := range uiCSRFField.FindAllStringSubmatch(p.Body, -1) {
		if m[1] == action {
			return m[2]
		}
	}
	t.Fatalf("no form posts to %s: %s", action, p.Body)
	return ""
}

// TestUIEvents: the Events screen lists what arrived, by source and
// status; an unmapped event shows why, its raw request (escaped, pretty)
// and, for an operator only, Replay; after the source is pointed at the
// right kind, Replay maps it and its alert lands in an incident.
func TestUIEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		u, reload := newSwappableUIHub(t, dialect, fmt.Sprintf(uiEventsConfig, "generic"))
		auth := []string{"Authorization", "Bearer " + uiSourceToken}
		good := []byte(`{"id": "g-1", "status": "firing", "service": "web", "alert_type": "http_5xx", "title": "5xx above 2%", "host": "web-1"}`)
		goodID, _ := requireAccepted(t, u.post("gen", good))
		badID, _ := requireAccepted(t, u.post("prom", []byte(amPayload), append(auth, "X-Grafana-Org", "7")...))
		bad2ID, _ := requireAccepted(t, u.post("prom", []byte(strings.Replace(amPayload, "d1sk0001", "d1sk0002", 1)), auth...))
		_, dup := requireAccepted(t, u.post("gen", good))
		require.True(t, dup)
		u.process(t)

		viewer := u.browser(t)
		require.Equal(t, http.StatusSeeOther, viewer.signIn(uiViewerToken, "").StatusCode)
		list := viewer.get("/ui/events")
		require.Equal(t, http.StatusOK, list.StatusCode, list.Body)
		require.Contains(t, list.Body, `aria-current="page">Events</a>`, "the header marks the screen")
		for _, id := range []string{goodID, badID, bad2ID} {
			require.Contains(t, list.Body, `data-event="`+id+`"`)
		}
		require.Contains(t, list.Body, "Needs attention")
		require.Contains(t, list.Body, "<strong>prom</strong>: 2 unmapped events")
		require.Contains(t, list.Body, "repeated 1 time")
		require.Regexp(t, `Unmapped <span class="count" data-count="unmapped">2</span>`, list.Body)
		require.NotContains(t, list.Body, "/replay", "a viewer sees no Replay")

		unmapped := viewer.get("/ui/events?status=unmapped&source=prom")
		require.Equal(t, http.StatusOK, unmapped.StatusCode)
		require.Contains(t, unmapped.Body, `data-event="`+badID+`"`)
		require.NotContains(t, unmapped.Body, `data-event="`+goodID+`"`)
		none := viewer.get("/ui/events?status=failed&source=gen")
		require.Contains(t, none.Body, "No failed events from gen.")
		page1 := viewer.get("/ui/events?limit=1")
		require.Contains(t, page1.Body, `rel="next"`)
		bad := viewer.get("/ui/events?status=lost")
		require.Equal(t, http.StatusBadRequest, bad.StatusCode)
		require.Contains(t, bad.Body, "status must be processed, pending, unmapped, failed, duplicate")

		detail := viewer.get("/ui/events/" + badID)
		require.Equal(t, http.StatusOK, detail.StatusCode, detail.Body)
		require.Contains(t, detail.Body, "Why it did not map")
		require.Contains(t, detail.Body, "required field &#34;alert_type&#34; is missing", "the mapping error, with the field")
		require.Contains(t, detail.Body, "X-Grafana-Org")
		require.Contains(t, detail.Body, "&lt;redacted&gt;", "the source token's header is shown redacted")
		require.Contains(t, detail.Body, "\n  &#34;version&#34;: &#34;4&#34;,", "the body is indented")
		require.Contains(t, detail.Body, "&lt;script&gt;alert(1)&lt;/script&gt;", "and escaped")
		require.NotContains(t, detail.Body, "<script>alert(1)")
		require.NotContains(t, detail.Body, "/replay")
		require.Contains(t, viewer.get("/ui/events/"+goodID).Body, "1 duplicate")

		// An operator replays while the mapping is still wrong: it stays
		// unmapped. Without the CSRF token nothing happens.
		op := u.browser(t)
		require.Equal(t, http.StatusSeeOther, op.signIn(uiOperatorToken, "").StatusCode)
		opDetail := op.get("/ui/events/" + badID)
		require.Contains(t, opDetail.Body, ">Replay</button>")
		require.Contains(t, opDetail.Body, ">Replay all unmapped of prom</button>")
		refused := op.post("/ui/events/"+badID+"/replay", url.Values{})
		require.Equal(t, http.StatusForbidden, refused.StatusCode)
		viewerTry := viewer.post("/ui/events/"+badID+"/replay", url.Values{"csrf": {detail.csrf(t)}})
		require.Equal(t, http.StatusForbidden, viewerTry.StatusCode, "a viewer cannot replay")
		ev, err := u.st.GetEvent(context.Background(), badID)
		require.NoError(t, err)
		require.Equal(t, store.EventUnmapped, ev.Status, "no refused request changed anything")

		// The source is fixed (its kind), then every unmapped event of it
		// is replayed at once.
		reload(fmt.Sprintf(uiEventsConfig, "alertmanager"))
		opList := op.get("/ui/events")
		done := op.post("/ui/sources/prom/replay", url.Values{"csrf": {formCSRF(t, opList, "/ui/sources/prom/replay")}, "status": {"unmapped"}})
		require.Equal(t, http.StatusSeeOther, done.StatusCode, done.Body)
		require.Equal(t, "/ui/events?source=prom", done.Header.Get("Location"))
		after := op.get(done.Header.Get("Location"))
		require.Contains(t, after.Body, "2 unmapped events of prom queued again with kind alertmanager.")
		require.Contains(t, after.Body, `ev-pending">pending`)
		pending := op.get("/ui/events/" + badID)
		require.Contains(t, pending.Body, `hx-get="/ui/events/`+badID+`/live"`, "a pending event refreshes itself")
		u.process(t)
		live := op.get("/ui/events/" + badID + "/live")
		require.Equal(t, http.StatusOK, live.StatusCode)
		require.Contains(t, live.Body, `ev-processed">processed`)
		require.NotContains(t, live.Body, "hx-get", "and stops once processed")

		processed := op.get("/ui/events/" + badID)
		require.Contains(t, processed.Body, "Disk full on db-7 &lt;script&gt;")
		require.Contains(t, processed.Body, `class="incident-link" href="/ui/incidents/`)
		require.Contains(t, processed.Body, ">Replay again</button>", "a processed event replays only on purpose")
		require.NotContains(t, processed.Body, "Why it did not map")
		list2, _, err := u.st.ListIncidents(context.Background(), store.IncidentFilter{Service: "billing", Limit: 10})
		require.NoError(t, err)
		require.Len(t, list2, 1, "both alerts (two fingerprints, one service and alert type) in one incident")
		require.Equal(t, 2, list2[0].AlertCount)

		// Replaying one event by hand, forced, puts it back to pending.
		again := op.post("/ui/events/"+goodID+"/replay", url.Values{"csrf": {formCSRF(t, op.get("/ui/events/"+goodID), "/ui/events/"+goodID+"/replay")}, "force": {"true"}})
		require.Equal(t, http.StatusSeeOther, again.StatusCode)
		require.Contains(t, op.get(again.Header.Get("Location")).Body, "Event queued again")
		ev, err = u.st.GetEvent(context.Background(), goodID)
		require.NoError(t, err)
		require.Equal(t, store.EventPending, ev.Status)
		// A pending one cannot be replayed: the reason comes back.
		conflict := op.post("/ui/events/"+goodID+"/replay", url.Values{"csrf": {formCSRF(t, opDetail, "/ui/events/"+badID+"/replay")}})
		require.Equal(t, http.StatusSeeOther, conflict.StatusCode)
		require.Contains(t, op.get(conflict.Header.Get("Location")).Body, "is pending already")

		require.Equal(t, http.StatusNotFound, op.get("/ui/events/nope").StatusCode)
		viewer.requireNoSecrets(uiSecrets...)
		op.requireNoSecrets(uiSecrets...)
	})
}

// TestUIDeliveries: targets with what they have not delivered, the
// deliveries by target and status, one delivery's attempt log; Retry for
// operators only. (The browser test retries through a running engine.)
func TestUIDeliveries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		u := newUIHub(t, dialect)
		u.alerts(t, alert("web-1", "checkout", "http_5xx", "critical", "Checkout 5xx rate above 5%"))
		now := time.Now().UTC()
		dead := store.Delivery{IncidentID: 1, Target: "ops-hook", TargetType: "webhook", Event: incidenthub.EventOpened,
			MessageID: "msg-dead-1", Status: incidenthub.DeliveryDead, Attempts: 2, LastError: "HTTP 422: unknown tenant",
			LastStatusCode: 422, WindowStart: now, CreatedAt: now, UpdatedAt: now}
		require.NoError(t, u.st.DB.Create(&dead).Error)
		require.NoError(t, u.st.DB.Create(&store.DeliveryAttempt{DeliveryID: dead.ID, Attempt: 2, StartedAt: now,
			Method: http.MethodPost, URL: "https://hooks.example.org/incidents",
			RequestHeaders: store.JSON[map[string][]string]{V: map[string][]string{"Webhook-Signature": {"<redacted>"}, "X-Api-Key": {"<redacted>"}}},
			RequestBody:    `{"type":"incident.opened","incident":{"id":1}}`, ResponseStatus: 422,
			ResponseHeaders: store.JSON[map[string][]string]{V: map[string][]string{"Content-Type": {"application/json"}}},
			ResponseBody:    `{"error":"unknown tenant"}`, LatencyMS: 37, Error: "HTTP 422: unknown tenant", Outcome: "dead"}).Error)
		ok := dead
		ok.ID, ok.MessageID, ok.Status, ok.Attempts, ok.LastError, ok.LastStatusCode, ok.Target, ok.TargetType = 0, "msg-ok", incidenthub.DeliveryDelivered, 1, "", 0, "chat", "slack"
		ok.DeliveredAt = &now
		require.NoError(t, u.st.DB.Create(&ok).Error)

		viewer := u.browser(t)
		require.Equal(t, http.StatusSeeOther, viewer.signIn(uiViewerToken, "").StatusCode)
		p := viewer.get("/ui/deliveries")
		require.Equal(t, http.StatusOK, p.StatusCode, p.Body)
		require.Contains(t, p.Body, `data-target="ops-hook"`)
		require.Contains(t, p.Body, `data-target="chat"`)
		require.Contains(t, p.Body, `ds-dead">1 dead`)
		require.Contains(t, p.Body, "circuit unknown", "no engine runs in this test hub")
		require.Contains(t, p.Body, fmt.Sprintf(`data-delivery="%d"`, dead.ID))
		require.Contains(t, p.Body, fmt.Sprintf(`data-delivery="%d"`, ok.ID))
		require.NotContains(t, p.Body, "/retry", "a viewer sees no Retry")
		deadOnly := viewer.get("/ui/deliveries?status=dead&target=ops-hook")
		require.Contains(t, deadOnly.Body, fmt.Sprintf(`data-delivery="%d"`, dead.ID))
		require.NotContains(t, deadOnly.Body, fmt.Sprintf(`data-delivery="%d"`, ok.ID))
		require.Contains(t, deadOnly.Body, `<option value="ops-hook" selected>`, "the target filter shows its choice")
		require.Contains(t, deadOnly.Body, `aria-current="page">Dead`, "the tab in force is marked")
		require.Contains(t, viewer.get("/ui/deliveries?status=retrying").Body, "No retrying deliveries.")
		require.Equal(t, http.StatusBadRequest, viewer.get("/ui/deliveries?status=lost").StatusCode)

		d := viewer.get(fmt.Sprintf("/ui/deliveries/%d", dead.ID))
		require.Equal(t, http.StatusOK, d.StatusCode, d.Body)
		require.Contains(t, d.Body, "POST https://hooks.example.org/incidents")
		require.Contains(t, d.Body, "Webhook-Signature")
		require.Contains(t, d.Body, "&lt;redacted&gt;")
		require.Contains(t, d.Body, "HTTP 422")
		require.Contains(t, d.Body, "37 ms")
		require.Contains(t, d.Body, "&#34;error&#34;: &#34;unknown tenant&#34;", "the response body, indented")
		require.Contains(t, d.Body, "msg-dead-1")
		require.NotContains(t, d.Body, "/retry")

		op := u.browser(t)
		require.Equal(t, http.StatusSeeOther, op.signIn(uiOperatorToken, "").StatusCode)
		opList := op.get("/ui/deliveries")
		require.Contains(t, opList.Body, ">Retry all dead to ops-hook</button>")
		require.NotContains(t, opList.Body, ">Retry all dead to chat</button>", "chat has nothing dead")
		opD := op.get(fmt.Sprintf("/ui/deliveries/%d", dead.ID))
		require.Contains(t, opD.Body, ">Retry now</button>")
		require.NotContains(t, op.get(fmt.Sprintf("/ui/deliveries/%d", ok.ID)).Body, ">Retry now</button>", "a delivered one has nothing to retry")
		// Without an engine the retry is refused with the reason.
		r := op.post(fmt.Sprintf("/ui/deliveries/%d/retry", dead.ID), url.Values{"csrf": {opD.csrf(t)}})
		require.Equal(t, http.StatusSeeOther, r.StatusCode)
		require.Contains(t, op.get(r.Header.Get("Location")).Body, "Could not retry: outbound delivery is not running")
		require.Equal(t, http.StatusForbidden, op.post("/ui/targets/ops-hook/deliveries/retry", url.Values{}).StatusCode)

		viewer.requireNoSecrets(uiSecrets...)
		op.requireNoSecrets(uiSecrets...)
	})
}

// TestUIEventManyAlerts: an event that fanned out into many alerts shows
// the first 100 (each looked up for its incident) and says so.
func TestUIEventManyAlerts(t *testing.T) {
	u, _ := newSwappableUIHub(t, store.SQLite, fmt.Sprintf(uiEventsConfig, "generic"))
	alerts := make([]string, 120)
	for i := range alerts {
		alerts[i] = fmt.Sprintf(`{"status": "firing", "service": "web", "alert_type": "http_5xx", "title": "5xx on web-%03d", "host": "web-%03d"}`, i, i)
	}
	id, _ := requireAccepted(t, u.post("gen", []byte(`{"id": "fan-1", "alerts": [`+strings.Join(alerts, ",")+`]}`)))
	u.process(t)
	b := u.browser(t)
	require.Equal(t, http.StatusSeeOther, b.signIn(uiViewerToken, "").StatusCode)
	p := b.get("/ui/events/" + id)
	require.Equal(t, http.StatusOK, p.StatusCode, p.Body)
	require.Contains(t, p.Body, `Normalized alerts <span class="count">120</span>`)
	require.Equal(t, 100, strings.Count(p.Body, `<tr class="event-alert">`))
	require.Equal(t, 100, strings.Count(p.Body, `class="incident-link"`), "each shown alert links its incident")
	require.Contains(t, p.Body, "Showing the first 100 of 120 alerts")
}

// TestUIEventWarnings: an alert whose start cannot be read is still
// mapped (starting when received), and the event's page says what was
// worked around: the field, where it was, and what the source sent.
func TestUIEventWarnings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		u, _ := newSwappableUIHub(t, dialect, fmt.Sprintf(uiEventsConfig, "generic"))
		body := []byte(`{"id": "w-1", "status": "firing", "service": "postgres", "alert_type": "backup_failed", "host": "db-2", "starts_at": "yesterday 02:15"}`)
		id, _ := requireAccepted(t, u.post("gen", body))
		clean, _ := requireAccepted(t, u.post("gen", []byte(`{"id": "w-2", "status": "firing", "service": "postgres", "alert_type": "backup_failed", "host": "db-3", "starts_at": "2026-03-01T02:15:00Z"}`)))
		u.process(t)

		viewer := u.browser(t)
		require.Equal(t, http.StatusSeeOther, viewer.signIn(uiViewerToken, "").StatusCode)
		p := viewer.get("/ui/events/" + id)
		require.Equal(t, http.StatusOK, p.StatusCode, p.Body)
		require.Contains(t, p.Body, `ev-processed">processed`, "mapped anyway")
		require.Contains(t, p.Body, "Normalization warnings")
		require.Regexp(t, `<strong>starts_at</strong> at <code>starts_at</code>: invalid timestamp &#34;yesterday 02:15&#34;[^<]*<span class="muted">\(got <code>yesterday 02:15</code>\)`, p.Body)
		require.Contains(t, p.Body, "backup_failed", "and its alert is listed")

		other := viewer.get("/ui/events/" + clean)
		require.Equal(t, http.StatusOK, other.StatusCode)
		require.NotContains(t, other.Body, "Normalization warnings", "an event without problems shows none")
	})
}

package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/web"
)

const incidentOperatorToken = "apitok-operator-41f7aa02"

const actionsConfig = `
api:
  tokens:
    - {name: dashboard, token: "${VIEWER_TOKEN}", role: viewer}
    - {name: alice, token: "${OPERATOR_TOKEN}", role: operator}
sources:
  - name: gen
    kind: generic
    auth: {type: none}
`

// changeLog records the changes handed to the delivery side.
type changeLog struct {
	mu      sync.Mutex
	changes []correlation.Change
}

func (l *changeLog) IncidentChanged(_ *gorm.DB, ch correlation.Change) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changes = append(l.changes, ch)
	return nil
}

func (l *changeLog) take() []correlation.Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.changes
	l.changes = nil
	return out
}

func newActionHub(t *testing.T, dialect string) (*hub, *changeLog) {
	t.Helper()
	env := map[string]string{"VIEWER_TOKEN": viewerToken, "OPERATOR_TOKEN": incidentOperatorToken}
	h := newHub(t, dialect, actionsConfig, env)
	cfg, err := config.Parse("test.yaml", []byte(actionsConfig), func(k string) string { return env[k] })
	require.NoError(t, err)
	log := &changeLog{}
	h.handler = web.New(web.Deps{
		Store:    h.st,
		Config:   func() *config.Config { return cfg },
		Tokens:   app.Tokens(cfg, func(k string) string { return env[k] }),
		Notifier: log,
		Log:      h.log,
	})
	return h, log
}

func (h *hub) postJSON(target, token, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader([]byte(body)))
	r.RemoteAddr = "192.0.2.1:40000"
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return h.do(r)
}

type genericAlert struct {
	Fingerprint string `json:"fingerprint"`
	Status      string `json:"status"`
	Service     string `json:"service"`
	AlertType   string `json:"alert_type"`
	Severity    string `json:"severity,omitempty"`
	StartsAt    string `json:"starts_at"`
	EndsAt      string `json:"ends_at,omitempty"`
}

var tBase = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func firingAlert(fp, service, alertType string) genericAlert {
	return genericAlert{Fingerprint: fp, Status: "firing", Service: service, AlertType: alertType, StartsAt: tBase.Format(time.RFC3339)}
}

func resolvedAlert(fp, service, alertType string) genericAlert {
	a := firingAlert(fp, service, alertType)
	a.Status, a.EndsAt = "resolved", tBase.Add(time.Minute).Format(time.RFC3339)
	return a
}

func (h *hub) sendAlerts(t *testing.T, alerts ...genericAlert) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"alerts": alerts})
	require.NoError(t, err)
	requireAccepted(t, h.post("gen", body))
	h.drain()
}

func (h *hub) incidentByKey(t *testing.T, key string) incidenthub.Incident {
	t.Helper()
	rec := h.get("/api/v1/incidents?key="+key, viewerToken)
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
	var unresolved []incidenthub.Incident
	for _, inc := range decode[incidentList](t, rec).Incidents {
		if inc.Status != incidenthub.IncidentResolved {
			unresolved = append(unresolved, inc)
		}
	}
	require.Len(t, unresolved, 1, "unresolved incidents for %s", key)
	return unresolved[0]
}

type timelineView struct {
	Timeline   []incidenthub.TimelineEntry `json:"timeline"`
	NextCursor *string                     `json:"next_cursor"`
}

func TestIncidentActions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h, notes := newActionHub(t, dialect)
		h.sendAlerts(t, firingAlert("f1", "checkout", "latency"), firingAlert("f2", "checkout", "latency"),
			firingAlert("f3", "db", "conn"))
		a := h.incidentByKey(t, "checkout/latency")
		b := h.incidentByKey(t, "db/conn")
		require.Equal(t, 2, a.AlertCount)
		notes.take()
		path := func(id int64, action string) string { return fmt.Sprintf("/api/v1/incidents/%d/%s", id, action) }

		t.Run("roles", func(t *testing.T) {
			requireError(t, h.postJSON(path(a.ID, "acknowledge"), "", ""), 401, "unauthorized")
			requireError(t, h.postJSON(path(a.ID, "acknowledge"), viewerToken, ""), 403, "forbidden", "operator")
			require.Empty(t, notes.take())
		})

		t.Run("acknowledge", func(t *testing.T) {
			rec := h.postJSON(path(a.ID, "acknowledge"), incidentOperatorToken, `{"note": "looking"}`)
			require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
			got := decode[incidentView](t, rec).Incident
			require.Equal(t, incidenthub.IncidentAcknowledged, got.Status)
			require.Equal(t, "alice", got.AcknowledgedBy)
			require.NotNil(t, got.AcknowledgedAt)
			requireError(t, h.postJSON(path(a.ID, "acknowledge"), incidentOperatorToken, ""), 409, "conflict", "already acknowledged", "alice")
			ch := notes.take()
			require.Len(t, ch, 1)
			require.Equal(t, correlation.Acknowledged, ch[0].Outcome)
			require.Equal(t, "alice", ch[0].Actor)
			require.True(t, ch[0].Notify)

			// The action is in the audit trail, once (the 409 wrote nothing).
			entries, _, err := audit.List(context.Background(), h.st.DB, audit.Filter{Action: "incident.acknowledge"})
			require.NoError(t, err)
			require.Len(t, entries, 1)
			require.Equal(t, "alice", entries[0].Actor)
			require.Equal(t, strconv.FormatInt(a.ID, 10), entries[0].Entity)

			// A new alert joining keeps it acknowledged.
			h.sendAlerts(t, firingAlert("f5", "checkout", "latency"))
			require.Equal(t, incidenthub.IncidentAcknowledged, h.incidentByKey(t, "checkout/latency").Status)
		})

		t.Run("bad requests", func(t *testing.T) {
			requireError(t, h.postJSON("/api/v1/incidents/abc/acknowledge", incidentOperatorToken, ""), 400, "invalid", "positive integer")
			requireError(t, h.postJSON("/api/v1/incidents/99999/acknowledge", incidentOperatorToken, ""), 404, "not_found", "99999")
			requireError(t, h.postJSON(path(a.ID, "resolve"), incidentOperatorToken, `{"nope": 1}`), 400, "invalid", `unknown field "nope"`)
			requireError(t, h.postJSON(path(a.ID, "resolve"), incidentOperatorToken, `[1]`), 400, "invalid", "JSON object")
			requireError(t, h.postJSON(path(a.ID, "resolve"), incidentOperatorToken, `{"note": 5}`), 400, "invalid", `"note"`)
			requireError(t, h.postJSON(path(a.ID, "merge"), incidentOperatorToken, `{}`), 400, "invalid", `"from" is required`)
			requireError(t, h.postJSON(path(a.ID, "merge"), incidentOperatorToken, fmt.Sprintf(`{"from": %d}`, a.ID)), 400, "invalid", "into itself")
			requireError(t, h.postJSON(path(a.ID, "merge"), incidentOperatorToken, `{"from": 99999}`), 404, "not_found", "99999")
			requireError(t, h.postJSON(path(a.ID, "split"), incidentOperatorToken, `{}`), 400, "invalid", `"fingerprint" is required`)
			requireError(t, h.postJSON(path(a.ID, "split"), incidentOperatorToken, `{"fingerprint": "zz"}`), 404, "not_found", `"zz"`)
			requireError(t, h.postJSON(path(b.ID, "split"), incidentOperatorToken, `{"fingerprint": "f3"}`), 409, "conflict", "only alert")
			requireError(t, h.postJSON(path(a.ID, "reopen"), incidentOperatorToken, ""), 409, "conflict", "not resolved")
			requireError(t, h.get(path(a.ID, "acknowledge"), incidentOperatorToken), 405, "method_not_allowed")
			requireError(t, h.get("/api/v1/incidents/99999/timeline", viewerToken), 404, "not_found")
			requireError(t, h.get(path(a.ID, "timeline")+"?limit=0", viewerToken), 400, "invalid", "limit")
			requireError(t, h.get(path(a.ID, "timeline")+"?cursor=x", viewerToken), 400, "invalid", "cursor")
			require.Empty(t, notes.take(), "failed actions notify nobody")
		})

		t.Run("merge", func(t *testing.T) {
			rec := h.postJSON(path(a.ID, "merge"), incidentOperatorToken, fmt.Sprintf(`{"from": %d, "note": "same outage"}`, b.ID))
			require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
			got := decode[incidentView](t, rec)
			require.Equal(t, a.ID, got.Incident.ID)
			require.Equal(t, 4, got.Incident.AlertCount)
			require.Len(t, got.Alerts, 4)
			merged := decode[incidentView](t, h.get(fmt.Sprintf("/api/v1/incidents/%d", b.ID), viewerToken)).Incident
			require.Equal(t, incidenthub.IncidentResolved, merged.Status)
			require.Equal(t, a.ID, *merged.MergedInto)
			ch := notes.take()
			require.Len(t, ch, 2)
			require.Equal(t, correlation.Merged, ch[0].Outcome)
			require.Equal(t, b.ID, ch[0].Related)
			require.Equal(t, correlation.Resolved, ch[1].Outcome)
			require.Equal(t, b.ID, ch[1].IncidentID)

			// The merged key now routes to the surviving incident.
			h.sendAlerts(t, firingAlert("f4", "db", "conn"))
			require.Equal(t, 5, h.incidentByKey(t, "checkout/latency").AlertCount)
			requireError(t, h.postJSON(path(a.ID, "merge"), incidentOperatorToken, fmt.Sprintf(`{"from": %d}`, b.ID)), 409, "conflict", "resolved")
			requireError(t, h.postJSON(path(b.ID, "reopen"), incidentOperatorToken, ""), 409, "conflict", "merged into")
		})

		t.Run("split", func(t *testing.T) {
			rec := h.postJSON(path(a.ID, "split"), incidentOperatorToken, `{"fingerprint": "f2"}`)
			require.Equal(t, http.StatusCreated, rec.Code, "body: %s", rec.Body)
			split := decode[incidentView](t, rec)
			require.NotEqual(t, a.ID, split.Incident.ID)
			require.Equal(t, "checkout/latency#gen/f2", split.Incident.CorrelationKey)
			require.Len(t, split.Alerts, 1)
			require.Equal(t, "f2", split.Alerts[0].Fingerprint)
			require.Equal(t, 4, h.incidentByKey(t, "checkout/latency").AlertCount)
			ch := notes.take()
			require.Len(t, ch, 2)
			require.Equal(t, correlation.Opened, ch[0].Outcome)
			require.Equal(t, correlation.Split, ch[1].Outcome)

			// The split alert's later events follow it.
			h.sendAlerts(t, resolvedAlert("f2", "checkout", "latency"))
			got := decode[incidentView](t, h.get(fmt.Sprintf("/api/v1/incidents/%d", split.Incident.ID), viewerToken)).Incident
			require.Equal(t, incidenthub.IncidentResolved, got.Status)
			require.Equal(t, incidenthub.IncidentAcknowledged, h.incidentByKey(t, "checkout/latency").Status)
		})

		t.Run("resolve and reopen", func(t *testing.T) {
			rec := h.postJSON(path(a.ID, "resolve"), incidentOperatorToken, `{"note": "fixed by rollback"}`)
			require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
			got := decode[incidentView](t, rec).Incident
			require.Equal(t, incidenthub.IncidentResolved, got.Status)
			require.Equal(t, "alice", got.ResolvedBy)
			requireError(t, h.postJSON(path(a.ID, "resolve"), incidentOperatorToken, ""), 409, "conflict", "already resolved")
			// Its alerts are still firing at the source: a re-send is a
			// duplicate and does not undo a person's resolve.
			h.sendAlerts(t, firingAlert("f1", "checkout", "latency"))
			rec = h.get(fmt.Sprintf("/api/v1/incidents/%d", a.ID), viewerToken)
			require.Equal(t, incidenthub.IncidentResolved, decode[incidentView](t, rec).Incident.Status)

			rec = h.postJSON(path(a.ID, "reopen"), incidentOperatorToken, "")
			require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
			got = decode[incidentView](t, rec).Incident
			require.Equal(t, incidenthub.IncidentOpen, got.Status)
			require.Nil(t, got.ResolvedAt)
			require.Empty(t, got.AcknowledgedBy, "a reopened incident needs a new acknowledgement")
			ch := notes.take()
			require.Len(t, ch, 2)
			require.Equal(t, correlation.Resolved, ch[0].Outcome)
			require.Equal(t, correlation.Reopened, ch[1].Outcome)
			require.Equal(t, "alice", ch[1].Actor)
		})

		t.Run("timeline", func(t *testing.T) {
			rec := h.get(path(a.ID, "timeline"), viewerToken)
			require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
			tl := decode[timelineView](t, rec)
			require.Nil(t, tl.NextCursor)
			var got []string
			for i, e := range tl.Timeline {
				got = append(got, e.Kind)
				require.Equal(t, a.ID, e.IncidentID)
				if i > 0 {
					require.False(t, e.At.Before(tl.Timeline[i-1].At), "in order")
				}
			}
			require.Equal(t, []string{"opened", "alert_joined", "acknowledged", "alert_joined", "merged",
				"alert_joined", "split", "resolved", "reopened"}, got)
			ack := tl.Timeline[2]
			require.Equal(t, "alice", ack.Actor)
			require.Equal(t, "looking", ack.Reason)
			require.Contains(t, tl.Timeline[4].Reason, fmt.Sprintf("incident %d", b.ID))
			require.Contains(t, tl.Timeline[4].Reason, "same outage")
			require.Contains(t, tl.Timeline[7].Reason, "fixed by rollback")
			require.NotEmpty(t, tl.Timeline[0].EventID)
			require.Equal(t, "f1", tl.Timeline[0].Fingerprint)

			// Pages cover the whole timeline once, in order.
			var paged []int64
			q := "?limit=4"
			for range 10 {
				page := decode[timelineView](t, h.get(path(a.ID, "timeline")+q, viewerToken))
				for _, e := range page.Timeline {
					paged = append(paged, e.ID)
				}
				if page.NextCursor == nil {
					break
				}
				q = "?limit=4&cursor=" + *page.NextCursor
			}
			require.Len(t, paged, len(tl.Timeline))
			for i, e := range tl.Timeline {
				require.Equal(t, e.ID, paged[i])
			}
			bt := decode[timelineView](t, h.get(path(b.ID, "timeline"), viewerToken)).Timeline
			require.Equal(t, "merged_into", bt[len(bt)-1].Kind)
			require.True(t, strings.HasPrefix(bt[len(bt)-1].Reason, fmt.Sprintf("merged into incident %d by alice", a.ID)))
		})
	})
}

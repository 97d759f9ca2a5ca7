package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/retention"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// TestAPIEventBodyPurged: once retention blanked an event's body, the API
// says so (body null, headers empty, body_purged_at) rather than failing
// or showing an empty body as if it had been sent, and a replay is refused
// with the reason.
func TestAPIEventBodyPurged(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		env := map[string]string{app.EnvAPIToken: adminToken}
		for k, v := range testEnv {
			env[k] = v
		}
		h := newHub(t, dialect, baseConfig, env)
		purged, _ := requireAccepted(t, h.post("gen", []byte(`{"no": "alerts"}`)))
		h.drain()
		kept, _ := requireAccepted(t, h.post("gen", []byte(`{"also": "unmapped"}`)))
		h.drain()
		// Retention as it runs 31 days later, with purged 31 days old and
		// kept made just inside the window.
		later := time.Now().UTC().Add(31 * 24 * time.Hour)
		require.NoError(t, h.st.DB.Model(&store.Event{}).Where("id = ?", kept).
			Update("received_at", later.Add(-30*24*time.Hour+time.Minute)).Error)
		r, err := retention.New(h.st, "", func() retention.Policy {
			return retention.Policy{EventBodies: 30 * 24 * time.Hour, BatchSize: 10}
		}, nil)
		require.NoError(t, err)
		r.Now = func() time.Time { return later }
		res, err := r.RunOnce(context.Background())
		require.NoError(t, err)
		require.Equal(t, int64(1), res.EventBodies)

		type view struct {
			Event struct {
				Status       string            `json:"status"`
				Body         any               `json:"body"`
				Headers      map[string]string `json:"headers"`
				BodyPurgedAt *time.Time        `json:"body_purged_at"`
			} `json:"event"`
		}
		rec := h.get("/api/v1/events/"+purged, viewerToken)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		got := decode[view](t, rec)
		require.Equal(t, store.EventUnmapped, got.Event.Status)
		require.Nil(t, got.Event.Body)
		require.Empty(t, got.Event.Headers)
		require.NotNil(t, got.Event.BodyPurgedAt)
		require.WithinDuration(t, later, *got.Event.BodyPurgedAt, time.Second)

		rec = h.get("/api/v1/events/"+kept, viewerToken)
		require.Equal(t, http.StatusOK, rec.Code)
		got = decode[view](t, rec)
		require.Equal(t, map[string]any{"also": "unmapped"}, got.Event.Body)
		require.Nil(t, got.Event.BodyPurgedAt)
		require.NotContains(t, rec.Body.String(), "body_purged_at")

		req := httptest.NewRequest(http.MethodPost, "/api/v1/events/"+purged+"/replay", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		requireError(t, h.do(req), http.StatusConflict, "conflict", "purged by retention")
	})
}

// purgeLater runs retention as it would run 31 days from now, with 30-day
// windows for event and attempt bodies.
func purgeLater(t *testing.T, st *store.Store) retention.Result {
	t.Helper()
	r, err := retention.New(st, "", func() retention.Policy {
		return retention.Policy{EventBodies: 30 * 24 * time.Hour, AttemptBodies: 30 * 24 * time.Hour, BatchSize: 10}
	}, nil)
	require.NoError(t, err)
	r.Now = func() time.Time { return time.Now().UTC().Add(31 * 24 * time.Hour) }
	res, err := r.RunOnce(context.Background())
	require.NoError(t, err)
	return res
}

// TestUIBodyPurged: the event and delivery pages say retention purged a
// body instead of showing an empty one, and offer no replay.
func TestUIBodyPurged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		u := newUIHub(t, dialect)
		id, _ := requireAccepted(t, u.post("gen", []byte(`{"unmappable": "customer-data-7c1f"}`)))
		u.process(t)

		// A delivery with one attempt, as the delivery engine records it.
		now := time.Now().UTC()
		inc := &store.Incident{CorrelationKey: "k", Status: "resolved", Title: "disk full", Severity: "high",
			OpenedAt: now, LastSeenAt: now, ResolvedAt: &now, CreatedAt: now, UpdatedAt: now, ResolvePolicy: "all"}
		require.NoError(t, u.st.DB.Create(inc).Error)
		d := &store.Delivery{IncidentID: inc.ID, Target: "ops-hook", TargetType: "webhook", Event: "incident.opened",
			MessageID: "msg-1", Status: "delivered", State: store.JSON[incidenthub.Incident]{V: inc.Domain()},
			WindowStart: now, CreatedAt: now, UpdatedAt: now}
		require.NoError(t, u.st.DB.Create(d).Error)
		require.NoError(t, u.st.DB.Create(&store.DeliveryAttempt{DeliveryID: d.ID, Attempt: 1, StartedAt: now, Method: "POST",
			URL: "https://hooks.example.org/incidents", RequestBody: `{"title":"attempt-body-3e9a"}`, ResponseBody: "response-body-51d2",
			ResponseStatus: 200, Outcome: "delivered"}).Error)

		op := u.browser(t)
		require.Equal(t, http.StatusSeeOther, op.signIn(uiOperatorToken, "").StatusCode)
		before := op.get("/ui/events/" + id)
		require.Contains(t, before.Body, "customer-data-7c1f")
		require.Contains(t, before.Body, ">Replay</button>")
		require.Contains(t, op.get(fmt.Sprintf("/ui/deliveries/%d", d.ID)).Body, "attempt-body-3e9a")

		res := purgeLater(t, u.st)
		require.Equal(t, int64(1), res.EventBodies)
		require.Equal(t, int64(1), res.AttemptBodies)

		after := op.get("/ui/events/" + id)
		require.Equal(t, http.StatusOK, after.StatusCode, after.Body)
		require.Contains(t, after.Body, "Body and headers purged by retention on")
		require.NotContains(t, after.Body, "customer-data-7c1f")
		require.NotContains(t, after.Body, ">Replay</button>", "nothing is left to replay")
		dp := op.get(fmt.Sprintf("/ui/deliveries/%d", d.ID))
		require.Equal(t, http.StatusOK, dp.StatusCode, dp.Body)
		require.Contains(t, dp.Body, "Body purged by retention on")
		require.NotContains(t, dp.Body, "attempt-body-3e9a")
		require.NotContains(t, dp.Body, "response-body-51d2")
		require.NotContains(t, dp.Body, "No body.", "a purged body is not shown as an absent one")

		// The API says the same of the attempt.
		rec := u.get(fmt.Sprintf("/api/v1/deliveries/%d", d.ID), uiAdminToken)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Contains(t, rec.Body.String(), `"bodies_purged_at"`)
		require.NotContains(t, rec.Body.String(), "attempt-body-3e9a")
	})
}

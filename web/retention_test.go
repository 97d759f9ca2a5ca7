package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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

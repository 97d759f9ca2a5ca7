package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

type incidentList struct {
	Incidents  []incidenthub.Incident `json:"incidents"`
	NextCursor *string                `json:"next_cursor"`
}

type incidentView struct {
	Incident incidenthub.Incident        `json:"incident"`
	Alerts   []incidenthub.IncidentAlert `json:"alerts"`
}

type eventView struct {
	Event struct {
		ID          string              `json:"id"`
		Source      string              `json:"source"`
		Kind        string              `json:"kind"`
		RemoteAddr  string              `json:"remote_addr"`
		ContentType string              `json:"content_type"`
		Headers     map[string]string   `json:"headers"`
		Body        json.RawMessage     `json:"body"`
		Status      string              `json:"status"`
		Error       string              `json:"error"`
		Attempts    int                 `json:"attempts"`
		Alerts      []incidenthub.Alert `json:"alerts"`
		ProcessedAt *string             `json:"processed_at"`
	} `json:"event"`
}

func TestAPIAuth(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		env := map[string]string{"INCIDENTHUB_API_TOKEN": adminToken}
		for k, v := range testEnv {
			env[k] = v
		}
		h := newHub(t, dialect, baseConfig, env)

		requireError(t, h.get("/api/v1/incidents", ""), 401, "unauthorized", "Authorization: Bearer")
		requireError(t, h.get("/api/v1/incidents", "wrong-"+viewerToken), 401, "unauthorized", "invalid API token")
		requireError(t, h.get("/api/v1/incidents", sourceToken), 401, "unauthorized", "invalid API token")
		requireError(t, h.get("/api/v1/incidents/1", ""), 401, "unauthorized")
		requireError(t, h.get("/api/v1/events/x", "nope"), 401, "unauthorized")
		r := httptest.NewRequest(http.MethodGet, "/api/v1/incidents", nil)
		r.Header.Set("Authorization", "Basic "+viewerToken)
		requireError(t, h.do(r), 401, "unauthorized", "Bearer")

		for _, tok := range []string{viewerToken, adminToken} {
			rec := h.get("/api/v1/incidents", tok)
			require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
			require.JSONEq(t, `{"incidents":[]}`, rec.Body.String(), "an empty list is [], not null")
		}
		r = httptest.NewRequest(http.MethodGet, "/api/v1/incidents", nil)
		r.Header.Set("Authorization", "bearer "+viewerToken)
		require.Equal(t, http.StatusOK, h.do(r).Code, "the auth scheme is case-insensitive")

		// No tokens anywhere: every API call is refused, and the message
		// says how to configure one.
		none := newHub(t, dialect, "sources: []\n", map[string]string{})
		requireError(t, none.get("/api/v1/incidents", ""), 401, "unauthorized", "INCIDENTHUB_API_TOKEN")
		requireError(t, none.get("/api/v1/incidents", viewerToken), 401, "unauthorized", "INCIDENTHUB_API_TOKEN")
	})
}

func TestAPIIncidentsAndEvents(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newHub(t, dialect, baseConfig, testEnv)
		auth := []string{"Authorization", "Bearer " + sourceToken}
		firingBody := testdata(t, "alertmanager-firing.json")

		firing, _ := requireAccepted(t, h.post("am", firingBody, auth...))
		multi, _ := requireAccepted(t, h.post("am", testdata(t, "alertmanager-multi.json"), auth...))
		generic, _ := requireAccepted(t, h.post("gen", testdata(t, "generic-single.json")))
		unmapped, _ := requireAccepted(t, h.post("am", []byte(`{}`), auth...))
		h.drain()
		resolved, _ := requireAccepted(t, h.post("am", testdata(t, "alertmanager-resolved.json"), auth...))
		h.drain()

		ctx := context.Background()
		for _, id := range []string{firing, multi, generic, resolved} {
			ev, err := h.st.GetEvent(ctx, id)
			require.NoError(t, err)
			require.Equal(t, store.EventProcessed, ev.Status, "event %s: %s", id, ev.Error)
		}

		list := func(query string) incidentList {
			t.Helper()
			rec := h.get("/api/v1/incidents"+query, viewerToken)
			require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
			return decode[incidentList](t, rec)
		}
		all := list("")
		require.Nil(t, all.NextCursor)
		byService := map[string]incidenthub.Incident{}
		for i, inc := range all.Incidents {
			byService[inc.Service] = inc
			if i > 0 {
				require.Less(t, inc.ID, all.Incidents[i-1].ID, "newest first")
			}
		}
		require.Len(t, all.Incidents, 4, "incidents: %+v", all.Incidents)
		require.ElementsMatch(t, []string{"http_checks", "payments", "payments-api", "postgres"}, keys(byService))
		require.Equal(t, incidenthub.IncidentResolved, byService["http_checks"].Status)
		require.Equal(t, incidenthub.IncidentOpen, byService["payments"].Status)

		t.Run("filters", func(t *testing.T) {
			open := list("?status=open")
			require.Len(t, open.Incidents, 3)
			for _, inc := range open.Incidents {
				require.Equal(t, incidenthub.IncidentOpen, inc.Status)
			}
			res := list("?status=resolved")
			require.Len(t, res.Incidents, 1)
			require.Equal(t, "http_checks", res.Incidents[0].Service)
			require.Empty(t, list("?status=acknowledged").Incidents)

			pay := list("?service=payments")
			require.Len(t, pay.Incidents, 1, "service matches exactly, not by prefix")
			require.Equal(t, "InstanceDown", pay.Incidents[0].AlertType)
			require.Len(t, list("?service=postgres&status=open").Incidents, 1)
			require.Empty(t, list("?service=postgres&status=resolved").Incidents)
			require.Empty(t, list("?service=nope").Incidents)
			require.Len(t, list("?key="+url.QueryEscape(byService["payments-api"].CorrelationKey)).Incidents, 1)
		})

		t.Run("pagination", func(t *testing.T) {
			var ids []int64
			query := "?limit=1"
			for range 10 {
				page := list(query)
				require.LessOrEqual(t, len(page.Incidents), 1)
				for _, inc := range page.Incidents {
					ids = append(ids, inc.ID)
				}
				if page.NextCursor == nil {
					break
				}
				require.NotEmpty(t, *page.NextCursor)
				query = "?limit=1&cursor=" + url.QueryEscape(*page.NextCursor)
			}
			want := make([]int64, len(all.Incidents))
			for i, inc := range all.Incidents {
				want[i] = inc.ID
			}
			require.Equal(t, want, ids, "pages cover every incident once, in order")

			first := list("?limit=3")
			require.Len(t, first.Incidents, 3)
			require.NotNil(t, first.NextCursor)
			rest := list("?limit=3&cursor=" + *first.NextCursor)
			require.Len(t, rest.Incidents, 1)
			require.Nil(t, rest.NextCursor)
			require.Equal(t, want[3], rest.Incidents[0].ID)

			exact := list("?limit=4")
			require.Len(t, exact.Incidents, 4)
			require.Nil(t, exact.NextCursor, "no cursor to an empty page")

			open := list("?status=open&limit=2")
			require.Len(t, open.Incidents, 2)
			require.NotNil(t, open.NextCursor)
			more := list("?status=open&limit=2&cursor=" + *open.NextCursor)
			require.Len(t, more.Incidents, 1, "the cursor keeps the filter's results")
			require.Equal(t, incidenthub.IncidentOpen, more.Incidents[0].Status)
		})

		t.Run("bad list parameters", func(t *testing.T) {
			tests := []struct{ query, words string }{
				{"?limit=0", "limit"},
				{"?limit=501", "limit"},
				{"?limit=abc", "limit"},
				{"?limit=-1", "limit"},
				{"?cursor=abc", "cursor"},
				{"?cursor=0", "cursor"},
				{"?cursor=-5", "cursor"},
				{"?status=closed", "status"},
				{"?status=OPEN", "status"},
			}
			for _, tt := range tests {
				requireError(t, h.get("/api/v1/incidents"+tt.query, viewerToken), 400, "invalid", tt.words)
			}
		})

		t.Run("one incident", func(t *testing.T) {
			pay := byService["payments"]
			rec := h.get(fmt.Sprintf("/api/v1/incidents/%d", pay.ID), viewerToken)
			require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
			got := decode[incidentView](t, rec)
			require.Equal(t, pay.ID, got.Incident.ID)
			require.Equal(t, "payments", got.Incident.Service)
			require.Equal(t, incidenthub.IncidentOpen, got.Incident.Status)
			require.NotEmpty(t, got.Alerts)
			var fps []string
			for _, a := range got.Alerts {
				fps = append(fps, a.Fingerprint)
				require.Equal(t, multi, a.LastEventID)
				require.Equal(t, "am", a.Source)
			}
			require.Contains(t, fps, "5e3a91d2c7b0f4a8")

			hc := decode[incidentView](t, h.get(fmt.Sprintf("/api/v1/incidents/%d", byService["http_checks"].ID), viewerToken))
			require.Len(t, hc.Alerts, 1)
			require.Equal(t, incidenthub.AlertResolved, hc.Alerts[0].Status)
			require.Equal(t, resolved, hc.Alerts[0].LastEventID)
			require.NotNil(t, hc.Incident.ResolvedAt)

			requireError(t, h.get("/api/v1/incidents/abc", viewerToken), 400, "invalid", `"abc"`, "positive integer")
			requireError(t, h.get("/api/v1/incidents/0", viewerToken), 400, "invalid", "positive integer")
			requireError(t, h.get("/api/v1/incidents/-3", viewerToken), 400, "invalid")
			requireError(t, h.get("/api/v1/incidents/999999", viewerToken), 404, "not_found", "999999")
		})

		t.Run("events", func(t *testing.T) {
			rec := h.get("/api/v1/events/"+firing, viewerToken)
			require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
			ev := decode[eventView](t, rec).Event
			require.Equal(t, firing, ev.ID)
			require.Equal(t, "am", ev.Source)
			require.Equal(t, "alertmanager", ev.Kind)
			require.Equal(t, store.EventProcessed, ev.Status)
			require.Empty(t, ev.Error)
			require.Equal(t, 1, ev.Attempts)
			require.NotNil(t, ev.ProcessedAt)
			require.Equal(t, "192.0.2.1", ev.RemoteAddr)
			require.Equal(t, "<redacted>", ev.Headers["Authorization"])
			require.JSONEq(t, string(firingBody), string(ev.Body), "the raw payload, as sent")
			require.Len(t, ev.Alerts, 1)
			a := ev.Alerts[0]
			require.Equal(t, "1a30ba71cca2921f", a.Fingerprint)
			require.Equal(t, incidenthub.AlertFiring, a.Status)
			require.Equal(t, "am", a.Source)
			require.Equal(t, "ProbeFailure", a.AlertType)
			require.Equal(t, "http_checks", a.Service)

			multiEv := decode[eventView](t, h.get("/api/v1/events/"+multi, viewerToken)).Event
			require.Len(t, multiEv.Alerts, 3, "one alert per alerts[] entry")

			rec = h.get("/api/v1/events/"+unmapped, viewerToken)
			require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
			um := decode[eventView](t, rec).Event
			require.Equal(t, store.EventUnmapped, um.Status)
			require.Contains(t, um.Error, "alerts", "the reason names what is missing")
			require.JSONEq(t, `{}`, string(um.Body), "the payload is kept for replay")
			require.NotNil(t, um.Alerts)
			require.Empty(t, um.Alerts)
			require.Contains(t, rec.Body.String(), `"alerts":[]`)

			requireError(t, h.get("/api/v1/events/nope", viewerToken), 404, "not_found", `"nope"`)
		})
	})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newHub(t, dialect, baseConfig, testEnv)

		rec := h.get("/healthz", "")
		require.Equal(t, http.StatusOK, rec.Code)
		require.JSONEq(t, `{"status":"ok"}`, rec.Body.String())

		rec = h.get("/readyz", "")
		require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
		require.JSONEq(t, fmt.Sprintf(`{"status":"ready","database":%q}`, dialect), rec.Body.String())

		_, _ = requireAccepted(t, h.post("gen", []byte(`{"n":1}`)))
		_, _ = requireAccepted(t, h.post("gen", []byte(`{"n":2}`)))
		h.post("gen", []byte(`{`))
		h.post("am", []byte(`{}`))
		h.post("no-such-source", []byte(`{}`))
		h.post("another-unknown", []byte(`{}`))

		rec = h.get("/metrics", "")
		require.Equal(t, http.StatusOK, rec.Code)
		m := rec.Body.String()
		require.Contains(t, m, "# TYPE incidenthub_inbound_requests_total counter")
		require.Contains(t, m, `incidenthub_inbound_requests_total{code="202",source="gen"} 2`)
		require.Contains(t, m, `incidenthub_inbound_requests_total{code="400",source="gen"} 1`)
		require.Contains(t, m, `incidenthub_inbound_requests_total{code="401",source="am"} 1`)
		require.Contains(t, m, `incidenthub_inbound_requests_total{code="404",source="_unknown"} 2`, "unknown names share one label")
		require.NotContains(t, m, "no-such-source")
	})
}

func TestReadyzPendingMigrations(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		st, err := store.Open(context.Background(), storetest.Options(t, dialect))
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		cfg, err := config.Parse("test.yaml", []byte("sources: []\n"), func(string) string { return "" })
		require.NoError(t, err)
		h := newHubWithStore(t, st, cfg, nil)

		rec := h.get("/readyz", "")
		requireError(t, rec, http.StatusServiceUnavailable, "unavailable", "migrations pending")
		requireChecks(t, rec, `[{"name":"database","ok":true},
			{"name":"migrations","ok":false,"error":"migrations pending: run `+"`incidenthub migrate up`"+`"}]`)
		require.Equal(t, http.StatusOK, h.get("/healthz", "").Code)

		require.NoError(t, st.Migrate(context.Background()))
		require.Equal(t, http.StatusOK, h.get("/readyz", "").Code)
	})
}

// TestSecretsNeverLeak runs successful and failed requests carrying every
// kind of credential, and checks no response and no log line shows one.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		env := map[string]string{app.EnvAPIToken: adminToken}
		for k, v := range testEnv {
			env[k] = v
		}
		h := newHub(t, dialect, baseConfig, env)
		const wrongSourceToken = "wrongsrc-91ac03"
		const wrongAPIToken = "wrongapi-7e52d1"
		body := testdata(t, "alertmanager-firing.json")

		id, _ := requireAccepted(t, h.post("am", body, "Authorization", "Bearer "+sourceToken))
		q, _ := requireAccepted(t, h.post("/hooks/am-query?token="+sourceToken, []byte(`{}`)))
		requireError(t, h.post("/hooks/am-query?token="+wrongSourceToken, []byte(`{}`)), 401, "unauthorized")
		requireError(t, h.post("am", body, "Authorization", "Bearer "+wrongSourceToken), 401, "unauthorized")
		requireError(t, h.post("am", []byte(`{`), "Authorization", "Bearer "+sourceToken), 400, "invalid")
		requireError(t, h.post("am", body, "Authorization", "Bearer "+sourceToken, "Content-Type", "text/xml"), 415, "unsupported_media")
		g, _ := requireAccepted(t, h.post("gen", []byte(`{"id":"x1","alert_type":"t"}`),
			"X-Api-Key", sourceToken, "X-Gitlab-Token", sourceToken, "Cookie", "session="+sourceToken,
			"Proxy-Authorization", "Bearer "+sourceToken, "X-Custom-Secret", sourceToken))
		requireError(t, h.post("hmac-hex", body, "X-Hub-Signature-256", "sha256=00"), 401, "unauthorized")
		h.drain()

		requireError(t, h.get("/api/v1/incidents", wrongAPIToken), 401, "unauthorized")
		requireError(t, h.get("/api/v1/incidents?token="+viewerToken, ""), 401, "unauthorized")
		for _, tok := range []string{viewerToken, adminToken} {
			require.Equal(t, http.StatusOK, h.get("/api/v1/incidents", tok).Code)
			for _, ev := range []string{id, q, g} {
				rec := h.get("/api/v1/events/"+ev, tok)
				require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
			}
		}
		gen := decode[eventView](t, h.get("/api/v1/events/"+g, viewerToken)).Event
		for _, k := range []string{"X-Api-Key", "X-Gitlab-Token", "Cookie", "Proxy-Authorization", "X-Custom-Secret"} {
			require.Equal(t, "<redacted>", gen.Headers[k], k)
		}
		require.Equal(t, http.StatusOK, h.get("/metrics", "").Code)

		secrets := []string{sourceToken, viewerToken, adminToken, hmacSecret, wrongSourceToken, wrongAPIToken}
		logs := h.logs.String()
		require.Contains(t, logs, "http request", "the run was logged at all")
		h.mu.Lock()
		responses := strings.Join(h.responses, "\n")
		h.mu.Unlock()
		for _, s := range secrets {
			require.NotContains(t, logs, s, "a credential leaked into the logs")
			require.NotContains(t, responses, s, "a credential leaked into a response")
		}
		var events []store.Event
		require.NoError(t, h.st.DB.Find(&events).Error)
		require.Len(t, events, 3)
		for _, ev := range events {
			headers, err := json.Marshal(ev.Headers.V)
			require.NoError(t, err)
			for _, s := range secrets {
				require.NotContains(t, string(headers), s, "a credential was stored with event %s", ev.ID)
			}
		}
	})
}

// requireChecks asserts /readyz's "status" is unready and its "checks" are
// want (JSON).
func requireChecks(t *testing.T, rec *httptest.ResponseRecorder, want string) {
	t.Helper()
	var body struct {
		Status string          `json:"status"`
		Checks json.RawMessage `json:"checks"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), "%s", rec.Body)
	require.Equal(t, "unready", body.Status)
	require.JSONEq(t, want, string(body.Checks))
}

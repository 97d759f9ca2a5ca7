package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// sink is a webhook receiver that records each delivery's type and the
// incident's service.
type sink struct {
	mu  sync.Mutex
	got []string // "incident.opened checkout"
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev struct {
		Type     string `json:"type"`
		Incident struct {
			Service string `json:"service"`
		} `json:"incident"`
	}
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.got = append(s.got, ev.Type+" "+ev.Incident.Service)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *sink) for_(service string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, g := range s.got {
		if strings.HasSuffix(g, " "+service) {
			out = append(out, g)
		}
	}
	return out
}

const silenceHubConfig = `database: %s
ingest: {poll_interval: 50ms, process: %t}
sources:
  - {name: mon, kind: generic, auth: {type: token, token: "${INCIDENTHUB_SOURCE_TOKEN}"}}
routing:
  default: [hook]
targets:
  - name: hook
    type: webhook
    url: %s/hook
    allow_private_network: true
    retry: {schedule: [100ms], jitter: 0}
`

// TestSilenceAcrossReplicas: a silence created through the API of replica
// A (accept-only on PostgreSQL) stops the notifications of alerts that
// replica B processes, at once; the silenced alert still correlates and
// its incident's timeline names the silence; an unsilenced alert notifies
// as usual; expiring the silence through A makes the still-firing incident
// notify exactly once. On SQLite one hub plays both parts.
func TestSilenceAcrossReplicas(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		rec := &sink{}
		hooks := httptest.NewServer(rec)
		t.Cleanup(hooks.Close)

		var a, b string
		if dialect == store.Postgres {
			db := fmt.Sprintf("{url: %q}", storetest.PostgresURL(t))
			a = serveConfig(t, fmt.Sprintf(silenceHubConfig, db, false, hooks.URL))
			b = serveConfig(t, fmt.Sprintf(silenceHubConfig, db, true, hooks.URL))
		} else {
			db := fmt.Sprintf("{path: %q}", filepath.Join(t.TempDir(), "hub.db"))
			a = serveConfig(t, fmt.Sprintf(silenceHubConfig, db, true, hooks.URL))
			b = a
		}
		call := func(base, method, path, token, body string) (int, []byte) {
			t.Helper()
			req, err := http.NewRequest(method, base+path, strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			out, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			return resp.StatusCode, out
		}
		fire := func(base, id, service string) {
			t.Helper()
			code, body := call(base, http.MethodPost, "/hooks/mon", sourceToken, fmt.Sprintf(`{"id": %q, "fingerprint": "fp-%s",
				"status": "firing", "severity": "critical", "service": %q, "alert_type": "5xx_rate", "title": "5xx rate high",
				"labels": {"alertname": "5xx-rate"}}`, id, service, service))
			require.Equal(t, http.StatusAccepted, code, "%s", body)
		}

		// Replica A: the silence.
		code, body := call(a, http.MethodPost, "/api/v1/silences", apiToken,
			`{"matchers": ["service=checkout", "alertname=~\"5xx.*\""], "duration": "2h", "comment": "deploy of checkout, CHG-42"}`)
		require.Equal(t, http.StatusCreated, code, "%s", body)
		var created struct {
			Silence struct{ ID string } `json:"silence"`
		}
		require.NoError(t, json.Unmarshal(body, &created))

		// Alerts go in through A; only B processes them.
		fire(a, "e-checkout", "checkout")
		fire(a, "e-billing", "billing")
		require.Eventually(t, func() bool { return len(rec.for_("billing")) == 1 }, 30*time.Second, 50*time.Millisecond,
			"the unsilenced incident notifies")
		var incidents struct {
			Incidents []incidenthub.Incident `json:"incidents"`
		}
		code, body = call(b, http.MethodGet, "/api/v1/incidents?service=checkout", apiToken, "")
		require.Equal(t, http.StatusOK, code, "%s", body)
		require.NoError(t, json.Unmarshal(body, &incidents))
		require.Len(t, incidents.Incidents, 1, "the silenced alert still correlates")
		id := incidents.Incidents[0].ID
		var timeline struct {
			Entries []incidenthub.TimelineEntry `json:"timeline"`
		}
		code, body = call(a, http.MethodGet, fmt.Sprintf("/api/v1/incidents/%d/timeline", id), apiToken, "")
		require.Equal(t, http.StatusOK, code, "%s", body)
		require.NoError(t, json.Unmarshal(body, &timeline), "%s", body)
		var held []string
		for _, e := range timeline.Entries {
			if e.Kind == "held" {
				held = append(held, e.Reason)
			}
		}
		require.Len(t, held, 1, "%s", body)
		require.Contains(t, held[0], created.Silence.ID)
		require.Contains(t, held[0], "deploy of checkout, CHG-42")
		time.Sleep(1500 * time.Millisecond) // the releaser has run; a leak would show now
		require.Empty(t, rec.for_("checkout"), "the silenced incident notified nobody")

		// Replica A expires it; B's releaser lets the incident notify, once.
		code, body = call(a, http.MethodDelete, "/api/v1/silences/"+created.Silence.ID, apiToken, "")
		require.Equal(t, http.StatusOK, code, "%s", body)
		require.Eventually(t, func() bool { return len(rec.for_("checkout")) > 0 }, 30*time.Second, 50*time.Millisecond,
			"the still-firing incident notifies once the silence ends")
		time.Sleep(2 * time.Second)
		require.Equal(t, []string{"incident.opened checkout"}, rec.for_("checkout"), "exactly once")
		require.Equal(t, []string{"incident.opened billing"}, rec.for_("billing"))

		// The same alert again, now unsilenced: a duplicate, nothing new.
		fire(b, "e-checkout-2", "checkout")
		time.Sleep(time.Second)
		require.Equal(t, []string{"incident.opened checkout"}, rec.for_("checkout"))
	})
}

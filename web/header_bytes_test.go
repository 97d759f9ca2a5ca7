package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/storetest"
)

// A request header with bytes that are not UTF-8 (net/http passes
// obs-text through: Latin-1 from old agents, raw bytes) is accepted and
// stored as text (PostgreSQL refuses invalid UTF-8 in JSONB), and the
// event's headers come back as valid UTF-8 JSON.
func TestIngestHeaderBytesAboveASCII(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newUIHubWithStore(t, storetest.Open(t, dialect), awkwardConfig, haEnv).hub
		rec := h.post("gen", []byte(`{"status":"firing","alert_type":"a","fingerprint":"hdr"}`),
			"User-Agent", "caf\xe9-agent/1.0", "X-Trace", "\xff\xfe")
		id, _ := requireAccepted(t, rec)
		h.drain()
		r := httptest.NewRequest(http.MethodGet, "/api/v1/events/"+id, nil)
		r.RemoteAddr = "192.0.2.1:40000"
		r.Header.Set("Authorization", "Bearer "+viewerToken)
		got := h.do(r)
		require.Equal(t, http.StatusOK, got.Code, "%s", got.Body)
		requireUTF8JSON(t, "event", got)
		var ev struct {
			Event struct {
				Status  string            `json:"status"`
				Headers map[string]string `json:"headers"`
			} `json:"event"`
		}
		require.NoError(t, json.Unmarshal(got.Body.Bytes(), &ev))
		require.Equal(t, "processed", ev.Event.Status)
		for k, v := range ev.Event.Headers {
			require.True(t, utf8.ValidString(k+v), "%q: %q", k, v)
		}
		require.Contains(t, ev.Event.Headers["User-Agent"], "caf", "the header is kept, repaired")
	})
}

package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/logging"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/web"
)

const logsConfig = actionsConfig + `
  - name: tq
    kind: generic
    auth: {type: token, token: "${SOURCE_TOKEN}", query_param: token}
`

// newJSONLogHub is newActionHub's hub logging JSON lines at debug.
func newJSONLogHub(t *testing.T, dialect string) *hub {
	t.Helper()
	env := map[string]string{"VIEWER_TOKEN": viewerToken, "OPERATOR_TOKEN": incidentOperatorToken, "SOURCE_TOKEN": sourceToken}
	getenv := func(k string) string { return env[k] }
	h := newHub(t, dialect, logsConfig, env)
	cfg, err := config.Parse("test.yaml", []byte(logsConfig), getenv)
	require.NoError(t, err)
	h.logs = &lockedBuffer{}
	h.log, err = logging.New(h.logs, logging.JSON, "debug")
	require.NoError(t, err)
	h.handler = web.New(web.Deps{Store: h.st, Config: func() *config.Config { return cfg }, Tokens: app.Tokens(cfg, getenv), Log: h.log})
	return h
}

// logLines parses every log line as a JSON object.
func logLines(t *testing.T, h *hub) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), "not a JSON line: %q", l)
		out = append(out, m)
	}
	return out
}

func linesWith(lines []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

var generatedID = regexp.MustCompile(`^[0-9a-f]{16}$`)

// Every request gets an X-Request-Id (the client's when sane), the same id
// is on its JSON log line and in its JSON error body, and incident opened /
// resolved / reopened are INFO lines (an action's with its request id).
// No token from a URL or a header reaches the log.
func TestRequestIDAndJSONLogs(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newJSONLogHub(t, dialect)
		body, err := json.Marshal(map[string]any{"alerts": []genericAlert{firingAlert("f1", "checkout", "latency")}})
		require.NoError(t, err)

		// The client's id is kept; an insane one is replaced.
		rec := h.post("gen", body, "X-Request-Id", "client-req.42_A")
		requireAccepted(t, rec)
		require.Equal(t, "client-req.42_A", rec.Header().Get("X-Request-Id"))
		require.Regexp(t, generatedID, h.get("/healthz", "").Header().Get("X-Request-Id"), "none sent: a new one")
		for _, bad := range []string{"has space", strings.Repeat("a", 129), "semi;colon", "é"} {
			rec := h.do(hookRequest("gen", body, "X-Request-Id", bad))
			requireAccepted(t, rec)
			require.Regexp(t, generatedID, rec.Header().Get("X-Request-Id"), "for %q", bad)
		}
		ok128 := strings.Repeat("b", 128)
		rec = h.do(hookRequest("gen", body, "X-Request-Id", ok128))
		require.Equal(t, ok128, rec.Header().Get("X-Request-Id"))

		// An error body names the id the header does (requireError checks it).
		e := requireError(t, h.get("/api/v1/nope", viewerToken), http.StatusNotFound, "not_found")
		require.Regexp(t, generatedID, e.Error.RequestID)

		// Tokens in a query and in a header.
		requireAccepted(t, h.post("/hooks/tq?token="+sourceToken, body))
		requireError(t, h.post("/hooks/tq?token=wrong-"+sourceToken, body), http.StatusUnauthorized, "unauthorized")
		h.get("/api/v1/incidents", viewerToken)

		h.drain() // opens the incident
		inc := h.incidentByKey(t, "checkout/latency")
		path := func(action string) string { return fmt.Sprintf("/api/v1/incidents/%d/%s", inc.ID, action) }
		resolve := hookRequest(path("resolve"), []byte(`{"note": "done"}`), "Authorization", "Bearer "+incidentOperatorToken, "X-Request-Id", "resolve-1")
		require.Equal(t, http.StatusOK, h.do(resolve).Code)
		reopen := hookRequest(path("reopen"), []byte(`{}`), "Authorization", "Bearer "+incidentOperatorToken, "X-Request-Id", "reopen-1")
		require.Equal(t, http.StatusOK, h.do(reopen).Code)

		lines := logLines(t, h)
		requests := linesWith(lines, "http request")
		h.mu.Lock()
		responses := len(h.responses)
		h.mu.Unlock()
		require.Len(t, requests, responses, "one line per request")
		ids := map[string]bool{}
		for _, l := range requests {
			id, _ := l["request_id"].(string)
			require.NotEmpty(t, id, "%v", l)
			ids[id] = true
			require.NotContains(t, l["path"], "?", "never the query")
		}
		for _, id := range []string{"client-req.42_A", ok128, e.Error.RequestID, "resolve-1", "reopen-1"} {
			require.True(t, ids[id], "no request line with request_id %s", id)
		}

		opened := linesWith(lines, "incident opened")
		require.Len(t, opened, 1)
		require.Equal(t, "INFO", opened[0]["level"])
		require.EqualValues(t, inc.ID, opened[0]["incident_id"])
		require.Equal(t, "checkout/latency", opened[0]["key"])
		resolved := linesWith(lines, "incident resolved")
		require.Len(t, resolved, 1)
		require.Equal(t, "INFO", resolved[0]["level"])
		require.Equal(t, "resolve-1", resolved[0]["request_id"])
		require.Equal(t, "alice", resolved[0]["actor"])
		reopened := linesWith(lines, "incident reopened")
		require.Len(t, reopened, 1)
		require.Equal(t, "reopen-1", reopened[0]["request_id"])

		all := h.logs.String()
		for _, secret := range []string{sourceToken, viewerToken, incidentOperatorToken} {
			require.NotContains(t, all, secret)
		}
	})
}

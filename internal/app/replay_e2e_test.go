package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	"github.com/incidenthub/incidenthub/mappings"
	"github.com/incidenthub/incidenthub/web"
)

// brokenMapping reads the check's name from the wrong place: the monitor
// sends {"check": {"name": …}}.
const brokenMapping = `
kind: homegrown
alert:
  alert_type: name
  status: {path: state, enum: {OK: resolved, CRIT: firing}}
  host: check.host
  service: check.service
  title: {template: "{{ name }} on {{ host }}"}
vars:
  name: name
  host: check.host
`

const fixedMapping = `
kind: homegrown
vars:
  name: check.name
  host: check.host
alert:
  alert_type: check.name
  status: {path: state, enum: {OK: resolved, CRIT: firing}}
  host: check.host
  service: check.service
  title: {template: "{{ name }} on {{ host }}"}
dedup: {path: run_id}
`

const hubConfig = `
mappings: [mappings/homegrown.yaml]
api:
  tokens:
    - {name: oncall, token: op-token-3b9e, role: operator}
    - {name: dash, token: view-token-51ac, role: viewer}
sources:
  - name: checks
    kind: homegrown
    auth: {type: token, token: src-token-c0d2}
`

// TestCustomSourceReplay runs a custom source defined only in YAML end to
// end over real HTTP, with a real store and the processor running: a
// payload the mapping cannot map is kept as unmapped with the reason; the
// mapping is fixed and the config reloaded; replaying the event (one by
// id, the rest in bulk) produces the incident.
func TestCustomSourceReplay(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "mappings"), 0o755))
		mappingFile := filepath.Join(dir, "mappings", "homegrown.yaml")
		configFile := filepath.Join(dir, "hub.yaml")
		require.NoError(t, os.WriteFile(mappingFile, []byte(brokenMapping), 0o644))
		require.NoError(t, os.WriteFile(configFile, []byte(hubConfig), 0o644))
		getenv := func(string) string { return "" }
		cfg, err := config.Load(configFile, getenv)
		require.NoError(t, err)

		st := storetest.Open(t, dialect)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		var active atomic.Pointer[config.Config]
		active.Store(cfg)
		proc := processor.New(st, log, 1, 50*time.Millisecond) // one worker: replays are correlated in event order
		proc.Mappings = func() *mappings.Set { return active.Load().Mappings }
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { proc.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })

		srv := httptest.NewServer(web.New(web.Deps{
			Store: st, Config: active.Load, Tokens: app.Tokens(cfg, getenv), Accepted: proc.Notify, Log: log,
		}))
		t.Cleanup(srv.Close)

		call := func(method, path, token string, body []byte) (int, map[string]any) {
			t.Helper()
			req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var out map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
			return resp.StatusCode, out
		}
		post := func(runID string) string {
			t.Helper()
			body := `{"check": {"name": "disk_usage", "host": "db-1", "service": "postgres"}, "state": "CRIT", "run_id": "` + runID + `"}`
			code, out := call(http.MethodPost, "/hooks/checks", "src-token-c0d2", []byte(body))
			require.Equal(t, http.StatusAccepted, code, "%v", out)
			return out["event_id"].(string)
		}
		event := func(id string) map[string]any {
			t.Helper()
			code, out := call(http.MethodGet, "/api/v1/events/"+id, "view-token-51ac", nil)
			require.Equal(t, http.StatusOK, code, "%v", out)
			return out["event"].(map[string]any)
		}
		waitStatus := func(id, status string) map[string]any {
			t.Helper()
			var ev map[string]any
			require.Eventually(t, func() bool { ev = event(id); return ev["status"] == status },
				20*time.Second, 20*time.Millisecond, "event %s never became %s", id, status)
			return ev
		}
		incidents := func() []any {
			t.Helper()
			code, out := call(http.MethodGet, "/api/v1/incidents", "view-token-51ac", nil)
			require.Equal(t, http.StatusOK, code, "%v", out)
			return out["incidents"].([]any)
		}

		// The broken mapping: every payload is kept, unmapped, with the reason.
		first, second, third := post("r-1"), post("r-2"), post("r-3")
		for _, id := range []string{first, second, third} {
			ev := waitStatus(id, store.EventUnmapped)
			require.Equal(t, `name: required field "alert_type" is missing`, ev["error"], "the reason names the field and the path")
		}
		require.Empty(t, incidents())

		// Replay needs the operator role, and the event must exist.
		code, out := call(http.MethodPost, "/api/v1/events/"+first+"/replay", "view-token-51ac", nil)
		require.Equal(t, http.StatusForbidden, code, "%v", out)
		code, _ = call(http.MethodPost, "/api/v1/events/no-such-event/replay", "op-token-3b9e", nil)
		require.Equal(t, http.StatusNotFound, code)

		// Fix the mapping and reload the config.
		require.NoError(t, os.WriteFile(mappingFile, []byte(fixedMapping), 0o644))
		fixed, err := config.Load(configFile, getenv)
		require.NoError(t, err)
		active.Store(fixed)

		code, out = call(http.MethodPost, "/api/v1/events/"+first+"/replay", "op-token-3b9e", nil)
		require.Equal(t, http.StatusAccepted, code, "%v", out)
		require.Equal(t, map[string]any{"event_id": first, "status": "pending", "kind": "homegrown"}, out)
		ev := waitStatus(first, store.EventProcessed)
		require.Empty(t, ev["error"])
		alerts := ev["alerts"].([]any)
		require.Len(t, alerts, 1)
		require.Equal(t, "disk_usage on db-1", alerts[0].(map[string]any)["title"])
		incs := incidents()
		require.Len(t, incs, 1, "the incident appears")
		inc := incs[0].(map[string]any)
		require.Equal(t, "postgres/disk_usage", inc["correlation_key"])
		require.EqualValues(t, 1, inc["event_count"])

		// The rest in bulk.
		code, out = call(http.MethodPost, "/api/v1/sources/checks/replay?status=unmapped", "op-token-3b9e", nil)
		require.Equal(t, http.StatusAccepted, code, "%v", out)
		require.EqualValues(t, 2, out["queued"])
		waitStatus(second, store.EventProcessed)
		waitStatus(third, store.EventProcessed)
		require.EqualValues(t, 3, incidents()[0].(map[string]any)["event_count"])
		code, out = call(http.MethodPost, "/api/v1/sources/checks/replay", "op-token-3b9e", nil)
		require.Equal(t, http.StatusAccepted, code)
		require.EqualValues(t, 0, out["queued"], "nothing left to replay")

		// A processed event is replayed only with force. Forced, its alert
		// goes through correlation again: the latest event counts once more;
		// an older one is ignored as stale (its alert changed since).
		code, out = call(http.MethodPost, "/api/v1/events/"+third+"/replay", "op-token-3b9e", nil)
		require.Equal(t, http.StatusConflict, code, "%v", out)
		require.Contains(t, out["error"].(map[string]any)["message"], "force=true")
		code, _ = call(http.MethodPost, "/api/v1/events/"+third+"/replay?force=maybe", "op-token-3b9e", nil)
		require.Equal(t, http.StatusBadRequest, code)
		code, _ = call(http.MethodPost, "/api/v1/events/"+third+"/replay?force=true", "op-token-3b9e", nil)
		require.Equal(t, http.StatusAccepted, code)
		waitStatus(third, store.EventProcessed)
		require.EqualValues(t, 4, incidents()[0].(map[string]any)["event_count"])
		code, _ = call(http.MethodPost, "/api/v1/events/"+first+"/replay?force=true", "op-token-3b9e", nil)
		require.Equal(t, http.StatusAccepted, code)
		waitStatus(first, store.EventProcessed)
		require.EqualValues(t, 4, incidents()[0].(map[string]any)["event_count"], "stale: not counted again")

		// Bulk replay: errors name the problem.
		code, out = call(http.MethodPost, "/api/v1/sources/checks/replay?status=processed", "op-token-3b9e", nil)
		require.Equal(t, http.StatusBadRequest, code, "%v", out)
		code, out = call(http.MethodPost, "/api/v1/sources/nope/replay", "op-token-3b9e", nil)
		require.Equal(t, http.StatusNotFound, code, "%v", out)
		require.True(t, strings.Contains(out["error"].(map[string]any)["message"].(string), `"nope"`))
		require.Equal(t, incidenthub.ENOTFOUND, out["error"].(map[string]any)["code"])
	})
}

package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/web"
)

const reloadSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// hookSink is a webhook target: it verifies the Standard Webhooks
// signature and keeps each incident event's type.
type hookSink struct {
	*httptest.Server
	mu    sync.Mutex
	types []string
}

func newHookSink(t *testing.T) *hookSink {
	wh, err := standardwebhooks.NewWebhook(reloadSecret)
	require.NoError(t, err)
	s := &hookSink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := wh.Verify(body, r.Header); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var ev struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(body, &ev)
		if strings.HasPrefix(ev.Type, "incident.") { // not the registry's verify events
			s.mu.Lock()
			s.types = append(s.types, ev.Type)
			s.mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *hookSink) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.types...)
}

// reloadHubConfig is the e2e config; each field is one YAML fragment.
type reloadHubConfig struct {
	db, listen, tokens, proxies, targets, routes string
}

func (c reloadHubConfig) String() string {
	return fmt.Sprintf(`database: %s
listen: %s
ingest: {poll_interval: 50ms}
api:
  tokens:
%s
trusted_proxies: [%s]
mappings: [mappings]
sources:
  - {name: gen, kind: generic, auth: {type: none}, allow_ips: [198.51.100.7]}
  - {name: chk, kind: checks, auth: {type: none}}
targets:
%s
routing: {default: [%s]}
`, c.db, c.listen, c.tokens, c.proxies, c.targets, c.routes)
}

func webhookTarget(name, url string) string {
	return fmt.Sprintf("  - {name: %s, type: webhook, url: %q, secrets: [%s], allow_private_network: true, retry: {schedule: [100ms], jitter: 0}}\n",
		name, url+"/hook", reloadSecret)
}

// TestReloadEndToEnd runs the hub (app.Serve) and changes its files while
// it runs, as an operator would: the file watcher reloads, and each change
// shows over real HTTP — a removed API token is refused, an added one
// works, trusted_proxies apply to allow_ips, an added target receives the
// next incident, a mapping file's change moves the version and a bad one
// is rejected with its position, and a listen change is reported as
// needing a restart.
func TestReloadEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		dir := t.TempDir()
		db := fmt.Sprintf("{path: %q}", filepath.Join(dir, "hub.db"))
		if dialect == store.Postgres {
			db = fmt.Sprintf("{url: %q}", storetest.PostgresURL(t))
		}
		ops, added := newHookSink(t), newHookSink(t)
		c := reloadHubConfig{db: db, listen: "127.0.0.1:0",
			tokens:  "    - {name: alice, token: tok-alice-1, role: admin}\n    - {name: bob, token: tok-bob-2, role: viewer}",
			proxies: "", targets: webhookTarget("ops", ops.URL), routes: "ops"}
		file := filepath.Join(dir, "hub.yaml")
		mapping := filepath.Join(dir, "mappings", "checks.yaml")
		require.NoError(t, os.Mkdir(filepath.Dir(mapping), 0o755))
		require.NoError(t, os.WriteFile(mapping, []byte("kind: checks\nalert:\n  status: state\n  alert_type: check\n"), 0o644))
		require.NoError(t, os.WriteFile(file, []byte(c.String()), 0o644))
		getenv := func(string) string { return "" }
		cfg, err := config.Load(file, getenv)
		require.NoError(t, err)

		logs := &lockedBuffer{}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() {
			served <- app.Serve(ctx, cfg, getenv, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), ln, nil)
		}()
		t.Cleanup(func() {
			cancel()
			require.NoError(t, <-served)
		})
		base := "http://" + ln.Addr().String()
		call := func(method, path, token, body string, header ...string) (int, string) {
			t.Helper()
			req, err := http.NewRequest(method, base+path, strings.NewReader(body))
			require.NoError(t, err)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			req.Header.Set("Content-Type", "application/json")
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			return resp.StatusCode, string(b)
		}
		status := func() web.ConfigStatus {
			t.Helper()
			code, body := call(http.MethodGet, "/api/v1/config", "tok-alice-1", "")
			require.Equal(t, http.StatusOK, code, body)
			var out struct {
				Config web.ConfigStatus `json:"config"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &out))
			return out.Config
		}
		// write changes the config (or the mapping file) and waits for the
		// watcher's reload to finish, good or bad.
		write := func(path, text string) web.ConfigStatus {
			t.Helper()
			before := status()
			// As an editor saves: a temporary file renamed over the old.
			tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
			require.NoError(t, os.WriteFile(tmp, []byte(text), 0o644))
			require.NoError(t, os.Rename(tmp, path))
			var st web.ConfigStatus
			require.Eventually(t, func() bool {
				st = status()
				return st.LastReloadAt != nil && (before.LastReloadAt == nil || st.LastReloadAt.After(*before.LastReloadAt)) &&
					(st.Version != before.Version || st.LastReloadError != "")
			}, 20*time.Second, 20*time.Millisecond)
			return st
		}
		dump := func(path string) string { _, b := call(http.MethodGet, path, "tok-alice-1", ""); return b }
		st := status()
		require.Equal(t, []string{mapping}, st.MappingFiles)
		require.Empty(t, st.RestartRequired)

		// API tokens: bob is removed, carol added.
		code, body := call(http.MethodGet, "/api/v1/incidents", "tok-bob-2", "")
		require.Equal(t, http.StatusOK, code, body)
		c.tokens = "    - {name: alice, token: tok-alice-1, role: admin}\n    - {name: carol, token: tok-carol-3, role: viewer}"
		require.Empty(t, write(file, c.String()).LastReloadError)
		code, body = call(http.MethodGet, "/api/v1/incidents", "tok-bob-2", "")
		require.Equal(t, http.StatusUnauthorized, code, "a removed token stops working at the reload: %s", body)
		code, body = call(http.MethodGet, "/api/v1/incidents", "tok-carol-3", "")
		require.Equal(t, http.StatusOK, code, body)

		// trusted_proxies: this test's requests come from 127.0.0.1, which
		// allow_ips does not list; once it is a trusted proxy, the address
		// it forwards for is the client.
		alert := func(fp string) string {
			return fmt.Sprintf(`{"id":"e-%s","fingerprint":%q,"status":"firing","severity":"high","service":"checkout-%s","alert_type":"HighLatency","title":"Checkout latency"}`, fp, fp, fp)
		}
		code, body = call(http.MethodPost, "/hooks/gen", "", alert("a"), "X-Forwarded-For", "198.51.100.7")
		require.Equal(t, http.StatusForbidden, code, body)
		c.proxies = "127.0.0.1"
		require.Empty(t, write(file, c.String()).LastReloadError)
		code, body = call(http.MethodPost, "/hooks/gen", "", alert("a"), "X-Forwarded-For", "198.51.100.7")
		require.Equal(t, http.StatusAccepted, code, body)
		require.Eventually(t, func() bool { return len(ops.got()) == 1 }, 20*time.Second, 20*time.Millisecond)

		// A target added by reload receives the next incident.
		c.targets, c.routes = webhookTarget("ops", ops.URL)+webhookTarget("added", added.URL), "ops, added"
		require.Empty(t, write(file, c.String()).LastReloadError)
		code, body = call(http.MethodPost, "/hooks/gen", "", alert("b"), "X-Forwarded-For", "198.51.100.7")
		require.Equal(t, http.StatusAccepted, code, body)
		require.Eventually(t, func() bool { return len(added.got()) == 1 && len(ops.got()) == 2 }, 20*time.Second, 20*time.Millisecond,
			"added %v, ops %v; deliveries %s; events %s", added.got(), ops.got(), dump("/api/v1/deliveries"), dump("/api/v1/events"))
		require.Equal(t, []string{"incident.opened"}, added.got())

		// The mapping file is watched and part of the version.
		v := status().Version
		st = write(mapping, "kind: checks\nalert:\n  status: state\n  alert_type: check\n  title: name\n")
		require.Empty(t, st.LastReloadError)
		require.NotEqual(t, v, st.Version)
		st = write(mapping, "kind: checks\nalert:\n  status: state\n  sevrity: level\n")
		require.Contains(t, st.LastReloadError, mapping+":4:3: alert.sevrity: unknown alert field")
		require.Contains(t, logs.String(), "config reload rejected")
		code, body = call(http.MethodPost, "/hooks/chk", "", `{"state":"firing","check":"disk"}`)
		require.Equal(t, http.StatusAccepted, code, "the last good mapping keeps running: %s", body)
		require.Empty(t, write(mapping, "kind: checks\nalert:\n  status: state\n  alert_type: check\n").LastReloadError)

		// A listen change needs a restart: named, and the hub keeps serving.
		c.listen = "127.0.0.1:1"
		st = write(file, c.String())
		require.Empty(t, st.LastReloadError)
		require.Equal(t, []string{"listen"}, st.RestartRequired)
		require.Contains(t, logs.String(), "restart_required=[listen]")
		code, body = call(http.MethodGet, "/api/v1/incidents", "tok-carol-3", "")
		require.Equal(t, http.StatusOK, code, body)
	})
}

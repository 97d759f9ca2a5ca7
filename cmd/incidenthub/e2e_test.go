//go:build unix

// End-to-end tests: they build the incidenthub binary (with -race, so the
// subprocess is race-checked too) and drive it as a user and the operating
// system would, against both the embedded SQLite file and PostgreSQL.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

const (
	sourceToken = "e2e-source-token"
	apiToken    = "e2e-api-token"

	startTimeout = 30 * time.Second // until /healthz answers
	exitTimeout  = 30 * time.Second // after SIGTERM
	pollTimeout  = 30 * time.Second // until async processing shows
)

// binPath is the binary TestMain builds; empty in -short mode.
var binPath string

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run() // the e2e tests skip themselves
	}
	dir, err := os.MkdirTemp("", "incidenthub-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "incidenthub")
	build := exec.Command("go", "build", "-race", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build incidenthub:", err)
		return 1
	}
	return m.Run()
}

func needBinary(t *testing.T) {
	t.Helper()
	if binPath == "" {
		t.Skip("end-to-end test: skipped with -short")
	}
}

// childEnv is the parent environment without any INCIDENTHUB_* variable
// (so the developer's shell cannot change what a test means), plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "INCIDENTHUB_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// syncBuffer is a bytes.Buffer safe for the exec copier and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// checkRace fails the test when the race-enabled child reported a race.
func checkRace(t *testing.T, what, output string) {
	t.Helper()
	if strings.Contains(output, "WARNING: DATA RACE") {
		t.Errorf("data race in %s:\n%s", what, output)
	}
}

// runCLI runs the binary to completion and returns its output and exit code.
func runCLI(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = childEnv(env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run incidenthub %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	checkRace(t, "incidenthub "+strings.Join(args, " "), errOut.String())
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// hub is a running `incidenthub serve` subprocess.
type hub struct {
	URL    string
	cmd    *exec.Cmd
	output *syncBuffer
	done   chan struct{} // closed when the process has exited
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// startHub runs `serve --config cfg` (plus `--database database` when set,
// then extra) on a free port and returns once GET /healthz answers 200. The
// process is killed at test end if still running; its output is logged on
// failure.
func startHub(t *testing.T, cfg, database string, extra ...string) *hub {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	args := []string{"serve", "--config", cfg, "--listen", addr}
	if database != "" {
		args = append(args, "--database", database)
	}
	args = append(args, extra...)
	cmd := exec.Command(binPath, args...)
	cmd.Dir = filepath.Dir(cfg)
	cmd.Env = childEnv("INCIDENTHUB_SOURCE_TOKEN="+sourceToken, "INCIDENTHUB_API_TOKEN="+apiToken)
	h := &hub{URL: "http://" + addr, cmd: cmd, output: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = h.output, h.output
	require.NoError(t, cmd.Start())
	go func() {
		_ = cmd.Wait()
		close(h.done)
	}()
	t.Cleanup(func() {
		select {
		case <-h.done:
		default:
			_ = cmd.Process.Kill()
			<-h.done
		}
		checkRace(t, "incidenthub serve", h.output.String())
		if t.Failed() {
			t.Logf("incidenthub serve (pid %d) output:\n%s", cmd.Process.Pid, h.output.String())
		}
	})

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-h.done:
			t.Fatalf("incidenthub serve exited (%v) before /healthz answered:\n%s", cmd.ProcessState, h.output.String())
		default:
		}
		resp, err := client.Get(h.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return h
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /healthz did not answer 200 within %s (last error %v):\n%s", startTimeout, err, h.output.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL: no shutdown code runs.
func (h *hub) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, h.cmd.Process.Kill())
	<-h.done
}

// waitExit waits up to timeout for the process to exit and returns its code.
func (h *hub) waitExit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-h.done:
		return h.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("incidenthub serve did not exit within %s", timeout)
		return -1
	}
}

// post sends body to /hooks/{source} with the source token.
func post(client *http.Client, h *hub, source, body string) (code int, eventID string, err error) {
	req, err := http.NewRequest(http.MethodPost, h.URL+"/hooks/"+source, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+sourceToken)
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, "", err
	}
	if resp.StatusCode == http.StatusAccepted {
		var r struct {
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal(data, &r); err != nil {
			return resp.StatusCode, "", fmt.Errorf("decode 202 body %q: %w", data, err)
		}
		return resp.StatusCode, r.EventID, nil
	}
	return resp.StatusCode, "", nil
}

// apiGet GETs an /api/v1 path with the admin token and decodes a 200 body
// into out. It returns the status code.
func apiGet(t *testing.T, h *hub, path string, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if resp.StatusCode == http.StatusOK && out != nil {
		require.NoError(t, json.Unmarshal(data, out), "GET %s: %s", path, data)
	}
	return resp.StatusCode
}

type eventResponse struct {
	Event struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Error  string `json:"error"`
	} `json:"event"`
}

// dbTarget is one database a scenario runs against: an SQLite file path
// (written into the config) or a PostgreSQL URL (passed as --database).
type dbTarget struct {
	path string
	url  string
}

// eachDB runs fn once on a fresh SQLite file and once on a fresh
// PostgreSQL schema.
func eachDB(t *testing.T, fn func(t *testing.T, db dbTarget)) {
	t.Helper()
	needBinary(t)
	t.Run("sqlite", func(t *testing.T) {
		fn(t, dbTarget{path: filepath.Join(t.TempDir(), "hub.db")})
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, dbTarget{url: storetest.PostgresURL(t)})
	})
}

// writeConfig writes a serve config for db with an alertmanager and a
// generic source, both authenticated by $INCIDENTHUB_SOURCE_TOKEN.
func writeConfig(t *testing.T, db dbTarget, process bool) string {
	t.Helper()
	var b strings.Builder
	if db.path != "" {
		fmt.Fprintf(&b, "database:\n  path: %q\n", db.path)
	}
	fmt.Fprintf(&b, `ingest:
  process: %t
  poll_interval: 200ms
sources:
  - name: alertmanager
    kind: alertmanager
    auth: {type: token, token: "${INCIDENTHUB_SOURCE_TOKEN}"}
  - name: generic
    kind: generic
    auth: {type: token, token: "${INCIDENTHUB_SOURCE_TOKEN}"}
`, process)
	path := filepath.Join(t.TempDir(), "incidenthub.yaml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return path
}

// eventually calls cond every 100ms until it reports true, failing the test
// with what's message after pollTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(pollTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", pollTimeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// An event acknowledged by an accept-only replica survives SIGKILL and is
// turned into an incident by the next process on the same database.
func TestDurableBeforeAck(t *testing.T) {
	body, err := os.ReadFile("../../mappings/testdata/alertmanager/firing.json")
	require.NoError(t, err)
	const (
		service     = "http_checks" // job label
		alertType   = "ProbeFailure"
		fingerprint = "1a30ba71cca2921f"
	)
	eachDB(t, func(t *testing.T, db dbTarget) {
		accept := startHub(t, writeConfig(t, db, false), db.url)
		code, eventID, err := post(http.DefaultClient, accept, "alertmanager", string(body))
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, code)
		require.NotEmpty(t, eventID)
		accept.kill(t)

		h := startHub(t, writeConfig(t, db, true), db.url)
		var found *incidenthub.Incident
		eventually(t, "the incident for "+fingerprint, func() bool {
			var list struct {
				Incidents []incidenthub.Incident `json:"incidents"`
			}
			code := apiGet(t, h, "/api/v1/incidents?"+url.Values{"service": {service}}.Encode(), &list)
			require.Equal(t, http.StatusOK, code)
			for _, inc := range list.Incidents {
				if inc.AlertType == alertType {
					found = &inc
					return true
				}
			}
			return false
		})
		require.Equal(t, incidenthub.IncidentOpen, found.Status)
		require.Equal(t, incidenthub.SeverityCritical, found.Severity)

		var detail struct {
			Alerts []incidenthub.IncidentAlert `json:"alerts"`
		}
		require.Equal(t, http.StatusOK, apiGet(t, h, fmt.Sprintf("/api/v1/incidents/%d", found.ID), &detail))
		require.Len(t, detail.Alerts, 1)
		require.Equal(t, fingerprint, detail.Alerts[0].Fingerprint)
		require.Equal(t, eventID, detail.Alerts[0].LastEventID)

		var ev eventResponse
		require.Equal(t, http.StatusOK, apiGet(t, h, "/api/v1/events/"+eventID, &ev))
		require.Equal(t, eventID, ev.Event.ID)
		require.Equal(t, "processed", ev.Event.Status, "event error: %s", ev.Event.Error)
	})
}

// SIGTERM during a burst: every 202 is durable, every other request failed
// visibly (connection error or 503), and the process exits 0.
func TestSIGTERMDrains(t *testing.T) {
	const n = 50
	eachDB(t, func(t *testing.T, db dbTarget) {
		cfg := writeConfig(t, db, true)
		h := startHub(t, cfg, db.url)
		// A fresh connection per request: no request rides on a kept-alive
		// connection the server is closing.
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		defer client.CloseIdleConnections()

		type result struct {
			code int
			id   string
			err  error
		}
		var (
			results  [n]result
			wg       sync.WaitGroup
			start    = make(chan struct{})
			firstAck = make(chan struct{})
			once     sync.Once
		)
		for i := range n {
			wg.Go(func() {
				body := fmt.Sprintf(`{"id": "drain-%d", "fingerprint": "drain-%d", "status": "firing",
					"severity": "warning", "service": "drain", "alert_type": "drain_%d", "title": "drain test %d"}`, i, i, i, i)
				<-start
				code, id, err := post(client, h, "generic", body)
				results[i] = result{code, id, err}
				if code == http.StatusAccepted {
					once.Do(func() { close(firstAck) })
				}
			})
		}
		close(start)
		select {
		case <-firstAck:
		case <-time.After(startTimeout):
			t.Fatalf("no 202 within %s", startTimeout)
		}
		require.NoError(t, h.cmd.Process.Signal(syscall.SIGTERM))
		wg.Wait()
		require.Equal(t, 0, h.waitExit(t, exitTimeout), "exit code after SIGTERM")
		require.Contains(t, h.output.String(), "shutting down")

		var accepted []string
		failed := 0
		for i, r := range results {
			switch {
			case r.err != nil && r.code == 0:
				failed++ // connection refused/reset: the sender retries
			case r.code == http.StatusServiceUnavailable:
				failed++
			case r.code == http.StatusAccepted && r.err == nil && r.id != "":
				accepted = append(accepted, r.id)
			default:
				t.Errorf("request %d: status %d, event_id %q, err %v: want a 202 with an event_id, a 503 or a connection error", i, r.code, r.id, r.err)
			}
		}
		t.Logf("%d accepted, %d failed visibly", len(accepted), failed)
		require.NotEmpty(t, accepted)

		h = startHub(t, cfg, db.url)
		for _, id := range accepted {
			var ev eventResponse
			require.Equal(t, http.StatusOK, apiGet(t, h, "/api/v1/events/"+id, &ev), "event %s was acknowledged but is missing", id)
			require.Equal(t, id, ev.Event.ID)
		}
		// And nothing acknowledged is left behind unprocessed.
		eventually(t, "every accepted event to be processed", func() bool {
			for _, id := range accepted {
				var ev eventResponse
				require.Equal(t, http.StatusOK, apiGet(t, h, "/api/v1/events/"+id, &ev))
				require.NotEqual(t, "failed", ev.Event.Status, "event %s: %s", id, ev.Event.Error)
				if ev.Event.Status != "processed" {
					return false
				}
			}
			return true
		})
	})
}

// migrationStates parses `migrate status` output into version → state.
func migrationStates(t *testing.T, out string) map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.GreaterOrEqual(t, len(lines), 2, "migrate status output:\n%s", out)
	require.Equal(t, []string{"VERSION", "STATE", "APPLIED", "AT", "FILE"}, strings.Fields(lines[0]))
	states := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		require.GreaterOrEqual(t, len(f), 3, "migrate status line %q", l)
		states[f[0]] = f[1]
	}
	return states
}

func TestMigrate(t *testing.T) {
	needBinary(t)
	// migrate runs status or up and returns version 1's state afterwards
	// (for up, from a separate status run).
	migrate := func(t *testing.T, env []string, cfg string, extra ...string) func(sub string) string {
		env = append([]string{"INCIDENTHUB_SOURCE_TOKEN=" + sourceToken}, env...)
		return func(sub string) string {
			t.Helper()
			args := append([]string{"migrate", sub, "--config", cfg}, extra...)
			stdout, stderr, code := runCLI(t, env, args...)
			require.Equal(t, 0, code, "migrate %s: %s", sub, stderr)
			if sub == "up" {
				stdout, stderr, code = runCLI(t, env, append([]string{"migrate", "status", "--config", cfg}, extra...)...)
				require.Equal(t, 0, code, "migrate status: %s", stderr)
			}
			return migrationStates(t, stdout)["1"]
		}
	}
	// The config names an SQLite file; for PostgreSQL the override must win,
	// leaving that file unmigrated.
	sqliteConfig := func(t *testing.T) string {
		return writeConfig(t, dbTarget{path: filepath.Join(t.TempDir(), "hub.db")}, true)
	}

	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		m := migrate(t, nil, sqliteConfig(t))
		require.Equal(t, "pending", m("status"))
		require.Equal(t, "applied", m("up"))
		require.Equal(t, "applied", m("status"))
	})
	t.Run("postgres flag", func(t *testing.T) {
		t.Parallel()
		cfg := sqliteConfig(t)
		m := migrate(t, nil, cfg, "--database", storetest.PostgresURL(t))
		require.Equal(t, "pending", m("status"))
		require.Equal(t, "applied", m("up"))
		require.Equal(t, "applied", m("status"))
		require.Equal(t, "pending", migrate(t, nil, cfg)("status"), "the config's SQLite file must be untouched")
	})
	t.Run("postgres env", func(t *testing.T) {
		t.Parallel()
		cfg := sqliteConfig(t)
		env := []string{EnvDatabaseURL + "=" + storetest.PostgresURL(t)}
		m := migrate(t, env, cfg)
		require.Equal(t, "pending", m("status"))
		require.Equal(t, "applied", m("up"))
		require.Equal(t, "pending", migrate(t, nil, cfg)("status"), "the config's SQLite file must be untouched")
		// --database wins over the environment.
		require.Equal(t, "pending", migrate(t, env, cfg, "--database", storetest.PostgresURL(t))("status"))
	})
}

// problemLine returns the stderr line reporting key, failing if none does.
func problemLine(t *testing.T, stderr, key string) string {
	t.Helper()
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, key) {
			return l
		}
	}
	t.Fatalf("no problem reported for %s; stderr:\n%s", key, stderr)
	return ""
}

func TestConfigCheck(t *testing.T) {
	needBinary(t)
	const quickstart = "../../examples/quickstart.yaml"
	t.Run("quickstart", func(t *testing.T) {
		t.Parallel()
		stdout, stderr, code := runCLI(t, []string{"INCIDENTHUB_SOURCE_TOKEN=" + sourceToken}, "config", "check", "--config", quickstart)
		require.Equal(t, 0, code, stderr)
		require.Contains(t, stdout, quickstart+": ok")
	})
	t.Run("missing env var", func(t *testing.T) {
		t.Parallel()
		stdout, stderr, code := runCLI(t, nil, "config", "check", "--config", quickstart)
		require.Equal(t, 1, code, stdout)
		line := problemLine(t, stderr, "INCIDENTHUB_SOURCE_TOKEN")
		require.Contains(t, line, quickstart+":11:")
		require.Contains(t, line, "sources[0].auth.token")
		require.NotContains(t, stdout, "ok")
	})
	// testdata/bad.yaml has an unknown key (line 6) and an unknown source
	// kind (line 9): both must be reported in one run.
	t.Run("unknown key and bad kind", func(t *testing.T) {
		t.Parallel()
		const file = "testdata/bad.yaml"
		stdout, stderr, code := runCLI(t, nil, "config", "check", "--config", file)
		require.Equal(t, 1, code, stdout)
		require.Contains(t, problemLine(t, stderr, "database.colour"), file+":6:3: database.colour: unknown key")
		require.Contains(t, problemLine(t, stderr, "sources[0].kind"), file+`:9:5: sources[0].kind: unknown kind "nagios"`)
	})
}

func TestUsage(t *testing.T) {
	needBinary(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "usage: incidenthub"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"serve without config", []string{"serve"}, "--config FILE is required"},
		{"migrate without subcommand", []string{"migrate"}, "migrate: want"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, stderr, code := runCLI(t, nil, tc.args...)
			require.Equal(t, 2, code, stderr)
			require.Contains(t, stderr, tc.want)
			require.Contains(t, stderr, "usage: incidenthub <command>")
		})
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/keyring"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

const healthConfig = `
ingest: {process: false}
sources:
  - name: am
    kind: generic
    auth: {type: token, token: "${SRC_TOKEN}"}
    owner: {name: platform-team, contact: "#platform-oncall"}
`

const healthAdminToken = "health-admin-token-4b1d"

// lockedLog is a log sink the in-process hub's goroutines write to.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedLog) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// keysEnv is a test's database, config files and environments.
type keysEnv struct {
	dir  string
	base map[string]string // database URL (PostgreSQL), source token, admin token
	file string            // the hub's config
}

func newKeysEnv(t *testing.T, dialect, extra string) *keysEnv {
	t.Helper()
	k := &keysEnv{dir: t.TempDir(), base: map[string]string{"SRC_TOKEN": "src-token-initial-91c2", "USER": "alice",
		"INCIDENTHUB_API_TOKEN": healthAdminToken}}
	text := healthConfig + extra
	if dialect == store.SQLite {
		text += fmt.Sprintf("database: {path: %q}\n", filepath.Join(k.dir, "hub.db"))
	} else {
		k.base[EnvDatabaseURL] = storetest.PostgresURL(t)
	}
	k.file = k.write(t, "hub.yaml", text)
	return k
}

func (k *keysEnv) write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(k.dir, name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

// withKey is the base environment with INCIDENTHUB_SECRET_KEY set to key.
func (k *keysEnv) withKey(key []byte) map[string]string {
	env := map[string]string{}
	for n, v := range k.base {
		env[n] = v
	}
	if key != nil {
		env[keyring.EnvKey] = base64.StdEncoding.EncodeToString(key)
	}
	return env
}

// keyFileConfig writes a copy of the hub's config whose
// registry.secret_key_file holds keys (decrypt only, below the env key).
func (k *keysEnv) keyFileConfig(t *testing.T, keys ...[]byte) string {
	t.Helper()
	var lines []string
	for _, key := range keys {
		lines = append(lines, base64.StdEncoding.EncodeToString(key))
	}
	keyFile := k.write(t, "old.keys", strings.Join(lines, "\n")+"\n")
	text, err := os.ReadFile(k.file)
	require.NoError(t, err)
	return k.write(t, "cli.yaml", string(text)+fmt.Sprintf("registry: {secret_key_file: %q}\n", keyFile))
}

// openStore opens the test's database as the CLI does.
func (k *keysEnv) openStore(t *testing.T) *store.Store {
	t.Helper()
	c := common{config: k.file}
	cfg, err := c.load(func(n string) string { return k.base[n] })
	require.NoError(t, err)
	st, err := app.OpenStore(context.Background(), cfg, false)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return k
}

// inprocHub is `incidenthub serve` running in this process.
type inprocHub struct {
	url  string
	logs *lockedLog
	stop func()
}

func serveInProcess(t *testing.T, file string, env map[string]string) *inprocHub {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	h := &inprocHub{url: "http://" + addr, logs: &lockedLog{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"incidenthub", "serve", "--config", file, "--listen", addr}, func(k string) string { return env[k] }, io.Discard, h.logs)
	}()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			require.Zero(t, <-done, "serve exits cleanly:\n%s", h.logs)
		})
	}
	t.Cleanup(h.stop)
	require.Eventually(t, func() bool {
		select {
		case code := <-done:
			done <- code
			return true
		default:
		}
		resp, err := http.Get(h.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond)
	select {
	case code := <-done:
		t.Fatalf("serve exited with %d:\n%s", code, h.logs)
	default:
	}
	return h
}

// do sends a request to the hub; token is a bearer token ("" for none).
func (h *inprocHub) do(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func (h *inprocHub) ingest(t *testing.T, token string) (int, string) {
	t.Helper()
	return h.do(t, http.MethodPost, "/hooks/am", token, `{"title":"disk full","status":"firing"}`)
}

// shownSecret is the last line of a rotate's output: the secret shown once.
func shownSecret(t *testing.T, out string) string {
	t.Helper()
	require.Contains(t, out, "shown once", out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// The silent outage: the CLI rotates with a key the running hub
// lacks. The CLI refuses, because the hub recorded which keys it holds;
// forced, it warns loudly. Then /readyz fails naming the entry, ingest
// answers 503 saying why, the registry flags the entry failing (API and
// gauge) and the hub logs it once. A rekey under the hub's key fixes it,
// and the hub recovers without a restart.
func TestReadyzUndecryptableSecret(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		k := newKeysEnv(t, dialect, "")
		hubKey, cliKey := newKey(t), bytes.Repeat([]byte{0xc1}, 32)
		h := serveInProcess(t, k.file, k.withKey(hubKey))

		code, body := h.do(t, http.MethodGet, "/readyz", "", "")
		require.Equal(t, http.StatusOK, code, body)

		_, stderr, code := cli(t, k.withKey(cliKey), "registry", "rotate", "am", "--config", k.file)
		require.Equal(t, 1, code, stderr)
		require.Contains(t, stderr, "1 running hub(s) cannot decrypt a secret sealed with this key ("+keyring.KeyID(cliKey)+")")
		require.Contains(t, stderr, "holds keys "+keyring.KeyID(hubKey))
		require.Contains(t, stderr, "--force")
		out, stderr, code := cli(t, k.withKey(hubKey), "registry", "show", "am", "--config", k.file)
		require.Zero(t, code, stderr)
		require.Regexp(t, `origin: config\s+version: 1`, out, "nothing changed")

		out, stderr, code = cli(t, k.withKey(cliKey), "registry", "rotate", "am", "--force", "--config", k.file)
		require.Zero(t, code, stderr)
		require.Contains(t, stderr, "WARNING: --force")
		secret := shownSecret(t, out)

		code, body = h.do(t, http.MethodGet, "/readyz", "", "")
		require.Equal(t, http.StatusServiceUnavailable, code, body)
		var ready struct {
			Status string
			Error  struct{ Code, Message string }
			Checks []struct {
				Name  string
				OK    bool
				Error string
			}
		}
		require.NoError(t, json.Unmarshal([]byte(body), &ready), body)
		require.Equal(t, "unready", ready.Status)
		require.Equal(t, "unavailable", ready.Error.Code)
		require.Len(t, ready.Checks, 3, body)
		require.True(t, ready.Checks[0].OK && ready.Checks[1].OK, "database and migrations are fine: %s", body)
		require.Equal(t, "registry inbound/am", ready.Checks[2].Name)
		require.False(t, ready.Checks[2].OK)
		require.Contains(t, ready.Checks[2].Error, "sealed with key "+keyring.KeyID(cliKey)+", which is not configured")
		require.NotContains(t, body, secret)

		for range 3 {
			code, body = h.ingest(t, secret)
			require.Equal(t, http.StatusServiceUnavailable, code, body)
			require.Contains(t, body, `cannot check credentials of source \"am\": its stored secret cannot be decrypted with this hub's keys (see /readyz)`)
		}
		code, body = h.do(t, http.MethodGet, "/api/v1/registry/am", healthAdminToken, "")
		require.Equal(t, http.StatusOK, code, body)
		require.Contains(t, body, `"failing":true`)
		require.Contains(t, body, "stored secret cannot be decrypted")
		code, body = h.do(t, http.MethodGet, "/metrics", "", "")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, `incidenthub_registry_failing{direction="inbound",name="am"} 1`)
		require.Equal(t, 1, strings.Count(h.logs.String(), "registry: entry failing"), "one log line, not one per request:\n%s", h.logs)
		require.NotContains(t, h.logs.String(), secret)

		// Fixed: rekeyed under the hub's key, the CLI's still decrypting.
		out, stderr, code = cli(t, k.withKey(hubKey), "registry", "rekey", "--config", k.keyFileConfig(t, cliKey))
		require.Zero(t, code, stderr)
		require.Contains(t, out, "rekeyed 1 entries to key "+keyring.KeyID(hubKey))
		code, body = h.do(t, http.MethodGet, "/readyz", "", "")
		require.Equal(t, http.StatusOK, code, body)
		code, body = h.ingest(t, secret)
		require.Equal(t, http.StatusAccepted, code, body)
		code, body = h.do(t, http.MethodGet, "/metrics", "", "")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, `incidenthub_registry_failing{direction="inbound",name="am"} 0`)
		require.Equal(t, 1, strings.Count(h.logs.String(), "decrypts again"), "%s", h.logs)
		require.Equal(t, 1, strings.Count(h.logs.String(), "registry: entry failing"))
	})
}

// Rekey, then restart with only the new key: the hub starts, the secrets
// decrypt and ingest works. A CLI holding only the dropped key is then
// refused.
func TestRekeyThenRestartWithNewKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		k := newKeysEnv(t, dialect, "")
		oldKey, nextKey := bytes.Repeat([]byte{0x0a}, 32), bytes.Repeat([]byte{0x0b}, 32)
		h := serveInProcess(t, k.file, k.withKey(oldKey))
		out, stderr, code := cli(t, k.withKey(oldKey), "registry", "rotate", "am", "--overlap", "0s", "--config", k.file)
		require.Zero(t, code, stderr)
		secret := shownSecret(t, out)
		code, body := h.ingest(t, secret)
		require.Equal(t, http.StatusAccepted, code, body)
		h.stop()

		// Without the old key the hub cannot start: it says which key.
		_, stderr, code = cli(t, k.withKey(nextKey), "serve", "--config", k.file, "--listen", "127.0.0.1:0")
		require.Equal(t, 1, code)
		require.Contains(t, stderr, "encrypted with key "+keyring.KeyID(oldKey))

		out, stderr, code = cli(t, k.withKey(nextKey), "registry", "rekey", "--config", k.keyFileConfig(t, oldKey))
		require.Zero(t, code, "the stopped hub no longer counts: %s", stderr)
		require.Contains(t, out, "rekeyed 1 entries to key "+keyring.KeyID(nextKey))

		h = serveInProcess(t, k.file, k.withKey(nextKey))
		code, body = h.do(t, http.MethodGet, "/readyz", "", "")
		require.Equal(t, http.StatusOK, code, body)
		code, body = h.ingest(t, secret)
		require.Equal(t, http.StatusAccepted, code, body)
		code, body = h.ingest(t, "src-token-initial-91c2")
		require.Equal(t, http.StatusUnauthorized, code, "the config's secret ended with the rotation: %s", body)
		code, body = h.do(t, http.MethodGet, "/api/v1/audit?action=registry.rekey", healthAdminToken, "")
		require.Equal(t, http.StatusOK, code, body)
		require.Contains(t, body, `"actor":"cli:alice"`)
		require.Contains(t, body, "re-encrypted from key "+keyring.KeyID(oldKey)+" to key "+keyring.KeyID(nextKey))

		_, stderr, code = cli(t, k.withKey(oldKey), "registry", "rotate", "am", "--config", k.keyFileConfig(t, nextKey))
		require.Equal(t, 1, code, stderr)
		require.Contains(t, stderr, "holds keys "+keyring.KeyID(nextKey))
	})
}

// A rotation and a revocation made with the CLI (no delivery engine)
// queue their owner notices in the database; the running hub sends each
// once to registry.notify_target, signed, without the secret.
func TestCLINoticesDeliveredByHub(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		const signing = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
		wh, err := standardwebhooks.NewWebhook(signing)
		require.NoError(t, err)
		var (
			mu       sync.Mutex
			received []string
		)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if err := wh.Verify(b, r.Header); err != nil {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if !strings.Contains(string(b), `"registry.verify"`) { // the scheduler verifies the target too
				mu.Lock()
				received = append(received, string(b))
				mu.Unlock()
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(srv.Close)
		notices := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), received...) }
		k := newKeysEnv(t, dialect, fmt.Sprintf(`registry: {notify_target: owners}
targets:
  - {name: owners, type: webhook, url: %q, secrets: [%s], allow_private_network: true}
`, srv.URL+"/owners", signing))
		key := bytes.Repeat([]byte{0x5e}, 32)
		h := serveInProcess(t, k.file, k.withKey(key))

		out, stderr, code := cli(t, k.withKey(key), "registry", "rotate", "am", "--config", k.file)
		require.Zero(t, code, stderr)
		rotated := shownSecret(t, out)
		require.Eventually(t, func() bool { return len(notices()) == 1 }, 15*time.Second, 50*time.Millisecond)
		n := notices()[0]
		require.Contains(t, n, `"type":"registry.secret_rotated"`)
		require.Contains(t, n, `"actor":"cli:alice"`)
		require.Regexp(t, regexp.MustCompile(`"entry":\{[^}]*"name":"am"`), n)
		require.Contains(t, n, "update the sender before")
		require.NotContains(t, n, rotated)

		out, stderr, code = cli(t, k.withKey(key), "registry", "revoke", "am", "--config", k.file)
		require.Zero(t, code, stderr)
		revoked := shownSecret(t, out)
		require.Eventually(t, func() bool { return len(notices()) == 2 }, 15*time.Second, 50*time.Millisecond)
		require.Contains(t, notices()[1], `"type":"registry.secret_revoked"`)
		require.NotContains(t, notices()[1], revoked)

		code, body := h.do(t, http.MethodGet, "/api/v1/audit?action=registry.notified", healthAdminToken, "")
		require.Equal(t, http.StatusOK, code, body)
		require.Equal(t, 2, strings.Count(body, `"action":"registry.notified"`), body)
		var queued, pending int64
		st := k.openStore(t)
		require.NoError(t, st.DB.Table("registry_notices").Count(&queued).Error)
		require.NoError(t, st.DB.Table("registry_notices").Where("sent_at IS NULL").Count(&pending).Error)
		require.Equal(t, int64(2), queued, "the CLI queued both")
		require.Zero(t, pending, "both are done: none is sent again")
		require.Len(t, notices(), 2)
	})
}

package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
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
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/connectors/slack/slackfake"
	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/keyring"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

const noticeConfig = `
database: %s
api:
  tokens:
    - {name: alice, token: admin-token-5c1e, role: admin}
registry:
  notify_target: owners
sources:
  - name: am
    kind: generic
    auth: {type: token, token: src-token-3f9a}
    owner: {name: platform-team, contact: "#platform-oncall"}
targets:
  - %s
`

// lockedBuffer is a log sink the hub's goroutines write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// noticeHub serves the hub with target as the registry's notify target
// and returns an admin API caller and the hub's log.
func noticeHub(t *testing.T, dialect, target string) (func(method, path string) (int, []byte), *lockedBuffer) {
	t.Helper()
	dir := t.TempDir()
	db := fmt.Sprintf("{path: %q}", filepath.Join(dir, "hub.db"))
	if dialect == store.Postgres {
		db = fmt.Sprintf("{url: %q}", storetest.PostgresURL(t))
	}
	file := filepath.Join(dir, "hub.yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(noticeConfig, db, target)), 0o644))
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	getenv := func(k string) string {
		if k == keyring.EnvKey {
			return key
		}
		return ""
	}
	cfg, err := config.Load(file, getenv)
	require.NoError(t, err)
	logs := &lockedBuffer{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- app.Serve(ctx, cfg, getenv, slog.New(slog.NewTextHandler(logs, nil)), ln, nil) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-served)
	})
	base := "http://" + ln.Addr().String()
	return func(method, path string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer admin-token-5c1e")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}, logs
}

// secretOf returns the secret a rotate or revoke response showed once.
func secretOf(t *testing.T, call func(method, path string) (int, []byte), path string) string {
	t.Helper()
	code, body := call(http.MethodPost, path)
	require.Equal(t, http.StatusOK, code, "%s", body)
	var out struct {
		Secret string `json:"secret"`
		Entry  struct {
			Secret struct{ Version int } `json:"secret"`
		} `json:"entry"`
	}
	require.NoError(t, json.Unmarshal(body, &out))
	require.NotEmpty(t, out.Secret)
	return out.Secret
}

// A rotation notifies the owner through registry.notify_target, a webhook:
// a signed registry.secret_rotated event naming the entry, its owner, the
// actor and how to get the secret, but not the secret. When the receiver
// fails, the revocation still stands and the failure is audited.
func TestOwnerNoticeToWebhook(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		const signing = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
		wh, err := standardwebhooks.NewWebhook(signing)
		require.NoError(t, err)
		type got struct {
			header http.Header
			body   []byte
		}
		var (
			mu       sync.Mutex
			received []got
			fail     atomic.Bool
		)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if err := wh.Verify(b, r.Header); err != nil {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			mu.Lock()
			received = append(received, got{r.Header.Clone(), b})
			mu.Unlock()
			if fail.Load() {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(srv.Close)
		notices := func() []got {
			mu.Lock()
			defer mu.Unlock()
			var out []got
			for _, g := range received {
				if !strings.Contains(string(g.body), `"registry.verify"`) { // the scheduler verifies the target too
					out = append(out, g)
				}
			}
			return out
		}
		call, logs := noticeHub(t, dialect, fmt.Sprintf("{name: owners, type: webhook, url: %q, secrets: [%s], allow_private_network: true}", srv.URL+"/owners", signing))

		rotated := secretOf(t, call, "/api/v1/registry/am/rotate")
		require.Len(t, notices(), 1, "the notice is sent before the rotate call answers")
		n := notices()[0]
		var ev struct {
			ID        string `json:"id"`
			Type      string `json:"type"`
			Target    string `json:"target"`
			Timestamp time.Time
			Actor     string `json:"actor"`
			Entry     struct {
				Name, Direction, Kind string
				Owner                 struct{ Name, Contact string }
				Secret                struct{ Version int }
			} `json:"entry"`
			Instructions string `json:"instructions"`
		}
		require.NoError(t, json.Unmarshal(n.body, &ev))
		require.Equal(t, "registry.secret_rotated", ev.Type)
		require.Equal(t, n.header.Get("webhook-id"), ev.ID)
		require.Equal(t, "owners", ev.Target)
		require.Equal(t, "alice", ev.Actor)
		require.Equal(t, "am", ev.Entry.Name)
		require.Equal(t, "inbound", ev.Entry.Direction)
		require.Equal(t, "generic", ev.Entry.Kind)
		require.Equal(t, "platform-team", ev.Entry.Owner.Name)
		require.Equal(t, "#platform-oncall", ev.Entry.Owner.Contact)
		require.Equal(t, 2, ev.Entry.Secret.Version)
		require.Contains(t, ev.Instructions, "update the sender before")
		require.NotContains(t, string(n.body), rotated, "the notice never carries the secret")
		require.NotContains(t, fmt.Sprint(n.header), rotated)

		// The receiver fails: the revocation stands, the failure is audited.
		fail.Store(true)
		revoked := secretOf(t, call, "/api/v1/registry/am/revoke")
		require.Len(t, notices(), 2)
		require.Contains(t, string(notices()[1].body), `"type":"registry.secret_revoked"`)
		require.NotContains(t, string(notices()[1].body), revoked)
		code, body := call(http.MethodGet, "/api/v1/registry/am")
		require.Equal(t, http.StatusOK, code, "%s", body)
		require.Contains(t, string(body), `"version":3`, "the revocation stands")
		code, body = call(http.MethodGet, "/api/v1/audit?action=registry.notif*")
		require.Equal(t, http.StatusOK, code, "%s", body)
		var trail struct {
			Records []struct{ Action, Entity, Detail string } `json:"records"`
		}
		require.NoError(t, json.Unmarshal(body, &trail), "%s", body)
		require.Len(t, trail.Records, 2, "%s", body)
		require.Equal(t, "registry.notify_failed", trail.Records[0].Action)
		require.Equal(t, "inbound/am", trail.Records[0].Entity)
		require.Contains(t, trail.Records[0].Detail, "500 Internal Server Error")
		require.Equal(t, "registry.notified", trail.Records[1].Action)
		require.Contains(t, logs.String(), "owner notice failed")
		for _, s := range []string{rotated, revoked} {
			require.NotContains(t, logs.String(), s, "no secret in the log")
			require.NotContains(t, string(body), s, "no secret in the audit trail")
		}
	})
}

// With a Slack notify target the owner notice is a chat.postMessage to
// the target's channel naming the entry, the owner's contact and the
// instructions, without the secret.
func TestOwnerNoticeToSlack(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		fake := slackfake.New("xoxb-notices-1")
		t.Cleanup(fake.Close)
		call, logs := noticeHub(t, dialect, fmt.Sprintf("{name: owners, type: slack, token: xoxb-notices-1, channel: C0OWNERS, api_url: %q, allow_private_network: true}", fake.APIURL()))

		rotated := secretOf(t, call, "/api/v1/registry/am/rotate")
		calls := fake.Calls()
		require.Len(t, calls, 1)
		c := calls[0]
		require.Equal(t, "chat.postMessage", c.Method)
		require.Equal(t, "C0OWNERS", c.Channel)
		require.Contains(t, c.Text, "*am*")
		require.Contains(t, c.Text, "rotated by alice")
		require.Contains(t, c.Text, "#platform-oncall")
		require.Contains(t, c.Text, "update the sender before")
		require.NotContains(t, c.Text, rotated, "the notice never carries the secret")
		require.NotContains(t, logs.String(), rotated)
	})
}

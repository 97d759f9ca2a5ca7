package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/web"
)

// Secrets the test configs reference through the environment. Each is
// distinctive so a leak into a body or log line cannot be a coincidence.
const (
	sourceToken = "srctok-5f0c2a9e71b4"
	viewerToken = "apitok-viewer-8d31e6c0"
	adminToken  = "apitok-env-admin-27bb94"
	hmacSecret  = "hmacsecret-c4e1770f"
)

var testEnv = map[string]string{
	"SOURCE_TOKEN": sourceToken,
	"VIEWER_TOKEN": viewerToken,
	"HMAC_SECRET":  hmacSecret,
}

// baseConfig declares one source per inbound feature under test.
const baseConfig = `
api:
  tokens:
    - name: dashboard
      token: ${VIEWER_TOKEN}
      role: viewer
sources:
  - name: am
    kind: alertmanager
    auth: {type: token, token: "${SOURCE_TOKEN}"}
  - name: am-query
    kind: alertmanager
    auth: {type: token, token: "${SOURCE_TOKEN}", query_param: token}
  - name: gen
    kind: generic
    auth: {type: none}
    idempotency_header: Idempotency-Key
  - name: gen2
    kind: generic
    auth: {type: none}
    idempotency_header: Idempotency-Key
  - name: hmac-hex
    kind: generic
    auth: {type: hmac, secret: "${HMAC_SECRET}", header: X-Hub-Signature-256, prefix: "sha256="}
  - name: hmac-b64
    kind: generic
    auth: {type: hmac, secret: "${HMAC_SECRET}", header: X-Payload-Mac, encoding: base64}
  - name: small
    kind: generic
    auth: {type: none}
    max_body_bytes: 64
  - name: allow
    kind: generic
    auth: {type: none}
    allow_ips: ["198.51.100.0/24", "2001:db8::/32"]
`

// hub is one web handler over a fresh store, with everything a test may
// want to look at afterwards.
type hub struct {
	t        *testing.T
	st       *store.Store
	handler  http.Handler
	log      *slog.Logger
	logs     *lockedBuffer
	accepted atomic.Int64

	mu        sync.Mutex
	responses []string // every response's headers and body, for leak checks
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newHub parses yamlText as the config (so validation runs), opens a
// migrated store of the dialect and builds the handler the way app.Serve
// does, with env as the environment.
func newHub(t *testing.T, dialect, yamlText string, env map[string]string) *hub {
	t.Helper()
	getenv := func(k string) string { return env[k] }
	cfg, err := config.Parse("test.yaml", []byte(yamlText), getenv)
	require.NoError(t, err)
	return newHubWithStore(t, storetest.Open(t, dialect), cfg, app.Tokens(cfg, getenv))
}

func newHubWithStore(t *testing.T, st *store.Store, cfg *config.Config, tokens []config.APIToken) *hub {
	t.Helper()
	h := &hub{t: t, st: st, logs: &lockedBuffer{}}
	h.log = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.handler = web.New(web.Deps{
		Store:    st,
		Config:   func() *config.Config { return cfg },
		Tokens:   tokens,
		Accepted: func() { h.accepted.Add(1) },
		Log:      h.log,
	})
	return h
}

// do serves r and records the response for leak checks.
func (h *hub) do(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, r)
	var dump strings.Builder
	_ = rec.Result().Header.Write(&dump)
	dump.WriteString(rec.Body.String())
	h.mu.Lock()
	h.responses = append(h.responses, dump.String())
	h.mu.Unlock()
	return rec
}

// post sends body to /hooks/{source} as application/json from 192.0.2.1;
// headers are name, value pairs.
func (h *hub) post(source string, body []byte, headers ...string) *httptest.ResponseRecorder {
	return h.do(hookRequest(source, body, headers...))
}

func hookRequest(target string, body []byte, headers ...string) *http.Request {
	if !strings.HasPrefix(target, "/") {
		target = "/hooks/" + target
	}
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	r.RemoteAddr = "192.0.2.1:40000"
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

// get sends GET target with an optional bearer token.
func (h *hub) get(target, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.RemoteAddr = "192.0.2.1:40000"
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return h.do(r)
}

// drain processes every pending event synchronously.
func (h *hub) drain() {
	h.t.Helper()
	p := processor.New(h.st, h.log, 1, time.Second)
	for range 100 {
		did, err := p.ProcessOne(context.Background())
		require.NoError(h.t, err)
		if !did {
			return
		}
	}
	h.t.Fatal("processor never ran out of pending events")
}

type ingestResponse struct {
	EventID   string `json:"event_id"`
	Duplicate *bool  `json:"duplicate"`
}

// requireAccepted checks a 202 and returns its event id and duplicate flag.
func requireAccepted(t *testing.T, rec *httptest.ResponseRecorder) (string, bool) {
	t.Helper()
	require.Equal(t, http.StatusAccepted, rec.Code, "body: %s", rec.Body)
	var out ingestResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	require.NotEmpty(t, out.EventID)
	require.NotNil(t, out.Duplicate, `"duplicate" must always be present: %s`, rec.Body)
	return out.EventID, *out.Duplicate
}

type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// requireError checks the status, the {"error":{"code","message"}} body,
// and that the message contains every one of words.
func requireError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string, words ...string) errorBody {
	t.Helper()
	require.Equal(t, status, rec.Code, "body: %s", rec.Body)
	require.Contains(t, rec.Header().Get("Content-Type"), "application/json")
	var body errorBody
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), "body: %s", rec.Body)
	require.Equal(t, code, body.Error.Code, "body: %s", rec.Body)
	require.NotEmpty(t, body.Error.Message)
	for _, w := range words {
		require.Contains(t, body.Error.Message, w)
	}
	require.Equal(t, rec.Header().Get("X-Request-Id"), body.Error.RequestID)
	return body
}

// countEvents counts every row of the events table, whatever its status.
func countEvents(t *testing.T, st *store.Store) int64 {
	t.Helper()
	var n int64
	require.NoError(t, st.DB.Model(&store.Event{}).Count(&n).Error)
	return n
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v), "body: %s", rec.Body)
	return v
}

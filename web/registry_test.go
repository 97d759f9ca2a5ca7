package web_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/keyring"
	"github.com/incidenthub/incidenthub/internal/registry"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/web"
)

const operatorToken = "apitok-operator-93c1aa"

const registryConfig = `
api:
  tokens:
    - {name: dashboard, token: "${VIEWER_TOKEN}", role: viewer}
    - {name: oncall, token: "${OPERATOR_TOKEN}", role: operator}
sources:
  - name: am
    kind: alertmanager
    auth: {type: token, token: "${SOURCE_TOKEN}"}
    owner: {name: platform, contact: "#platform-oncall"}
    description: production Alertmanager
    events: [alert.firing, alert.resolved]
    expected_interval: 1h
    rotation: {schedule: "@every 720h", overlap: 1h}
  - name: hmac-hex
    kind: generic
    auth: {type: hmac, secret: "${HMAC_SECRET}", header: X-Hub-Signature-256, prefix: "sha256="}
    owner: {name: payments}
  - name: gen
    kind: generic
    auth: {type: none}
`

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// registryHub is a hub with the webhook registry wired the way app.Serve
// wires it, on an injectable clock.
type registryHub struct {
	*hub
	reg   *registry.Registry
	clock *testClock
	prom  *prometheus.Registry
}

func newRegistryHub(t *testing.T, dialect string) *registryHub {
	t.Helper()
	return newRegistryHubWith(t, dialect, registryConfig, nil)
}

// newRegistryHubWith is newRegistryHub over another config; extra adds to
// the environment.
func newRegistryHubWith(t *testing.T, dialect, yamlText string, extra map[string]string) *registryHub {
	t.Helper()
	env := map[string]string{"SOURCE_TOKEN": sourceToken, "HMAC_SECRET": hmacSecret, "VIEWER_TOKEN": viewerToken,
		"OPERATOR_TOKEN": operatorToken, app.EnvAPIToken: adminToken}
	for k, v := range extra {
		env[k] = v
	}
	getenv := func(k string) string { return env[k] }
	cfg, err := config.Parse("test.yaml", []byte(yamlText), getenv)
	require.NoError(t, err)
	key := make([]byte, 32)
	_, err = rand.Read(key)
	require.NoError(t, err)
	keys, err := keyring.New(key)
	require.NoError(t, err)

	st := storetest.Open(t, dialect)
	h := &hub{t: t, st: st, logs: &lockedBuffer{}}
	h.log = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rh := &registryHub{hub: h, clock: &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, prom: prometheus.NewRegistry()}
	rh.reg = registry.New(registry.Options{Store: st, Keys: keys, Log: h.log, Now: rh.clock.Now,
		AuthFailureSpike: cfg.Registry.AuthFailureSpike, Metrics: rh.prom})
	require.NoError(t, rh.reg.Sync(context.Background(), registry.FromSources(cfg.Sources), audit.ActorConfig))
	h.handler = web.New(web.Deps{
		Store: st, Config: func() *config.Config { return cfg }, Tokens: app.Tokens(cfg, getenv),
		Accepted: func() { h.accepted.Add(1) }, Log: h.log, Registry: rh.prom, Webhooks: rh.reg,
	})
	return rh
}

// send makes an API request with a JSON body (may be empty).
func (h *hub) send(method, target, token, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.RemoteAddr = "192.0.2.1:40000"
	r.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return h.do(r)
}

type secretResp struct {
	Entry  registry.Entry `json:"entry"`
	Secret string         `json:"secret"`
}

// Old and new secrets both authenticate inbound requests during the
// rotation's overlap; only the new one after it.
func TestRotationOverlapThroughHooks(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newRegistryHub(t, dialect)
		body := testdata(t, "generic-single.json")
		bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
		sig := func(secret string) []string {
			return []string{"X-Hub-Signature-256", "sha256=" + hex.EncodeToString(sign(secret, body))}
		}
		// Distinct bodies so dedup never hides an auth decision.
		am := func(n int) []byte {
			return []byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A` + string(rune('a'+n)) + `"},"fingerprint":"f` + string(rune('a'+n)) + `"}]}`)
		}

		requireAccepted(t, h.post("am", am(0), bearer(sourceToken)...))
		requireAccepted(t, h.post("hmac-hex", body, sig(hmacSecret)...))

		rec := h.send(http.MethodPost, "/api/v1/registry/am/rotate", adminToken, `{"overlap":"1h"}`)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body)
		require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		rot := decode[secretResp](t, rec)
		newToken := rot.Secret
		require.NotEmpty(t, newToken)
		require.Equal(t, 2, rot.Entry.Secret.Version)
		rec = h.send(http.MethodPost, "/api/v1/registry/hmac-hex/rotate", adminToken, "")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body)
		newHMAC := decode[secretResp](t, rec).Secret

		// During the overlap (1h for am; hmac-hex has the default 24h).
		h.clock.Add(59 * time.Minute)
		requireAccepted(t, h.post("am", am(1), bearer(sourceToken)...))
		requireAccepted(t, h.post("am", am(2), bearer(newToken)...))
		requireAccepted(t, h.post("hmac-hex", []byte(`{"id":"1"}`), "X-Hub-Signature-256", "sha256="+hex.EncodeToString(sign(hmacSecret, []byte(`{"id":"1"}`)))))
		requireAccepted(t, h.post("hmac-hex", []byte(`{"id":"2"}`), "X-Hub-Signature-256", "sha256="+hex.EncodeToString(sign(newHMAC, []byte(`{"id":"2"}`)))))

		// After it.
		h.clock.Add(2 * time.Minute)
		requireError(t, h.post("am", am(3), bearer(sourceToken)...), 401, "unauthorized", "invalid token")
		requireAccepted(t, h.post("am", am(4), bearer(newToken)...))
		h.clock.Add(24 * time.Hour)
		requireError(t, h.post("hmac-hex", []byte(`{"id":"3"}`), "X-Hub-Signature-256", "sha256="+hex.EncodeToString(sign(hmacSecret, []byte(`{"id":"3"}`)))), 401, "unauthorized", "signature mismatch")
		requireAccepted(t, h.post("hmac-hex", []byte(`{"id":"4"}`), "X-Hub-Signature-256", "sha256="+hex.EncodeToString(sign(newHMAC, []byte(`{"id":"4"}`)))))

		// Compromised: revoke everything; the rotated token stops at once.
		rec = h.send(http.MethodPost, "/api/v1/registry/am/revoke", adminToken, "")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body)
		revoked := decode[secretResp](t, rec).Secret
		requireError(t, h.post("am", am(5), bearer(newToken)...), 401, "unauthorized")
		requireAccepted(t, h.post("am", am(6), bearer(revoked)...))

		// The secrets appear in their one response each and nowhere else:
		// not in other responses, the log, the audit trail or the database.
		rec = h.get("/api/v1/audit?entity_type=registry", viewerToken)
		require.Equal(t, http.StatusOK, rec.Code)
		h.get("/api/v1/registry/am", viewerToken)
		h.get("/api/v1/registry", viewerToken)
		h.mu.Lock()
		responses := append([]string(nil), h.responses...)
		h.mu.Unlock()
		for _, secret := range []string{newToken, newHMAC, revoked} {
			n := 0
			for _, r := range responses {
				if strings.Contains(r, secret) {
					n++
				}
			}
			require.Equal(t, 1, n, "a secret is shown exactly once")
			require.NotContains(t, h.logs.String(), secret)
			var raw strings.Builder
			rows, err := h.st.SQL.Query("SELECT COALESCE(secret_current, '') || COALESCE(secret_previous, '') FROM registry_entries")
			require.NoError(t, err)
			for rows.Next() {
				var s string
				require.NoError(t, rows.Scan(&s))
				raw.WriteString(s)
			}
			require.NoError(t, rows.Close())
			require.NotContains(t, raw.String(), secret, "encrypted at rest")
			require.NotContains(t, raw.String(), hmacSecret)
		}
		records := decode[struct {
			Records []audit.Entry `json:"records"`
		}](t, rec).Records
		var actions []string
		for _, r := range records {
			actions = append(actions, r.Actor+" "+r.Action+" "+r.Entity)
		}
		require.Contains(t, actions, "env registry.rotate inbound/am")
		require.Contains(t, actions, "env registry.revoke inbound/am")
	})
}

func TestRegistryAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newRegistryHub(t, dialect)

		list := decode[struct {
			Entries []registry.Entry `json:"entries"`
		}](t, h.get("/api/v1/registry", viewerToken)).Entries
		require.Len(t, list, 3)
		am := list[0]
		require.Equal(t, "am", am.Name)
		require.Equal(t, "inbound", am.Direction)
		require.Equal(t, "config", am.ManagedBy)
		require.Equal(t, "/hooks/am", am.Endpoint)
		require.Equal(t, "token", am.AuthMethod)
		require.Equal(t, "#platform-oncall", am.Owner.Contact)
		require.Equal(t, []string{"alert.firing", "alert.resolved"}, am.Events)
		require.True(t, am.Secret.Present)
		require.NotNil(t, am.Rotation.NextDueAt)

		for target, want := range map[string][]string{
			"/api/v1/registry?owner=payments":               {"hmac-hex"},
			"/api/v1/registry?direction=outbound":           nil,
			"/api/v1/registry?limit=2":                      {"am", "gen"},
			"/api/v1/registry?limit=2&cursor=inbound%2Fgen": {"hmac-hex"},
			"/api/v1/registry?stale=true":                   nil,
		} {
			got := decode[struct {
				Entries []registry.Entry `json:"entries"`
			}](t, h.get(target, viewerToken)).Entries
			var names []string
			for _, e := range got {
				names = append(names, e.Name)
			}
			require.Equal(t, want, names, target)
		}
		// Silent past its expected interval: stale.
		h.clock.Add(2 * time.Hour)
		got := decode[struct {
			Entries []registry.Entry `json:"entries"`
		}](t, h.get("/api/v1/registry?stale=true", viewerToken)).Entries
		require.Len(t, got, 1)
		require.Equal(t, "am", got[0].Name)

		requireError(t, h.get("/api/v1/registry?stale=maybe", viewerToken), 400, "invalid", "stale")
		requireError(t, h.get("/api/v1/registry?direction=sideways", viewerToken), 400, "invalid", "direction")
		requireError(t, h.get("/api/v1/registry/nope", viewerToken), 404, "not_found", "nope")
		requireError(t, h.send(http.MethodPost, "/api/v1/registry/am/rotate", viewerToken, ""), 403, "forbidden", "admin")
		requireError(t, h.send(http.MethodPost, "/api/v1/registry/am/rotate", adminToken, `{"overlap":"soon"}`), 400, "invalid", "overlap")
		requireError(t, h.send(http.MethodPost, "/api/v1/registry/am/rotate", adminToken, `{"overlapp":"1h"}`), 400, "invalid", "overlapp")
		requireError(t, h.send(http.MethodPost, "/api/v1/registry/gen/rotate", adminToken, ""), 409, "conflict", "no secret to rotate")
		requireError(t, h.send(http.MethodPost, "/api/v1/registry/am/revoke", adminToken, `{"previous_only":true}`), 409, "conflict", "no previous secret")

		// Config-managed: no edits through the API, with the reason.
		requireError(t, h.send(http.MethodPatch, "/api/v1/registry/am", adminToken, `{"description":"x"}`), 409, "conflict", "managed by the config file")
		requireError(t, h.send(http.MethodDelete, "/api/v1/registry/am", adminToken, ""), 409, "conflict", "managed by the config file")

		// Verify: operators may.
		rec := h.send(http.MethodPost, "/api/v1/registry/am/verify", operatorToken, "")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body)
		v := decode[struct {
			Entry        registry.Entry        `json:"entry"`
			Verification registry.Verification `json:"verification"`
		}](t, rec)
		require.True(t, v.Verification.OK)
		require.NotNil(t, v.Entry.LastVerifiedAt)

		// API-managed entries: create (secret once), edit, delete.
		rec = h.send(http.MethodPost, "/api/v1/registry", adminToken,
			`{"name":"billing","direction":"outbound","kind":"webhook","auth_method":"standard-webhooks","endpoint":"https://billing.example/hook","owner":{"name":"billing"}}`)
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body)
		created := decode[secretResp](t, rec)
		require.True(t, strings.HasPrefix(created.Secret, "whsec_"))
		require.Equal(t, "api", created.Entry.ManagedBy)
		rec = h.send(http.MethodPatch, "/api/v1/registry/billing", adminToken, `{"description":"invoices"}`)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body)
		require.NotContains(t, rec.Body.String(), created.Secret)
		requireError(t, h.send(http.MethodPatch, "/api/v1/registry/billing", adminToken, `{"rotation_schedule":"sometimes"}`), 400, "invalid", "cron")
		rec = h.send(http.MethodDelete, "/api/v1/registry/billing", adminToken, "")
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body)

		// Audit: each action recorded, filterable, newest first.
		recs := decode[struct {
			Records    []audit.Entry `json:"records"`
			NextCursor string        `json:"next_cursor"`
		}](t, h.get("/api/v1/audit?entity=outbound%2Fbilling", viewerToken))
		var actions []string
		for _, r := range recs.Records {
			actions = append(actions, r.Action+" by "+r.Actor)
		}
		require.Equal(t, []string{"registry.remove by env", "registry.update by env", "registry.create by env"}, actions)
		page := decode[struct {
			Records    []audit.Entry `json:"records"`
			NextCursor string        `json:"next_cursor"`
		}](t, h.get("/api/v1/audit?limit=1&action=registry.verify", viewerToken))
		require.Len(t, page.Records, 1)
		require.Equal(t, "oncall", page.Records[0].Actor)
		requireError(t, h.get("/api/v1/audit?since=yesterday", viewerToken), 400, "invalid", "RFC 3339")
		// Append-only: there is no route that changes a record.
		requireError(t, h.send(http.MethodDelete, "/api/v1/audit", adminToken, ""), 405, "method_not_allowed")
	})
}

// Auth failures are counted per source with the last offending IPs, in the
// API and as a metric; a spike is an audited operational event.
func TestAuthFailuresTracked(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newRegistryHub(t, dialect)
		for i := range config.DefaultAuthFailureSpike {
			r := hookRequest("am", []byte(`{}`), "Authorization", "Bearer wrong")
			r.RemoteAddr = "203.0.113." + string(rune('1'+i%3)) + ":5000"
			requireError(t, h.do(r), 401, "unauthorized")
		}
		requireError(t, h.post("nope", []byte(`{}`)), 404, "not_found")
		e := decode[struct {
			Entry registry.Entry `json:"entry"`
		}](t, h.get("/api/v1/registry/am", viewerToken)).Entry
		require.EqualValues(t, config.DefaultAuthFailureSpike, e.AuthFailures.Count)
		require.ElementsMatch(t, []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"}, e.AuthFailures.LastIPs)
		require.True(t, e.Flags.Failing)
		metrics := h.get("/metrics", "").Body.String()
		require.Contains(t, metrics, `incidenthub_inbound_auth_failures_total{source="am"} 20`)
		require.NotContains(t, metrics, `source="nope"`)
		spikes := decode[struct {
			Records []audit.Entry `json:"records"`
		}](t, h.get("/api/v1/audit?action=inbound.auth_failure_spike", viewerToken)).Records
		require.Len(t, spikes, 1)
		require.Equal(t, "system", spikes[0].Actor)
	})
}

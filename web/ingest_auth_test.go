package web_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/registry"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// Secrets of the vendor auth types; distinctive, so a leak cannot be a
// coincidence.
const (
	basicPassword = "basicpw-61c0d7f3a2"
	sentrySecret  = "5e4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7"
	sentryNew     = "9a8b7c6d5e4f30211f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988"
	pdSecret      = "pdsecret-0b7e9a41c3+XyZ/AbC"
)

// whsecKey is the key of the Standard Webhooks source, whsecSecret its
// whsec_ form.
var (
	whsecKey    = []byte("inbound-standard-webhooks-key-01")
	whsecSecret = "whsec_" + base64.StdEncoding.EncodeToString(whsecKey)
)

var authEnv = map[string]string{
	"BASIC_PW": basicPassword, "SENTRY_SECRET": sentrySecret, "PD_SECRET": pdSecret, "WHSEC": whsecSecret,
}

const authConfig = `
sources:
  - {name: grafana, kind: generic, auth: {type: basic, username: grafana, password: "${BASIC_PW}"}}
  - {name: sentry, kind: generic, auth: {type: sentry, secret: "${SENTRY_SECRET}"}}
  - {name: pd, kind: generic, auth: {type: pagerduty, secret: "${PD_SECRET}"}}
  - {name: sw, kind: generic, auth: {type: standard-webhooks, secret: "${WHSEC}"}}
  - {name: sw-idem, kind: generic, auth: {type: standard-webhooks, secret: "${WHSEC}"}, idempotency_header: Idempotency-Key}
  - {name: gen, kind: generic, auth: {type: none}}
`

func hexMAC(secret string, parts ...[]byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		m.Write(p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

func basicAuth(user, pass string) []string {
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
}

func sentryHeaders(secret string, body []byte, at time.Time) []string {
	return []string{"Sentry-Hook-Signature", hexMAC(secret, body), "Sentry-Hook-Timestamp", strconv.FormatInt(at.Unix(), 10), "Sentry-Hook-Resource", "issue"}
}

func pdHeaders(secret string, body []byte) []string {
	return []string{"X-PagerDuty-Signature", "v1=" + hexMAC(secret, body)}
}

func swHeaders(id string, at time.Time, body []byte) []string {
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, whsecKey)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return []string{"webhook-id", id, "webhook-timestamp", ts, "webhook-signature", "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))}
}

// Every new auth type through the real handler: 202 for a good request;
// 401 with a JSON error naming the problem for a wrong signature, a stale
// timestamp, a missing header; each failure counted by the registry.
func TestIngestVendorAuth(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newRegistryHubWith(t, dialect, authConfig, authEnv)
		now := time.Now().Truncate(time.Second) // the receive time is a few ms later: ages round to whole seconds
		stale, future := now.Add(-10*time.Minute), now.Add(10*time.Minute)
		type tcase struct {
			name    string
			source  string
			headers func(body []byte) []string
			status  int
			words   []string
		}
		tests := []tcase{
			{name: "basic good", source: "grafana", headers: func([]byte) []string { return basicAuth("grafana", basicPassword) }, status: 202},
			{name: "basic wrong password", source: "grafana", headers: func([]byte) []string { return basicAuth("grafana", "nope") }, status: 401, words: []string{"invalid username or password"}},
			{name: "basic wrong user", source: "grafana", headers: func([]byte) []string { return basicAuth("admin", basicPassword) }, status: 401, words: []string{"invalid username or password"}},
			{name: "basic missing", source: "grafana", headers: func([]byte) []string { return nil }, status: 401, words: []string{"missing Authorization header", "Basic"}},
			{name: "basic malformed", source: "grafana", headers: func([]byte) []string { return []string{"Authorization", "Basic %%%"} }, status: 401, words: []string{"malformed Authorization header"}},

			{name: "sentry good", source: "sentry", headers: func(b []byte) []string { return sentryHeaders(sentrySecret, b, now) }, status: 202},
			{name: "sentry wrong signature", source: "sentry", headers: func(b []byte) []string { return sentryHeaders(sentryNew, b, now) }, status: 401, words: []string{"signature mismatch", "Sentry-Hook-Signature"}},
			{name: "sentry stale timestamp", source: "sentry", headers: func(b []byte) []string { return sentryHeaders(sentrySecret, b, stale) }, status: 401, words: []string{"stale timestamp", "Sentry-Hook-Timestamp", "sent 10m", "ago, outside the 5m0s tolerance"}},
			{name: "sentry future timestamp", source: "sentry", headers: func(b []byte) []string { return sentryHeaders(sentrySecret, b, future) }, status: 401, words: []string{"in the future", "5m0s tolerance"}},
			{name: "sentry missing header", source: "sentry", headers: func([]byte) []string { return []string{"Sentry-Hook-Timestamp", strconv.FormatInt(now.Unix(), 10)} }, status: 401, words: []string{"missing Sentry-Hook-Signature header"}},
			{name: "sentry malformed header", source: "sentry", headers: func([]byte) []string { return []string{"Sentry-Hook-Signature", "sha256=abc"} }, status: 401, words: []string{"malformed Sentry-Hook-Signature header"}},

			{name: "pagerduty good", source: "pd", headers: func(b []byte) []string { return pdHeaders(pdSecret, b) }, status: 202},
			{name: "pagerduty two signatures", source: "pd", headers: func(b []byte) []string {
				return []string{"X-PagerDuty-Signature", "v1=" + hexMAC("rotating-away", b) + ",v1=" + hexMAC(pdSecret, b)}
			}, status: 202},
			{name: "pagerduty wrong signature", source: "pd", headers: func(b []byte) []string { return pdHeaders("nope", b) }, status: 401, words: []string{"signature mismatch", "X-PagerDuty-Signature"}},
			{name: "pagerduty missing header", source: "pd", headers: func([]byte) []string { return nil }, status: 401, words: []string{"missing X-PagerDuty-Signature header"}},
			{name: "pagerduty malformed header", source: "pd", headers: func(b []byte) []string { return []string{"X-PagerDuty-Signature", hexMAC(pdSecret, b)} }, status: 401, words: []string{"malformed X-PagerDuty-Signature header", "v1="}},

			{name: "standard-webhooks good", source: "sw", headers: func(b []byte) []string { return swHeaders("msg_good_"+hexMAC("id", b)[:8], now, b) }, status: 202},
			{name: "standard-webhooks wrong signature", source: "sw", headers: func(b []byte) []string {
				hs := swHeaders("msg_1", now, b)
				hs[5] = "v1," + base64.StdEncoding.EncodeToString(make([]byte, 32))
				return hs
			}, status: 401, words: []string{"signature mismatch", "webhook-signature"}},
			{name: "standard-webhooks stale timestamp", source: "sw", headers: func(b []byte) []string { return swHeaders("msg_2", stale, b) }, status: 401, words: []string{"stale timestamp", "webhook-timestamp", "sent 10m", "ago, outside the 5m0s tolerance"}},
			{name: "standard-webhooks future timestamp", source: "sw", headers: func(b []byte) []string { return swHeaders("msg_3", future, b) }, status: 401, words: []string{"in the future"}},
			{name: "standard-webhooks missing header", source: "sw", headers: func(b []byte) []string { return swHeaders("msg_4", now, b)[:4] }, status: 401, words: []string{"missing webhook-signature header"}},
			{name: "standard-webhooks malformed header", source: "sw", headers: func(b []byte) []string {
				hs := swHeaders("msg_5", now, b)
				hs[5] = strings.TrimPrefix(hs[5], "v1,")
				return hs
			}, status: 401, words: []string{"malformed webhook-signature header"}},
		}
		accepted := 0
		failures := map[string]int{}
		for i, tt := range tests {
			body := fmt.Appendf(nil, `{"alert_type":"auth_case","case":%d}`, i)
			rec := h.post(tt.source, body, tt.headers(body)...)
			if tt.status == http.StatusAccepted {
				id, dup := requireAccepted(t, rec)
				require.False(t, dup, tt.name)
				accepted++
				ev, err := h.st.GetEvent(context.Background(), id)
				require.NoError(t, err)
				require.Equal(t, body, ev.Body, "stored byte for byte")
				for k, v := range ev.Headers.V {
					if strings.Contains(strings.ToLower(k), "signature") || k == "Authorization" {
						require.Equal(t, "<redacted>", v, "%s: %s is stored redacted", tt.name, k)
					}
				}
				continue
			}
			t.Run(tt.name, func(t *testing.T) { requireError(t, rec, tt.status, "unauthorized", tt.words...) })
			failures[tt.source]++
			if tt.source == "grafana" {
				require.Equal(t, `Basic realm="incidenthub", charset="UTF-8"`, rec.Header().Get("WWW-Authenticate"))
			}
		}
		require.EqualValues(t, accepted, countEvents(t, h.st), "nothing refused is stored")
		for source, n := range failures {
			e, err := h.reg.Get(context.Background(), registry.Inbound, source)
			require.NoError(t, err)
			require.EqualValues(t, n, e.AuthFailures.Count, "every refusal of %s feeds the registry", source)
		}
		h.requireNoSecretInResponses(sentrySecret, sentryNew, basicPassword, pdSecret, whsecSecret, strings.TrimPrefix(whsecSecret, "whsec_"))
	})
}

// requireNoSecretInResponses checks no response so far shows a secret, or
// the expected signature of any body under it (HMAC-SHA256, hex).
func (h *hub) requireNoSecretInResponses(secrets ...string) {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.responses {
		for _, s := range secrets {
			require.NotContains(h.t, r, s)
		}
	}
	require.NotContains(h.t, h.logs.String(), secrets[0])
}

// A Standard Webhooks delivery's webhook-id is its dedup key: a retry,
// signed again with a new timestamp, is a duplicate; an explicit
// idempotency_header wins over it.
func TestIngestStandardWebhooksDedup(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newHub(t, dialect, authConfig, authEnv)
		body := []byte(`{"type":"alert.firing","data":{"alert_type":"disk_full","host":"db-1"}}`)
		now := time.Now()

		first, dup := requireAccepted(t, h.post("sw", body, swHeaders("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", now.Add(-time.Minute), body)...))
		require.False(t, dup)
		retry, dup := requireAccepted(t, h.post("sw", body, swHeaders("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", now, body)...))
		require.True(t, dup, "the sender's retry of one delivery is a duplicate")
		require.Equal(t, first, retry)
		ev, err := h.st.GetEvent(context.Background(), first)
		require.NoError(t, err)
		require.Equal(t, "delivery:msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", *ev.DedupKey)
		require.Equal(t, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", ev.Headers.V["Webhook-Id"], "the id and timestamp are kept: they are not secret")
		require.NotEmpty(t, ev.Headers.V["Webhook-Timestamp"])
		require.Equal(t, "<redacted>", ev.Headers.V["Webhook-Signature"])

		_, dup = requireAccepted(t, h.post("sw", body, swHeaders("msg_other", now, body)...))
		require.False(t, dup, "the same body under another id is another delivery")

		// A very long id still fits the index.
		long := "msg_" + strings.Repeat("x", 500)
		id, dup := requireAccepted(t, h.post("sw", body, swHeaders(long, now, body)...))
		require.False(t, dup)
		again, dup := requireAccepted(t, h.post("sw", body, swHeaders(long, now, body)...))
		require.True(t, dup)
		require.Equal(t, id, again)

		// idempotency_header, when the request carries it, decides.
		a, dup := requireAccepted(t, h.post("sw-idem", body, append(swHeaders("msg_a", now, body), "Idempotency-Key", "k-1")...))
		require.False(t, dup)
		b, dup := requireAccepted(t, h.post("sw-idem", body, append(swHeaders("msg_b", now, body), "Idempotency-Key", "k-1")...))
		require.True(t, dup, "same idempotency key, other webhook-id: the explicit header wins")
		require.Equal(t, a, b)
		_, dup = requireAccepted(t, h.post("sw-idem", body, swHeaders("msg_a", now, body)...))
		require.False(t, dup, "without the header, the webhook-id is the key (a different namespace)")
	})
}

// Sentry issues its client secret; after rotating it in Sentry the admin
// gives the hub the new one through the API, and both work during the
// overlap, then only the new one.
func TestSuppliedSecretThroughHooks(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newRegistryHubWith(t, dialect, authConfig, authEnv)
		n := 0
		post := func(secret string) int {
			n++
			body := fmt.Appendf(nil, `{"n":%d}`, n)
			return h.post("sentry", body, sentryHeaders(secret, body, time.Now())...).Code
		}
		require.Equal(t, 202, post(sentrySecret))
		require.Equal(t, 401, post(sentryNew))

		rec := h.send(http.MethodPost, "/api/v1/registry/sentry/rotate", adminToken, "")
		requireError(t, rec, http.StatusConflict, "conflict", "the vendor issues it", "Sentry", `{"secret"`)

		rec = h.send(http.MethodPost, "/api/v1/registry/sentry/rotate", adminToken, `{"secret":"`+sentryNew+`","overlap":"1h"}`)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body)
		got := decode[secretResp](t, rec)
		require.Empty(t, got.Secret, "a supplied secret is not echoed")
		require.NotContains(t, rec.Body.String(), sentryNew)
		require.Equal(t, registry.OriginRegistry, got.Entry.Secret.Origin)

		require.Equal(t, 202, post(sentryNew))
		require.Equal(t, 202, post(sentrySecret), "the old secret works during the overlap")
		h.clock.Add(time.Hour + time.Minute)
		require.Equal(t, 202, post(sentryNew))
		require.Equal(t, 401, post(sentrySecret), "and not after it")

		rec = h.send(http.MethodPost, "/api/v1/registry/sw/rotate", adminToken, `{"secret":"not-whsec"}`)
		requireError(t, rec, http.StatusBadRequest, "invalid", "whsec_")
	})
}

// The nesting limit: 64 levels pass, 65 are refused before anything
// parses the body (before authentication too), with the limit named.
func TestIngestNestingLimit(t *testing.T) {
	t.Parallel()
	nest := func(levels int) []byte {
		var b strings.Builder
		for i := range levels {
			if i%2 == 0 {
				b.WriteString(`{"a":`)
			} else {
				b.WriteString(`[`)
			}
		}
		b.WriteString(`1`)
		for i := levels - 1; i >= 0; i-- {
			if i%2 == 0 {
				b.WriteString(`}`)
			} else {
				b.WriteString(`]`)
			}
		}
		return []byte(b.String())
	}
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newHub(t, dialect, authConfig, authEnv)
		requireAccepted(t, h.post("gen", nest(64)))
		requireAccepted(t, h.post("gen", []byte(strings.Repeat("[", 64)+strings.Repeat("]", 64))))
		requireAccepted(t, h.post("gen", []byte(`{"note":"`+strings.Repeat("[{", 100)+`\"]"}`))) // brackets inside strings do not nest

		requireError(t, h.post("gen", nest(65)), http.StatusBadRequest, "invalid", "body nests deeper than 64 levels")
		requireError(t, h.post("gen", []byte(strings.Repeat("[", 65)+strings.Repeat("]", 65))), http.StatusBadRequest, "invalid", "body nests deeper than 64 levels")
		requireError(t, h.post("gen", []byte(strings.Repeat("[", 100000))), http.StatusBadRequest, "invalid", "64 levels")
		requireError(t, h.post("gen", []byte(`]`)), http.StatusBadRequest, "invalid", "not valid JSON")
		requireError(t, h.post("sentry", nest(65)), http.StatusBadRequest, "invalid", "64 levels")
		require.EqualValues(t, 3, countEvents(t, h.st))

		// ingest.max_depth moves the limit.
		low := newHub(t, dialect, "ingest: {max_depth: 3}\n"+authConfig, authEnv)
		requireAccepted(t, low.post("gen", nest(3)))
		requireError(t, low.post("gen", nest(4)), http.StatusBadRequest, "invalid", "body nests deeper than 3 levels")
	})
}

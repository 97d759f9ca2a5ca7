package web_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

func TestIngestAccepted(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newHub(t, dialect, baseConfig, testEnv)
		body := testdata(t, "alertmanager-firing.json")

		rec := h.post("am", body, "Authorization", "Bearer "+sourceToken, "X-Request-Id", "req-1")
		require.Equal(t, http.StatusAccepted, rec.Code, "body: %s", rec.Body)
		var raw map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw))
		require.Len(t, raw, 2, "the 202 body is exactly event_id and duplicate: %s", rec.Body)
		require.Equal(t, false, raw["duplicate"])
		id, _ := raw["event_id"].(string)
		require.NotEmpty(t, id)
		require.Equal(t, "req-1", rec.Header().Get("X-Request-Id"))

		ev, err := h.st.GetEvent(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, store.EventPending, ev.Status)
		require.Equal(t, "am", ev.Source)
		require.Equal(t, "alertmanager", ev.Kind)
		require.True(t, bytes.Equal(body, ev.Body), "stored body must be byte-identical")
		require.Equal(t, "192.0.2.1", ev.RemoteAddr)
		require.Equal(t, "application/json", ev.ContentType)
		require.Equal(t, "<redacted>", ev.Headers.V["Authorization"])
		require.Equal(t, "req-1", ev.Headers.V["X-Request-Id"], "harmless headers are kept as sent")
		require.NotNil(t, ev.DedupKey, "an Alertmanager delivery has its own identity")
		require.Zero(t, ev.Attempts)
		require.Nil(t, ev.ProcessedAt)

		require.EqualValues(t, 1, h.accepted.Load(), "Accepted is called once per stored event")
		require.EqualValues(t, 1, countEvents(t, h.st))
	})
}

func TestIngestDuplicate(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newHub(t, dialect, baseConfig, testEnv)
		auth := []string{"Authorization", "Bearer " + sourceToken}
		firing := testdata(t, "alertmanager-firing.json")

		first, dup := requireAccepted(t, h.post("am", firing, auth...))
		require.False(t, dup)

		again, dup := requireAccepted(t, h.post("am", firing, auth...))
		require.True(t, dup, "the same delivery sent twice is a duplicate")
		require.Equal(t, first, again, "a duplicate answers with the first event's id")
		require.EqualValues(t, 1, countEvents(t, h.st))
		require.EqualValues(t, 1, h.accepted.Load(), "a duplicate does not wake the processor")

		// Re-indented JSON of the same alerts is the same delivery.
		var v any
		require.NoError(t, json.Unmarshal(firing, &v))
		compact, err := json.Marshal(v)
		require.NoError(t, err)
		id, dup := requireAccepted(t, h.post("am", compact, auth...))
		require.True(t, dup)
		require.Equal(t, first, id)

		resolved, dup := requireAccepted(t, h.post("am", testdata(t, "alertmanager-resolved.json"), auth...))
		require.False(t, dup, "the resolve notification of the same alert is news")
		require.NotEqual(t, first, resolved)
		require.EqualValues(t, 2, countEvents(t, h.st))
		require.EqualValues(t, 2, h.accepted.Load())

		id, dup = requireAccepted(t, h.post("am", testdata(t, "alertmanager-resolved.json"), auth...))
		require.True(t, dup)
		require.Equal(t, resolved, id)

		// Generic payloads without an id: the idempotency header decides.
		a := []byte(`{"alert_type":"disk_full","status":"firing","host":"db-1"}`)
		b := []byte(`{"alert_type":"disk_full","status":"firing","host":"db-1","note":"retry"}`)
		k1, dup := requireAccepted(t, h.post("gen", a, "Idempotency-Key", "delivery-1"))
		require.False(t, dup)
		id, dup = requireAccepted(t, h.post("gen", b, "Idempotency-Key", "delivery-1"))
		require.True(t, dup, "same idempotency key, same delivery, whatever the body")
		require.Equal(t, k1, id)
		_, dup = requireAccepted(t, h.post("gen", a, "Idempotency-Key", "delivery-2"))
		require.False(t, dup)
		_, dup = requireAccepted(t, h.post("gen2", a, "Idempotency-Key", "delivery-1"))
		require.False(t, dup, "idempotency keys are scoped to their source")
		_, dup = requireAccepted(t, h.post("gen", a))
		require.False(t, dup, "no key, no id: every post is new")
		_, dup = requireAccepted(t, h.post("gen", a))
		require.False(t, dup)

		require.EqualValues(t, 7, countEvents(t, h.st))
		require.EqualValues(t, 7, h.accepted.Load())
	})
}

func TestIngestTokenAuth(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newHub(t, dialect, baseConfig, testEnv)
		tests := []struct {
			name    string
			target  string
			headers []string
			status  int
			words   []string // in the error message
		}{
			{name: "bearer", target: "/hooks/am", headers: []string{"Authorization", "Bearer " + sourceToken}, status: 202},
			{name: "bearer with padding", target: "/hooks/am", headers: []string{"Authorization", "Bearer  " + sourceToken + " "}, status: 202},
			{name: "scheme is case-insensitive", target: "/hooks/am", headers: []string{"Authorization", "bearer " + sourceToken}, status: 202},
			{name: "missing", target: "/hooks/am", status: 401, words: []string{"missing token", "Authorization: Bearer"}},
			{name: "wrong", target: "/hooks/am", headers: []string{"Authorization", "Bearer wrong-" + sourceToken}, status: 401, words: []string{"invalid token"}},
			{name: "prefix of the token", target: "/hooks/am", headers: []string{"Authorization", "Bearer " + sourceToken[:5]}, status: 401, words: []string{"invalid token"}},
			{name: "basic scheme", target: "/hooks/am", headers: []string{"Authorization", "Basic " + sourceToken}, status: 401, words: []string{"missing token"}},
			{name: "query param not configured", target: "/hooks/am?token=" + sourceToken, status: 401, words: []string{"missing token"}},
			{name: "query param", target: "/hooks/am-query?token=" + sourceToken, status: 202},
			{name: "query param wrong", target: "/hooks/am-query?token=nope", status: 401, words: []string{"invalid token"}},
			{name: "query source missing", target: "/hooks/am-query", status: 401, words: []string{"missing token", `"token" query parameter`}},
			{name: "query source bearer", target: "/hooks/am-query", headers: []string{"Authorization", "Bearer " + sourceToken}, status: 202},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				// A distinct body per case: no dedup between cases.
				rec := h.post(tt.target, fmt.Appendf(nil, `{"case":%d}`, i), tt.headers...)
				if tt.status == http.StatusAccepted {
					_, dup := requireAccepted(t, rec)
					require.False(t, dup)
					return
				}
				requireError(t, rec, tt.status, "unauthorized", tt.words...)
			})
		}
	})
}

func sign(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

func TestIngestHMAC(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newHub(t, dialect, baseConfig, testEnv)
		body := testdata(t, "generic-single.json")
		other := []byte(`{"id":"other","alert_type":"x"}`)
		hexSig := "sha256=" + hex.EncodeToString(sign(hmacSecret, body))
		b64Sig := base64.StdEncoding.EncodeToString(sign(hmacSecret, body))
		tests := []struct {
			name    string
			source  string
			headers []string
			status  int
			words   []string
		}{
			{name: "hex with prefix", source: "hmac-hex", headers: []string{"X-Hub-Signature-256", hexSig}, status: 202},
			{name: "hex upper case", source: "hmac-hex", headers: []string{"X-Hub-Signature-256", "sha256=" + strings.ToUpper(hex.EncodeToString(sign(hmacSecret, body)))}, status: 202},
			{name: "base64", source: "hmac-b64", headers: []string{"X-Payload-Mac", b64Sig}, status: 202},
			{name: "wrong secret", source: "hmac-hex", headers: []string{"X-Hub-Signature-256", "sha256=" + hex.EncodeToString(sign("not-the-secret", body))}, status: 401, words: []string{"signature mismatch"}},
			{name: "missing header", source: "hmac-hex", status: 401, words: []string{"missing signature header", "X-Hub-Signature-256"}},
			{name: "signed other body", source: "hmac-hex", headers: []string{"X-Hub-Signature-256", "sha256=" + hex.EncodeToString(sign(hmacSecret, other))}, status: 401, words: []string{"signature mismatch"}},
			{name: "not hex", source: "hmac-hex", headers: []string{"X-Hub-Signature-256", "sha256=zz"}, status: 401, words: []string{"X-Hub-Signature-256", "hex"}},
			{name: "hex to base64 source", source: "hmac-b64", headers: []string{"X-Payload-Mac", hexSig}, status: 401, words: []string{"X-Payload-Mac"}},
			{name: "truncated", source: "hmac-b64", headers: []string{"X-Payload-Mac", b64Sig[:20]}, status: 401},
			{name: "base64 wrong secret", source: "hmac-b64", headers: []string{"X-Payload-Mac", base64.StdEncoding.EncodeToString(sign("x", body))}, status: 401, words: []string{"signature mismatch"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				rec := h.post(tt.source, body, tt.headers...)
				if tt.status == http.StatusAccepted {
					id, _ := requireAccepted(t, rec)
					ev, err := h.st.GetEvent(context.Background(), id)
					require.NoError(t, err)
					require.Equal(t, body, ev.Body)
					require.Equal(t, "<redacted>", ev.Headers.V[tt.headers[0]], "the configured signature header is not stored")
					return
				}
				requireError(t, rec, tt.status, "unauthorized", tt.words...)
			})
		}
	})
}

func TestIngestIPAllowlist(t *testing.T) {
	t.Parallel()
	type ipCase struct {
		name   string
		remote string
		header []string
		status int
		client string // the stored remote address on 202, named in the 403 message otherwise
	}
	run := func(t *testing.T, h *hub, tests []ipCase) {
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				r := hookRequest("allow", fmt.Appendf(nil, `{"case":%d}`, i), tt.header...)
				r.RemoteAddr = tt.remote
				rec := h.do(r)
				if tt.status == http.StatusAccepted {
					id, _ := requireAccepted(t, rec)
					ev, err := h.st.GetEvent(context.Background(), id)
					require.NoError(t, err)
					require.Equal(t, tt.client, ev.RemoteAddr)
					return
				}
				requireError(t, rec, http.StatusForbidden, "forbidden", tt.client, "allow_ips", `"allow"`)
			})
		}
	}
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		t.Run("direct", func(t *testing.T) {
			t.Parallel()
			h := newHub(t, dialect, baseConfig, testEnv)
			run(t, h, []ipCase{
				{name: "allowed v4", remote: "198.51.100.7:5555", status: 202, client: "198.51.100.7"},
				{name: "allowed v6", remote: "[2001:db8::1]:5555", status: 202, client: "2001:db8::1"},
				{name: "v4-mapped v6", remote: "[::ffff:198.51.100.9]:5555", status: 202, client: "198.51.100.9"},
				{name: "default httptest address", remote: "192.0.2.1:1234", status: 403, client: "192.0.2.1"},
				{name: "not listed", remote: "203.0.113.9:5555", status: 403, client: "203.0.113.9"},
				{name: "spoofed X-Forwarded-For", remote: "203.0.113.9:5555", header: []string{"X-Forwarded-For", "198.51.100.7"}, status: 403, client: "203.0.113.9"},
				{name: "spoofed X-Real-IP", remote: "203.0.113.9:5555", header: []string{"X-Real-IP", "198.51.100.7"}, status: 403, client: "203.0.113.9"},
				{name: "proxy not trusted", remote: "10.1.2.3:5555", header: []string{"X-Forwarded-For", "198.51.100.7"}, status: 403, client: "10.1.2.3"},
			})
		})
		t.Run("behind trusted proxy", func(t *testing.T) {
			t.Parallel()
			h := newHub(t, dialect, "trusted_proxies: [10.0.0.0/8]\n"+baseConfig, testEnv)
			run(t, h, []ipCase{
				{name: "forwarded allowed", remote: "10.1.2.3:5555", header: []string{"X-Forwarded-For", "198.51.100.7"}, status: 202, client: "198.51.100.7"},
				{name: "proxy chain", remote: "10.1.2.3:5555", header: []string{"X-Forwarded-For", "198.51.100.8, 10.9.9.9"}, status: 202, client: "198.51.100.8"},
				{name: "forwarded not listed", remote: "10.1.2.3:5555", header: []string{"X-Forwarded-For", "203.0.113.9"}, status: 403, client: "203.0.113.9"},
				{name: "spoofed before untrusted hop", remote: "10.1.2.3:5555", header: []string{"X-Forwarded-For", "198.51.100.7, 203.0.113.9"}, status: 403, client: "203.0.113.9"},
				{name: "untrusted peer", remote: "203.0.113.9:5555", header: []string{"X-Forwarded-For", "198.51.100.7"}, status: 403, client: "203.0.113.9"},
				{name: "direct allowed", remote: "198.51.100.7:5555", status: 202, client: "198.51.100.7"},
			})
		})
	})
}

// TestIngestRejected covers every refusal before storing: none of them may
// write an event or wake the processor.
func TestIngestRejected(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newHub(t, dialect, baseConfig, testEnv)
		overDefault := padded(1<<20 + 1)
		tests := []struct {
			name   string
			method string
			target string
			ctype  string
			body   []byte
			status int
			code   string
			words  []string
		}{
			{name: "unknown source", target: "/hooks/nope", status: 404, code: "not_found", words: []string{`"nope"`, "sources"}},
			{name: "GET hook", method: http.MethodGet, target: "/hooks/gen", status: 405, code: "method_not_allowed", words: []string{"GET", "/hooks/gen"}},
			{name: "DELETE hook", method: http.MethodDelete, target: "/hooks/gen", status: 405, code: "method_not_allowed", words: []string{"DELETE"}},
			{name: "unknown route", method: http.MethodGet, target: "/nope", status: 404, code: "not_found", words: []string{"no route", "/nope"}},
			{name: "POST to API list", target: "/api/v1/incidents", status: 405, code: "method_not_allowed", words: []string{"POST"}},
			{name: "over source limit", target: "/hooks/small", body: padded(65), status: 413, code: "payload_too_large", words: []string{"64-byte", `"small"`}},
			{name: "over default limit", target: "/hooks/gen", body: overDefault, status: 413, code: "payload_too_large", words: []string{"1048576-byte", `"gen"`}},
			{name: "text/xml", target: "/hooks/gen", ctype: "text/xml", body: []byte(`<alert/>`), status: 415, code: "unsupported_media", words: []string{"text/xml", "application/json"}},
			{name: "form", target: "/hooks/gen", ctype: "application/x-www-form-urlencoded", body: []byte(`a=b`), status: 415, code: "unsupported_media"},
			{name: "malformed JSON", target: "/hooks/gen", body: []byte(`{"alert_type":`), status: 400, code: "invalid", words: []string{"not valid JSON"}},
			{name: "trailing garbage", target: "/hooks/gen", body: []byte(`{"a":1}}`), status: 400, code: "invalid", words: []string{"not valid JSON"}},
			{name: "empty body", target: "/hooks/gen", body: []byte{}, status: 400, code: "invalid", words: []string{"empty body"}},
			{name: "blank body", target: "/hooks/gen", body: []byte(" \n"), status: 400, code: "invalid", words: []string{"not valid JSON"}},
			{name: "unauthenticated comes first", target: "/hooks/am", body: []byte(`{`), status: 401, code: "unauthorized"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				method := tt.method
				if method == "" {
					method = http.MethodPost
				}
				r := hookRequest(tt.target, tt.body)
				r.Method = method
				if tt.ctype != "" {
					r.Header.Set("Content-Type", tt.ctype)
				}
				requireError(t, h.do(r), tt.status, tt.code, tt.words...)
			})
		}
		require.Zero(t, countEvents(t, h.st), "nothing refused is stored")
		require.Zero(t, h.accepted.Load())

		// The same limits and types let these through.
		_, _ = requireAccepted(t, h.post("small", padded(64)))
		for _, ct := range []string{"", "application/json; charset=utf-8", "application/vnd.example+json", "text/plain", "Application/JSON"} {
			r := hookRequest("gen", []byte(`{"ct":"`+ct+`"}`))
			r.Header.Set("Content-Type", ct)
			_, _ = requireAccepted(t, h.do(r))
		}
		_, _ = requireAccepted(t, h.post("gen", padded(1<<20)))
	})
}

// padded returns a JSON document of exactly n (>= 10) bytes.
func padded(n int) []byte {
	return []byte(`{"pad":"` + strings.Repeat("x", n-10) + `"}`)
}

func TestIngestStoreUnavailable(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newHub(t, dialect, baseConfig, testEnv)
		require.NoError(t, h.st.SQL.Close())

		rec := h.post("am", testdata(t, "alertmanager-firing.json"), "Authorization", "Bearer "+sourceToken)
		requireError(t, rec, http.StatusServiceUnavailable, "unavailable", "store", "retry")
		require.Equal(t, "5", rec.Header().Get("Retry-After"))
		require.Zero(t, h.accepted.Load(), "nothing durable, nothing accepted")
		require.Contains(t, h.logs.String(), "store inbound event", "the cause is logged for operators")

		rec = h.get("/readyz", "")
		requireError(t, rec, http.StatusServiceUnavailable, "unavailable", "store")
		requireChecks(t, rec, `[{"name":"database","ok":false,"error":"store unreachable"},
			{"name":"migrations","ok":false,"error":"not checked: the store is unreachable"}]`)
		require.NotEmpty(t, rec.Header().Get("Retry-After"))

		rec = h.get("/healthz", "")
		require.Equal(t, http.StatusOK, rec.Code, "the process is up even when the store is not")
	})
}

// TestIngestConcurrentDuplicates posts one delivery many times at once, as
// a sender retrying against several replicas would: exactly one is new.
func TestIngestConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newHub(t, dialect, baseConfig, testEnv)
		body := testdata(t, "alertmanager-multi.json")
		const n = 16
		type result struct {
			id  string
			dup bool
		}
		results := make(chan result, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				rec := h.post("am", body, "Authorization", "Bearer "+sourceToken)
				var out ingestResponse
				if rec.Code != http.StatusAccepted || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.Duplicate == nil {
					results <- result{id: "status " + rec.Result().Status + ": " + rec.Body.String()}
					return
				}
				results <- result{out.EventID, *out.Duplicate}
			})
		}
		wg.Wait()
		close(results)
		ids := map[string]int{}
		fresh := 0
		for r := range results {
			ids[r.id]++
			if !r.dup {
				fresh++
			}
		}
		require.Len(t, ids, 1, "every answer names the one stored event: %v", ids)
		require.Equal(t, 1, fresh, "exactly one post is not a duplicate")
		require.EqualValues(t, 1, countEvents(t, h.st))
		require.EqualValues(t, 1, h.accepted.Load())
		for id := range ids {
			ev, err := h.st.GetEvent(context.Background(), id)
			require.NoError(t, err)
			require.Equal(t, n-1, ev.Duplicates, "every repeat is counted, none lost to the race")
		}
	})
}

package web_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/web"
)

const rateLimitConfig = `
sources:
  - name: limited
    kind: generic
    auth: {type: token, token: "${SOURCE_TOKEN}"}
    rate_limit: {per_second: 0.01, burst: 3}
  - name: neighbour
    kind: generic
    auth: {type: token, token: "${SOURCE_TOKEN}"}
  - name: unlimited
    kind: generic
    auth: {type: none}
    rate_limit: {per_second: 0}
`

// A source over its rate_limit gets 429 with Retry-After and the JSON
// error, and nothing of it is stored; other sources are not affected,
// and requests that fail authentication spend nothing of its budget.
func TestIngestRateLimit(t *testing.T) {
	t.Parallel()
	h := newHub(t, store.SQLite, rateLimitConfig, testEnv)
	v := validator{t: t, doc: loadOpenAPI(t, h.handler)}
	body := func(i int) []byte { return fmt.Appendf(nil, `{"id":"e-%d","status":"firing","title":"t"}`, i) }
	auth := []string{"Authorization", "Bearer " + sourceToken}

	for i := range 10 { // a stranger's flood: 401, not counted
		rec := h.post("limited", body(100+i), "Authorization", "Bearer wrong")
		require.Equal(t, http.StatusUnauthorized, rec.Code, "body: %s", rec.Body)
	}
	for i := range 3 { // the burst
		requireAccepted(t, h.post("limited", body(i), auth...))
	}
	r := hookRequest("limited", body(3), auth...)
	rec := h.do(r)
	v.check(http.MethodPost, "/hooks/{source}", r, rec, http.StatusTooManyRequests)
	requireError(t, rec, http.StatusTooManyRequests, incidenthub.ERATELIMITED,
		`source "limited" is over its rate limit of 0.01 requests per second (burst 3)`, "retry after")
	wait, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	require.NoError(t, err, "Retry-After: %q", rec.Header().Get("Retry-After"))
	require.InDelta(t, 100, wait, 2, "one token per 100 s")
	require.Equal(t, int64(3), countEvents(t, h.st), "the refused request is not stored")

	// A refused request takes no token: the wait does not grow.
	rec = h.post("limited", body(4), auth...)
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	again, _ := strconv.Atoi(rec.Header().Get("Retry-After"))
	require.LessOrEqual(t, again, wait)

	for i := range 5 {
		requireAccepted(t, h.post("neighbour", body(i), auth...))
	}
	for i := range 50 {
		requireAccepted(t, h.post("unlimited", body(i)))
	}
	require.Equal(t, int64(3+5+50), countEvents(t, h.st))
}

// A reload that changes a source's limit takes effect at once.
func TestIngestRateLimitReload(t *testing.T) {
	t.Parallel()
	parse := func(text string) *config.Config {
		cfg, err := config.Parse("test.yaml", []byte(text), func(k string) string { return testEnv[k] })
		require.NoError(t, err)
		return cfg
	}
	var active atomic.Pointer[config.Config]
	active.Store(parse(rateLimitConfig))
	handler := web.New(web.Deps{Store: storetest.Open(t, store.SQLite), Config: active.Load,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	post := func(i int) int {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, hookRequest("limited", fmt.Appendf(nil, `{"id":"e-%d"}`, i), "Authorization", "Bearer "+sourceToken))
		return rec.Code
	}
	for i := range 3 {
		require.Equal(t, http.StatusAccepted, post(i))
	}
	require.Equal(t, http.StatusTooManyRequests, post(3))
	active.Store(parse(strings.Replace(rateLimitConfig, "{per_second: 0.01, burst: 3}", "{per_second: 0.01, burst: 5}", 1)))
	for i := range 5 {
		require.Equal(t, http.StatusAccepted, post(10+i), "a new limit is a new bucket")
	}
	require.Equal(t, http.StatusTooManyRequests, post(20))
}

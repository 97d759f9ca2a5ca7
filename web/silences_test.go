package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/silence"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// newAPIRequest is an API request with a bearer token and a JSON body
// (none when empty).
func newAPIRequest(method, target, token, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.RemoteAddr = "192.0.2.1:40000"
	r.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

type silenceReply struct {
	Silence silence.Silence `json:"silence"`
}

type silencesReply struct {
	Silences   []silence.Silence `json:"silences"`
	NextCursor string            `json:"next_cursor"`
}

// TestSilencesAPI: create (objects or amtool strings), get, list by
// state, query, extend and expire through the API, each checked against
// the OpenAPI document and audited with the token's name; on both stores.
func TestSilencesAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		h := newRegistryHub(t, dialect)
		v := validator{t: t, doc: loadOpenAPI(t, h.handler)}
		call := func(method, target, token, body, path string, status int) *httptest.ResponseRecorder {
			t.Helper()
			r := newAPIRequest(method, target, token, body)
			rec := h.do(r)
			v.check(method, path, r, rec, status)
			return rec
		}

		// Objects and strings mix; the author is the token's name.
		rec := call(http.MethodPost, "/api/v1/silences", operatorToken, `{
			"matchers": [{"name": "service", "op": "=", "value": "checkout"}, "alertname=~\"5xx.*\""],
			"duration": "2h", "comment": "deploy of checkout, CHG-42"}`, "/api/v1/silences", http.StatusCreated)
		created := decode[silenceReply](t, rec).Silence
		require.Equal(t, "oncall", created.CreatedBy)
		require.Equal(t, silence.Active, created.State)
		require.Equal(t, []silence.Matcher{{Name: "service", Op: silence.Equal, Value: "checkout"},
			{Name: "alertname", Op: silence.Regexp, Value: "5xx.*"}}, created.Matchers)
		require.WithinDuration(t, time.Now().Add(2*time.Hour), created.EndsAt, 10*time.Second)
		require.Equal(t, "/api/v1/silences/"+created.ID, rec.Header().Get("Location"))

		start := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		later := decode[silenceReply](t, call(http.MethodPost, "/api/v1/silences", operatorToken,
			`{"expr": "severity == \"info\"", "starts_at": "`+start.Format(time.RFC3339)+`", "ends_at": "`+start.Add(time.Hour).Format(time.RFC3339)+`", "comment": "quiet night"}`,
			"/api/v1/silences", http.StatusCreated)).Silence
		require.Equal(t, silence.Pending, later.State)
		require.Equal(t, start, later.StartsAt)

		got := decode[silenceReply](t, call(http.MethodGet, "/api/v1/silences/"+created.ID, viewerToken, "", "/api/v1/silences/{id}", http.StatusOK)).Silence
		require.Equal(t, created, got)
		call(http.MethodGet, "/api/v1/silences/no-such", viewerToken, "", "/api/v1/silences/{id}", http.StatusNotFound)

		list := func(query string) []string {
			t.Helper()
			out := decode[silencesReply](t, call(http.MethodGet, "/api/v1/silences"+query, viewerToken, "", "/api/v1/silences", http.StatusOK))
			ids := []string{}
			for _, s := range out.Silences {
				ids = append(ids, s.ID)
			}
			return ids
		}
		require.Equal(t, []string{created.ID}, list("?state=active"))
		require.Equal(t, []string{later.ID}, list("?state=pending"))
		require.Empty(t, list("?state=expired"))
		require.Equal(t, []string{later.ID, created.ID}, list(""))
		page := decode[silencesReply](t, call(http.MethodGet, "/api/v1/silences?limit=1", viewerToken, "", "/api/v1/silences", http.StatusOK))
		require.Equal(t, later.ID, page.Silences[0].ID)
		require.Equal(t, []string{created.ID}, list("?limit=1&cursor="+page.NextCursor))
		requireError(t, call(http.MethodGet, "/api/v1/silences?state=gone", viewerToken, "", "/api/v1/silences", http.StatusBadRequest),
			http.StatusBadRequest, incidenthub.EINVALID, "state must be active, pending or expired")

		// Query: which active silences match an alert.
		q := decode[silencesReply](t, call(http.MethodPost, "/api/v1/silences/query", viewerToken,
			`{"alert": {"service": "checkout", "labels": {"alertname": "5xx-rate"}}}`, "/api/v1/silences/query", http.StatusOK))
		require.Len(t, q.Silences, 1)
		require.Equal(t, created.ID, q.Silences[0].ID)
		q = decode[silencesReply](t, call(http.MethodPost, "/api/v1/silences/query", viewerToken,
			`{"alert": {"service": "checkout", "labels": {"alertname": "disk"}}}`, "/api/v1/silences/query", http.StatusOK))
		require.Empty(t, q.Silences)
		q = decode[silencesReply](t, call(http.MethodPost, "/api/v1/silences/query", viewerToken,
			`{"alert": {"severity": "info"}, "at": "`+start.Add(time.Minute).Format(time.RFC3339)+`"}`, "/api/v1/silences/query", http.StatusOK))
		require.Len(t, q.Silences, 1)
		require.Equal(t, later.ID, q.Silences[0].ID)

		// Extend by a duration, or to a time.
		ext := decode[silenceReply](t, call(http.MethodPost, "/api/v1/silences/"+created.ID+"/extend", operatorToken,
			`{"extend_by": "1h"}`, "/api/v1/silences/{id}/extend", http.StatusOK)).Silence
		require.Equal(t, created.EndsAt.Add(time.Hour), ext.EndsAt)
		end := time.Now().Add(5 * time.Hour).UTC().Truncate(time.Second)
		ext = decode[silenceReply](t, call(http.MethodPost, "/api/v1/silences/"+created.ID+"/extend", operatorToken,
			`{"ends_at": "`+end.Format(time.RFC3339)+`"}`, "/api/v1/silences/{id}/extend", http.StatusOK)).Silence
		require.Equal(t, end, ext.EndsAt)

		// Expire: listed as expired, by whom; a second expire conflicts.
		exp := decode[silenceReply](t, call(http.MethodDelete, "/api/v1/silences/"+created.ID, operatorToken, "", "/api/v1/silences/{id}", http.StatusOK)).Silence
		require.Equal(t, silence.Expired, exp.State)
		require.Equal(t, "oncall", exp.ExpiredBy)
		require.Equal(t, []string{created.ID}, list("?state=expired"))
		requireError(t, call(http.MethodDelete, "/api/v1/silences/"+created.ID, operatorToken, "", "/api/v1/silences/{id}", http.StatusConflict),
			http.StatusConflict, incidenthub.ECONFLICT, "already expired")
		requireError(t, call(http.MethodPost, "/api/v1/silences/"+created.ID+"/extend", operatorToken, `{"extend_by": "1h"}`, "/api/v1/silences/{id}/extend", http.StatusConflict),
			http.StatusConflict, incidenthub.ECONFLICT, "create a new one")
		call(http.MethodDelete, "/api/v1/silences/no-such", operatorToken, "", "/api/v1/silences/{id}", http.StatusNotFound)

		// Viewers read; only operators act.
		call(http.MethodPost, "/api/v1/silences", viewerToken, `{"matchers": ["service=x"], "duration": "1h", "comment": "c"}`, "/api/v1/silences", http.StatusForbidden)
		call(http.MethodDelete, "/api/v1/silences/"+later.ID, viewerToken, "", "/api/v1/silences/{id}", http.StatusForbidden)

		entries, _, err := audit.List(t.Context(), h.st.DB, audit.Filter{Action: "silence.*"})
		require.NoError(t, err)
		var trail []string
		for _, e := range entries {
			trail = append(trail, e.Action+" "+e.Entity+" by "+e.Actor)
		}
		require.Equal(t, []string{
			"silence.expire " + created.ID + " by oncall",
			"silence.extend " + created.ID + " by oncall",
			"silence.extend " + created.ID + " by oncall",
			"silence.create " + later.ID + " by oncall",
			"silence.create " + created.ID + " by oncall",
		}, trail)
	})
}

// TestSilencesAPIValidation: every bad input answers 400 (malformed) or
// 422 (a wrong value) with a message naming the field, and stores nothing.
func TestSilencesAPIValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		h := newRegistryHub(t, dialect)
		v := validator{t: t, doc: loadOpenAPI(t, h.handler)}
		past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		cases := []struct {
			name, body string
			status     int
			code, want string
		}{
			{"empty body", ``, 400, incidenthub.EINVALID, "a JSON body is required"},
			{"not JSON", `{"matchers": [`, 400, incidenthub.EINVALID, "not valid JSON"},
			{"unknown field", `{"matcher": ["service=x"], "duration": "1h", "comment": "c"}`, 400, incidenthub.EINVALID, `unknown field "matcher"`},
			{"author", `{"matchers": ["service=x"], "duration": "1h", "comment": "c", "created_by": "mallory"}`, 400, incidenthub.EINVALID, "created_by: the author is the API token's name"},
			{"wrong type", `{"matchers": "service=x", "duration": "1h", "comment": "c"}`, 400, incidenthub.EINVALID, "matchers: must be a JSON array"},
			{"bad matcher string", `{"matchers": ["service"], "duration": "1h", "comment": "c"}`, 400, incidenthub.EINVALID, "matchers[0]: "},
			{"bad matcher object", `{"matchers": [{"name": "service", "operator": "="}], "duration": "1h", "comment": "c"}`, 400, incidenthub.EINVALID, "matchers[0]: "},
			{"bad time", `{"matchers": ["service=x"], "ends_at": "tomorrow", "comment": "c"}`, 400, incidenthub.EINVALID, `ends_at: "tomorrow" is not an RFC 3339 time`},
			{"bad duration", `{"matchers": ["service=x"], "duration": "2 hours", "comment": "c"}`, 400, incidenthub.EINVALID, `duration: "2 hours" is not a positive duration`},
			{"both ends", `{"matchers": ["service=x"], "duration": "1h", "ends_at": "` + soon + `", "comment": "c"}`, 400, incidenthub.EINVALID, "duration: give ends_at or duration, not both"},
			{"no matchers", `{"duration": "1h", "comment": "c"}`, 422, incidenthub.EUNPROCESSABLE, "matchers: give at least one matcher"},
			{"bad regexp", `{"matchers": ["service=x", "alertname=~\"5xx(\""], "duration": "1h", "comment": "c"}`, 422, incidenthub.EUNPROCESSABLE, `matchers[1].value: "5xx(" is not a valid regular expression`},
			{"bad op", `{"matchers": [{"name": "service", "op": "==", "value": "x"}], "duration": "1h", "comment": "c"}`, 422, incidenthub.EUNPROCESSABLE, `matchers[0].op: "==" is not one of`},
			{"catch-all", `{"matchers": ["team=~\".*\""], "duration": "1h", "comment": "c"}`, 422, incidenthub.EUNPROCESSABLE, "matchers: every matcher also matches"},
			{"bad expr", `{"expr": "servce == \"x\"", "duration": "1h", "comment": "c"}`, 422, incidenthub.EUNPROCESSABLE, "expr: unknown name servce"},
			{"end before start", `{"matchers": ["service=x"], "starts_at": "` + soon + `", "ends_at": "` + past + `", "comment": "c"}`, 422, incidenthub.EUNPROCESSABLE, "ends_at: " + past + " is not after starts_at"},
			{"no end", `{"matchers": ["service=x"], "comment": "c"}`, 422, incidenthub.EUNPROCESSABLE, "ends_at: give an end time or a positive duration"},
			{"ended", `{"matchers": ["service=x"], "starts_at": "2020-01-01T00:00:00Z", "ends_at": "` + past + `", "comment": "c"}`, 422, incidenthub.EUNPROCESSABLE, "ends_at: " + past + " has already passed"},
			{"no comment", `{"matchers": ["service=x"], "duration": "1h"}`, 422, incidenthub.EUNPROCESSABLE, "comment: is required"},
		}
		for _, tc := range cases {
			r := newAPIRequest(http.MethodPost, "/api/v1/silences", operatorToken, tc.body)
			rec := h.do(r)
			v.check(http.MethodPost, "/api/v1/silences", r, rec, tc.status)
			requireError(t, rec, tc.status, tc.code, tc.want)
		}
		r := newAPIRequest(http.MethodPost, "/api/v1/silences", operatorToken, `{"matchers": ["service=x"], "duration": "1h", "comment": "c"}`)
		r.Header.Set("Content-Type", "text/plain")
		requireError(t, h.do(r), http.StatusUnsupportedMediaType, incidenthub.EUNSUPPORTED)
		r = newAPIRequest(http.MethodPost, "/api/v1/silences", operatorToken, `{"comment": "`+strings.Repeat("x", 70<<10)+`"}`)
		requireError(t, h.do(r), http.StatusRequestEntityTooLarge, incidenthub.ETOOLARGE)
		list, _, err := silence.List(t.Context(), h.st.DB, silence.Filter{})
		require.NoError(t, err)
		require.Empty(t, list, "nothing invalid was stored")

		// Extend and query validate too.
		ok := decode[silenceReply](t, h.send(http.MethodPost, "/api/v1/silences", operatorToken,
			`{"matchers": ["service=x"], "duration": "1h", "comment": "c"}`)).Silence
		ext := "/api/v1/silences/" + ok.ID + "/extend"
		for body, want := range map[string]string{
			`{}`:                   "ends_at: give ends_at or extend_by",
			`{"extend_by": "-1h"}`: `extend_by: "-1h" is not a positive duration`,
			`{"extend_by": "1h", "ends_at": "` + soon + `"}`: "ends_at: give ends_at or extend_by",
			`{"until": "` + soon + `"}`:                      `unknown field "until"`,
		} {
			requireError(t, h.send(http.MethodPost, ext, operatorToken, body), http.StatusBadRequest, incidenthub.EINVALID, want)
		}
		requireError(t, h.send(http.MethodPost, ext, operatorToken, `{"ends_at": "`+past+`"}`), http.StatusUnprocessableEntity,
			incidenthub.EUNPROCESSABLE, "ends_at: "+past+" has already passed")
		requireError(t, h.send(http.MethodPost, "/api/v1/silences/query", viewerToken, `{}`), http.StatusBadRequest, incidenthub.EINVALID, "alert: is required")
		requireError(t, h.send(http.MethodPost, "/api/v1/silences/query", viewerToken, `{"alert": {"servce": "x"}}`), http.StatusBadRequest,
			incidenthub.EINVALID, `unknown field "servce"`)
	})
}

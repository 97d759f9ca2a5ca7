package web_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// haConfig has two sources of one kind, as an Alertmanager HA pair posting
// to two hub sources needs.
const haConfig = `
api:
  tokens:
    - {name: dashboard, token: "${VIEWER_TOKEN}", role: viewer}
    - {name: alice, token: "${OPERATOR_TOKEN}", role: operator}
sources:
  - {name: am-a, kind: alertmanager, auth: {type: none}}
  - {name: am-b, kind: alertmanager, auth: {type: none}}
`

var haEnv = map[string]string{"VIEWER_TOKEN": viewerToken, "OPERATOR_TOKEN": incidentOperatorToken}

// memberStates returns the incident's members as "source/fingerprint status".
func (h *hub) memberStates(id int64) []string {
	h.t.Helper()
	got := decode[incidentView](h.t, h.get(fmt.Sprintf("/api/v1/incidents/%d", id), viewerToken))
	out := make([]string, len(got.Alerts))
	for i, a := range got.Alerts {
		out[i] = a.Source + "/" + a.Fingerprint + " " + string(a.Status)
	}
	slices.Sort(out)
	return out
}

func (h *hub) eventStatus(id string) (status, errText string) {
	h.t.Helper()
	ev := decode[eventView](h.t, h.get("/api/v1/events/"+id, viewerToken)).Event
	return ev.Status, ev.Error
}

// The same alert (same fingerprint) posted by both members of an
// Alertmanager HA pair, each to its own hub source: both events are
// processed, the incident has one member per source, and each source's
// resolve resolves its own member.
func TestSameAlertThroughTwoSources(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newHub(t, dialect, haConfig, haEnv)
		firing, resolved := testdata(t, "alertmanager-firing.json"), testdata(t, "alertmanager-resolved.json")
		const fp = "1a30ba71cca2921f"

		a, _ := requireAccepted(t, h.post("am-a", firing))
		b, _ := requireAccepted(t, h.post("am-b", firing))
		h.drain()
		for _, id := range []string{a, b} {
			status, errText := h.eventStatus(id)
			require.Equal(t, store.EventProcessed, status, "event %s: %s", id, errText)
		}
		list := decode[struct {
			Incidents []incidenthub.Incident `json:"incidents"`
		}](t, h.get("/api/v1/incidents", viewerToken)).Incidents
		require.Len(t, list, 1, "the same alert from two sources is one incident")
		inc := list[0]
		require.Equal(t, 2, inc.AlertCount)
		require.Equal(t, []string{"am-a/" + fp + " firing", "am-b/" + fp + " firing"}, h.memberStates(inc.ID))

		// Splitting needs the source: the fingerprint alone names two alerts.
		requireError(t, h.postJSON(fmt.Sprintf("/api/v1/incidents/%d/split", inc.ID), incidentOperatorToken,
			`{"fingerprint": "`+fp+`"}`), 400, "invalid", "several sources", `"source"`)

		requireAccepted(t, h.post("am-a", resolved))
		h.drain()
		require.Equal(t, []string{"am-a/" + fp + " resolved", "am-b/" + fp + " firing"}, h.memberStates(inc.ID))
		got := decode[incidentView](t, h.get(fmt.Sprintf("/api/v1/incidents/%d", inc.ID), viewerToken)).Incident
		require.Equal(t, incidenthub.IncidentOpen, got.Status, "am-b's alert still fires")

		last, _ := requireAccepted(t, h.post("am-b", resolved))
		h.drain()
		status, errText := h.eventStatus(last)
		require.Equal(t, store.EventProcessed, status, errText)
		require.Equal(t, []string{"am-a/" + fp + " resolved", "am-b/" + fp + " resolved"}, h.memberStates(inc.ID))
		got = decode[incidentView](t, h.get(fmt.Sprintf("/api/v1/incidents/%d", inc.ID), viewerToken)).Incident
		require.Equal(t, incidenthub.IncidentResolved, got.Status)
		require.Equal(t, 0, got.FiringCount)

		n, err := h.st.CountEvents(t.Context(), store.EventProcessed)
		require.NoError(t, err)
		require.EqualValues(t, 4, n)
	})
}

// awkwardConfig is the matrix hub: a generic and an Alertmanager source,
// and tokens for the API and the UI.
const awkwardConfig = `
api:
  tokens:
    - {name: dashboard, token: "${VIEWER_TOKEN}", role: viewer}
sources:
  - {name: gen, kind: generic, auth: {type: none}}
  - {name: am, kind: alertmanager, auth: {type: none}}
`

// incompressibleText is n bytes of hex that PostgreSQL cannot compress
// into an index entry, unlike a repeated character.
func incompressibleText(n int) string {
	var b strings.Builder
	sum := sha256.Sum256([]byte("seed"))
	for b.Len() < n {
		sum = sha256.Sum256(sum[:])
		b.WriteString(hex.EncodeToString(sum[:]))
	}
	return b.String()[:n]
}

// awkwardCase is a well-formed but awkward payload and what processing must
// make of it.
type awkwardCase struct {
	name, source string
	body         []byte
	want         string // store.EventProcessed or store.EventUnmapped
}

func awkwardCases() []awkwardCase {
	long := incompressibleText(4 << 10)  // longer than any PostgreSQL B-tree entry
	huge := strings.Repeat("é", 100<<10) // 200 KB of two-byte characters
	gen := func(fields string) []byte {
		return []byte(`{"status":"firing","service":"matrix","alert_type":"awkward",` + fields + `}`)
	}
	am := func(labels, rest string) []byte {
		return []byte(`{"status":"firing","groupKey":"{}:{alertname=\"A\"}","alerts":[{"status":"firing","labels":{"alertname":"A"` +
			labels + `},"annotations":{"summary":"s"},"startsAt":"2024-05-01T10:00:00Z"` + rest + `}]}`)
	}
	return []awkwardCase{
		{"NUL in every field", "gen", []byte(`{"id":"id\u0000","fingerprint":"f\u0000","status":"firing","severity":"high",` +
			`"service":"s\u0000","alert_type":"t\u0000","title":"\u0000","description":"d\u0000","host":"h\u0000",` +
			`"environment":"e\u0000","url":"u\u0000","labels":{"\u0000":"\u0000"},"annotations":{"a\u0000":"b\u0000"},"starts_at":"\u0000"}`), store.EventProcessed},
		{"NUL in an Alertmanager alert", "am", am(`,"instance":"h\u0000","\u0000k":"v\u0000"`, `,"fingerprint":"fp\u0000","generatorURL":"http://x/\u0000"`), store.EventProcessed},
		{"NUL in a key the mapping ignores", "gen", gen(`"\u0000":"\u0000","x":{"\u0000":["\u0000"]}`), store.EventProcessed},
		{"NUL in the path of a mapping error", "gen", gen(`"labels":{"k\u0000":{"nested":true}}`), store.EventUnmapped},
		{"NUL in an unknown status", "gen", []byte(`{"status":"fir\u0000ing","alert_type":"a"}`), store.EventUnmapped},
		{"lone surrogates", "gen", gen(`"title":"\ud800","description":"\udc00\ud800 x \ud83d","labels":{"\udfff":"\ud800\u0041"}`), store.EventProcessed},
		{"a valid surrogate pair", "gen", gen(`"title":"\ud83d\udea8 pager","host":"\u00e9\u2028\u2029"`), store.EventProcessed},
		{"invalid UTF-8 bytes in strings", "gen", gen("\"title\":\"caf\xe9\",\"host\":\"\xff\xfe\",\"description\":\"cut \xc3\",\"environment\":\"over\xc0\xaflong\",\"url\":\"\xed\xa0\x80\",\"labels\":{\"\xf5k\":\"v\xf8\"}"), store.EventProcessed},
		{"invalid UTF-8 in an Alertmanager fingerprint", "am", am(",\"instance\":\"h\xff\"", ",\"fingerprint\":\"fp\xff\""), store.EventProcessed},
		{"huge numbers", "gen", gen(`"title":1e999,"host":-1e-999,"labels":{"big":123456789012345678901234567890123456789,"neg":-0,"exp":1E+400},"starts_at":1e999`), store.EventProcessed},
		{"huge epoch start", "gen", gen(`"starts_at":99999999999999999999999`), store.EventProcessed},
		{"a number where a string is expected", "gen", []byte(`{"status":"firing","alert_type":123456789012345678901234567890,"service":12.5e3}`), store.EventProcessed},
		{"very long values", "gen", gen(`"fingerprint":"` + long + `","host":"` + long + `","title":"` + huge + `","description":"` + huge +
			`","environment":"` + long + `","labels":{"` + long + `":"` + huge + `"},"id":"` + long + `"`), store.EventProcessed},
		{"a very long service", "gen", []byte(`{"status":"firing","service":"` + long + `","alert_type":"` + long + `"}`), store.EventProcessed},
		{"a very long Alertmanager group key", "am", []byte(`{"groupKey":"` + long + `","alerts":[{"status":"firing","labels":{"alertname":"` + long + `","job":"` + long + `"}}]}`), store.EventProcessed},
		{"empty object", "gen", []byte(`{}`), store.EventUnmapped},
		{"empty alert objects", "gen", []byte(`{"alerts":[{}]}`), store.EventUnmapped},
		{"empty labels and annotations", "gen", gen(`"labels":{},"annotations":{},"title":"","host":""`), store.EventProcessed},
		{"empty Alertmanager list", "am", []byte(`{"alerts":[]}`), store.EventUnmapped},
		{"unicode keys and values", "gen", []byte(`{"status":"firing","service":"サービス","alert_type":"ディスク満杯","title":"🚨 Ключ","labels":{"日本語":"値","emoji 🚨":"🔥","ключ":"значение","":"empty key"}}`), store.EventProcessed},
		{"the same alert twice in one payload", "gen", []byte(`{"alerts":[{"status":"firing","alert_type":"a","fingerprint":"same"},{"status":"firing","alert_type":"a","fingerprint":"same"}]}`), store.EventProcessed},
		{"a resolve that never fired", "gen", []byte(`{"status":"resolved","alert_type":"a","fingerprint":"never-fired\u0000"}`), store.EventProcessed},
		{"a top-level array", "gen", []byte(`[{"status":"firing","alert_type":"a"}]`), store.EventUnmapped},
		{"a bare string", "gen", []byte(`"\u0000"`), store.EventUnmapped},
		{"null", "gen", []byte(`null`), store.EventUnmapped},
	}
}

// requireUTF8JSON checks an API answer: valid UTF-8 (RFC 8259 §8.1) and
// valid JSON.
func requireUTF8JSON(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	b := rec.Body.Bytes()
	require.True(t, utf8.Valid(b), "%s: the answer is not valid UTF-8", what)
	require.True(t, json.Valid(b), "%s: the answer is not JSON", what)
}

// requireSameJSON compares two JSON texts token for token (require.JSONEq
// cannot: it decodes numbers such as 1e999 into float64).
func requireSameJSON(t *testing.T, want, got []byte, msg string) {
	t.Helper()
	var w, g bytes.Buffer
	require.NoError(t, json.Compact(&w, want))
	require.NoError(t, json.Compact(&g, got))
	require.Equal(t, w.String(), g.String(), msg)
}

// requireCleanAlert checks that every string of a stored alert is valid
// text (no NUL: PostgreSQL would have refused it).
func requireCleanAlert(t *testing.T, what string, a incidenthub.Alert) {
	t.Helper()
	for _, s := range []string{a.Source, a.SourceEventID, a.Fingerprint, string(a.Status), string(a.Severity), a.Service,
		a.AlertType, a.Title, a.Description, a.Host, a.Environment, a.URL} {
		require.True(t, incidenthub.ValidText(s), "%s: %.40q", what, s)
	}
	for k, v := range a.Labels {
		require.True(t, incidenthub.ValidText(k+v), "%s: label %.40q", what, k)
	}
	for k, v := range a.Annotations {
		require.True(t, incidenthub.ValidText(k+v), "%s: annotation %.40q", what, k)
	}
}

// TestAwkwardInputMatrix sends well-formed but awkward payloads through
// ingest and processing on both databases: each is accepted, processed on
// its first attempt (processed or unmapped, never failed), and every API
// answer and UI page about it is valid UTF-8 (JSON where it is the API,
// matching the OpenAPI document).
func TestAwkwardInputMatrix(t *testing.T) {
	t.Parallel()
	cases := awkwardCases()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		u := newUIHubWithStore(t, storetest.Open(t, dialect), awkwardConfig, haEnv)
		h := u.hub
		v := validator{t: t, doc: loadOpenAPI(t, h.handler)}
		get := func(target, path string) *httptest.ResponseRecorder {
			t.Helper()
			r := httptest.NewRequest(http.MethodGet, target, nil)
			r.RemoteAddr = "192.0.2.1:40000"
			r.Header.Set("Authorization", "Bearer "+viewerToken)
			rec := h.do(r)
			requireUTF8JSON(t, target, rec)
			v.check(http.MethodGet, path, r, rec, http.StatusOK)
			return rec
		}

		ids := make([]string, len(cases))
		for i, c := range cases {
			ids[i], _ = requireAccepted(t, h.post(c.source, c.body))
		}
		h.drain()

		b := u.browser(t)
		require.Equal(t, http.StatusSeeOther, b.signIn(viewerToken, "/ui/").StatusCode)
		uiPage := func(path string) {
			t.Helper()
			p := b.get(path)
			require.Equal(t, http.StatusOK, p.StatusCode, "%s: %.300s", path, p.Body)
			require.True(t, utf8.ValidString(p.Body), "%s: the page is not valid UTF-8", path)
			require.NotContains(t, p.Body, "\x00", path)
		}

		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				rec := get("/api/v1/events/"+ids[i], "/api/v1/events/{id}")
				var got struct {
					Event struct {
						Status     string              `json:"status"`
						Error      string              `json:"error"`
						Attempts   int                 `json:"attempts"`
						Body       json.RawMessage     `json:"body"`
						BodyBase64 *string             `json:"body_base64"`
						Alerts     []incidenthub.Alert `json:"alerts"`
					} `json:"event"`
				}
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
				ev := got.Event
				require.Equal(t, c.want, ev.Status, "error: %.300s", ev.Error)
				require.Equal(t, 1, ev.Attempts, "processed on its first attempt")
				require.True(t, incidenthub.ValidText(ev.Error), "%.80q", ev.Error)
				if utf8.Valid(c.body) {
					require.Nil(t, ev.BodyBase64, "a valid UTF-8 body needs no base64 copy")
					requireSameJSON(t, c.body, ev.Body, "body is the document as sent")
				} else {
					require.NotNil(t, ev.BodyBase64, "an invalid UTF-8 body comes with its exact bytes")
					raw, err := base64.StdEncoding.DecodeString(*ev.BodyBase64)
					require.NoError(t, err)
					require.Equal(t, c.body, raw, "body_base64 is the body byte for byte")
					requireSameJSON(t, []byte(strings.ToValidUTF8(string(c.body), incidenthub.Replacement)), ev.Body,
						"body is the document with U+FFFD for each invalid sequence")
				}
				stored, err := h.st.GetEvent(t.Context(), ids[i])
				require.NoError(t, err)
				require.Equal(t, c.body, stored.Body, "the raw body is stored byte for byte")
				if c.want == store.EventProcessed {
					require.NotEmpty(t, ev.Alerts)
				}
				for _, a := range ev.Alerts {
					requireCleanAlert(t, c.name, a)
				}
				uiPage("/ui/events/" + ids[i])
			})
		}

		for _, status := range []string{"", store.EventProcessed, store.EventUnmapped, store.EventFailed} {
			list := decode[eventListBody](t, get("/api/v1/events?limit=500&status="+status, "/api/v1/events"))
			if status == store.EventFailed {
				require.Empty(t, list.Events, "no well-formed input ends failed")
			}
		}
		n, err := h.st.CountEvents(t.Context(), store.EventPending)
		require.NoError(t, err)
		require.Zero(t, n)

		incs := decode[incidentList](t, get("/api/v1/incidents?limit=500", "/api/v1/incidents")).Incidents
		require.NotEmpty(t, incs)
		for _, inc := range incs {
			got := decode[incidentView](t, get(fmt.Sprintf("/api/v1/incidents/%d", inc.ID), "/api/v1/incidents/{id}"))
			for _, m := range got.Alerts {
				requireCleanAlert(t, inc.CorrelationKey, m.Alert)
			}
			get(fmt.Sprintf("/api/v1/incidents/%d/timeline?limit=1000", inc.ID), "/api/v1/incidents/{id}/timeline")
			uiPage(fmt.Sprintf("/ui/incidents/%d", inc.ID))
		}
		uiPage("/ui/events")
		uiPage("/ui/incidents")
	})
}

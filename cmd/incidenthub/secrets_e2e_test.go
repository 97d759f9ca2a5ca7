//go:build unix

package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
)

// The secrets of the sweep: each a value the hub must never show, with
// characters that each encoding writes differently.
const (
	// in a webhook target URL's query (Teams / Google Chat / Discord style)
	sweepQueryToken = `qtok-4f9a"b/c+d e-1c7e`
	// in the URL of a target that cannot be reached (the error quotes it)
	sweepDownToken = "downtok-1b7e5c9a2d"
	// a source token read from a header of the sender's choosing (Api-Key),
	// which the sender also copies into a header of no telling name
	sweepSourceToken = `src-tok-8d2f"e/7a+c=9b`
	// a target header secret with a quote, echoed back by the target
	sweepHeaderSecret = `hdr"sec/7e+1 a9&<x>`
	// an API-managed registry entry's URL: user information and query
	sweepEntryPassword = "entry-pw-3a9f7c51"
	sweepEntrySig      = "entry-sig-6b2d9e04"
	sweepSigningSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

// sweepForms writes s every way an output may carry it: raw, JSON-escaped
// (with and without HTML escaping), URL query- and path-escaped, base64
// (standard, URL, unpadded), and each of those again JSON-escaped and
// HTML-escaped (an API answer quoting a stored body; a UI page).
func sweepForms(s string) []string {
	jsonOf := func(v string) string { b, _ := json.Marshal(v); return string(b[1 : len(b)-1]) }
	jsonNoHTML := func(v string) string {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
		out := strings.TrimSpace(b.String())
		return out[1 : len(out)-1]
	}
	base := []string{s, jsonOf(s), jsonNoHTML(s), url.QueryEscape(s), url.PathEscape(s),
		base64.StdEncoding.EncodeToString([]byte(s)), base64.URLEncoding.EncodeToString([]byte(s)),
		base64.RawStdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))}
	var out []string
	for _, f := range base {
		out = append(out, f, jsonOf(f), jsonNoHTML(f), html.EscapeString(f), html.EscapeString(jsonOf(f)))
	}
	return out
}

// echoTarget is a webhook receiver that answers with everything it was
// sent — headers and URL — in every encoding, the way debugging endpoints
// and some vendors' error pages do; its first answer to an incident is a
// 500.
type echoTarget struct {
	*httptest.Server
	requests atomic.Int64
	failed   atomic.Bool
}

func newEchoTarget(t *testing.T) *echoTarget {
	e := &echoTarget{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.requests.Add(1)
		sent, _ := io.ReadAll(r.Body)
		echo := map[string]any{"headers": r.Header, "url": r.URL.String(), "query": r.URL.Query()}
		for k, vs := range r.Header {
			for _, v := range vs {
				echo["b64 "+k] = base64.StdEncoding.EncodeToString([]byte(v))
				echo["q "+k] = url.QueryEscape(v)
				echo["p "+k] = url.PathEscape(v)
			}
		}
		for k, vs := range r.URL.Query() {
			for _, v := range vs {
				echo["b64 query "+k] = base64.URLEncoding.EncodeToString([]byte(v))
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo-Secret", r.Header.Get("X-Hook-Secret"))
		w.Header().Set("X-Echo-Url", r.URL.String())
		if strings.Contains(string(sent), incidenthub.EventOpened) && e.failed.CompareAndSwap(false, true) {
			w.WriteHeader(http.StatusInternalServerError)
		}
		_ = json.NewEncoder(w).Encode(echo)
	}))
	t.Cleanup(e.Close)
	return e
}

// sweep collects every output the test reads, to search them all.
type sweep struct {
	t    *testing.T
	seen []string // "where: text"
}

func (s *sweep) add(where, text string) { s.seen = append(s.seen, where+":\n"+text) }

// get GETs path on the hub with client (the admin token unless the
// client carries a UI session) and keeps the answer, headers included.
func (s *sweep) get(client *http.Client, h *hub, path string, token bool) string {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.URL+path, nil)
	require.NoError(s.t, err)
	if token {
		req.Header.Set("Authorization", "Bearer "+apiToken)
	}
	resp, err := client.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	require.Equal(s.t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, body)
	var dump strings.Builder
	_ = resp.Header.Write(&dump)
	s.add("GET "+path, dump.String()+string(body))
	return string(body)
}

// post POSTs to path on the hub with the admin token and returns the
// answer, whatever its status.
func (s *sweep) post(client *http.Client, h *hub, path string) string {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.URL+path, nil)
	require.NoError(s.t, err)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := client.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	return fmt.Sprintf("%d %s", resp.StatusCode, body)
}

// requireClean fails for every output that holds a form of a secret.
func (s *sweep) requireClean(secrets map[string]string) {
	s.t.Helper()
	for _, text := range s.seen {
		where, _, _ := strings.Cut(text, ":\n")
		for name, secret := range secrets {
			for _, f := range sweepForms(secret) {
				if strings.Contains(text, f) {
					s.t.Errorf("%s shows the %s (as %q):\n%s", where, name, f, excerpt(text, f))
					break
				}
			}
		}
	}
}

func excerpt(text, f string) string {
	i := strings.Index(text, f)
	from, to := max(0, i-200), min(len(text), i+len(f)+200)
	return text[from:to]
}

// TestSecretsSweep configures each kind of secret the hub handles, drives
// every path that may show one — ingest, delivery to a target that echoes
// what it gets, the registry, audit, events and deliveries APIs, the UI
// pages, `registry list/show/export` and the log — and searches all of it
// for each secret in every encoding.
func TestSecretsSweep(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbTarget) {
		echo := newEchoTarget(t)
		downPort := freePort(t) // nothing listens there
		var cfg strings.Builder
		if db.path != "" {
			fmt.Fprintf(&cfg, "database:\n  path: %q\n", db.path)
		}
		fmt.Fprintf(&cfg, `ingest: {process: true, poll_interval: 100ms}
sources:
  - name: app
    kind: generic
    auth: {type: token, token: %q, header: Api-Key}
routing: {default: [chat, down]}
targets:
  - name: chat
    type: webhook
    url: %q
    public_query_params: [threadKey]
    secrets: [%s]
    headers: {X-Hook-Secret: %q}
    allow_private_network: true
    update_interval: 0s
    retry: {schedule: [200ms], jitter: 0}
  - name: down
    type: webhook
    url: %q
    secrets: [%s]
    allow_private_network: true
    timeout: 2s
    retry: {schedule: [200ms], max_age: 1s, jitter: 0}
`, sweepSourceToken,
			echo.URL+"/hook?token="+url.QueryEscape(sweepQueryToken)+"&threadKey=ops",
			sweepSigningSecret, sweepHeaderSecret,
			fmt.Sprintf("http://127.0.0.1:%d/hook?token=%s", downPort, sweepDownToken), sweepSigningSecret)
		file := filepath.Join(t.TempDir(), "incidenthub.yaml")
		require.NoError(t, os.WriteFile(file, []byte(cfg.String()), 0o600))
		h := startHub(t, file, db.url, "--log-level", "debug")
		s := &sweep{t: t}
		api := &http.Client{Timeout: 10 * time.Second}

		// Ingest: the token in its header, and copied into another.
		req, err := http.NewRequest(http.MethodPost, h.URL+"/hooks/app", strings.NewReader(
			`{"id": "sweep-1", "fingerprint": "sweep-1", "status": "firing", "severity": "critical",
			  "service": "sweep", "alert_type": "secrets", "title": "secrets sweep"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Api-Key", sweepSourceToken)
		req.Header.Set("X-Relay", "Bearer "+sweepSourceToken)
		resp, err := api.Do(req)
		require.NoError(t, err)
		ack, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", ack)
		var accepted struct {
			EventID string `json:"event_id"`
		}
		require.NoError(t, json.Unmarshal(ack, &accepted))
		s.add("POST /hooks/app", string(ack))

		// Delivery: chat fails once (the echo's 500) and then delivers;
		// down fails until dead.
		var deliveries struct {
			Deliveries []incidenthub.Delivery `json:"deliveries"`
		}
		var last []incidenthub.Delivery
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("deliveries at the end: %+v", last)
			}
		})
		eventually(t, "chat delivered after a retry and down dead", func() bool {
			require.Equal(t, http.StatusOK, apiGet(t, h, "/api/v1/deliveries", &deliveries))
			var chat, down bool
			for _, d := range deliveries.Deliveries {
				chat = chat || (d.Target == "chat" && d.Status == incidenthub.DeliveryDelivered && d.Attempts >= 2)
				down = down || (d.Target == "down" && d.Status == incidenthub.DeliveryDead)
			}
			last = deliveries.Deliveries
			return chat && down
		})

		// An API-managed entry whose endpoint has user information and a
		// signature in its query.
		body := fmt.Sprintf(`{"name": "flow", "direction": "outbound", "kind": "teams",
			"endpoint": "https://bot:%s@flow.example/workflows/1/invoke?api-version=1&sig=%s"}`, sweepEntryPassword, sweepEntrySig)
		req, err = http.NewRequest(http.MethodPost, h.URL+"/api/v1/registry", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+apiToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err = api.Do(req)
		require.NoError(t, err)
		created, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", created)
		s.add("POST /api/v1/registry", string(created))

		// Checks that quote the target's URL in their errors.
		for _, path := range []string{"/api/v1/targets/down/verify", "/api/v1/registry/down/verify?direction=outbound",
			"/api/v1/targets/chat/verify", "/api/v1/registry/chat/verify?direction=outbound"} {
			s.add("POST "+path, s.post(api, h, path))
		}

		// The API.
		event := s.get(api, h, "/api/v1/events/"+accepted.EventID, true)
		var ev struct {
			Event struct {
				Headers map[string]string `json:"headers"`
			} `json:"event"`
		}
		require.NoError(t, json.Unmarshal([]byte(event), &ev))
		require.Equal(t, "<redacted>", ev.Event.Headers["Api-Key"], "the header the token is read from")
		require.Equal(t, "Bearer <redacted>", ev.Event.Headers["X-Relay"], "the token by value")
		require.Equal(t, "application/json", ev.Event.Headers["Content-Type"])
		s.get(api, h, "/api/v1/events", true)
		var incidents struct {
			Incidents []incidenthub.Incident `json:"incidents"`
		}
		require.NoError(t, json.Unmarshal([]byte(s.get(api, h, "/api/v1/incidents", true)), &incidents))
		require.Len(t, incidents.Incidents, 1)
		inc := incidents.Incidents[0].ID
		s.get(api, h, fmt.Sprintf("/api/v1/incidents/%d", inc), true)
		s.get(api, h, fmt.Sprintf("/api/v1/incidents/%d/timeline", inc), true)
		s.get(api, h, "/api/v1/deliveries", true)
		var attempts int
		for _, d := range deliveries.Deliveries {
			one := s.get(api, h, fmt.Sprintf("/api/v1/deliveries/%d", d.ID), true)
			attempts += strings.Count(one, `"outcome"`)
			if d.Target == "chat" {
				require.Contains(t, one, "threadKey=ops", "the public query parameter is shown")
				require.Contains(t, one, `\u003credacted\u003e`, "what the target echoed is redacted")
			}
		}
		require.GreaterOrEqual(t, attempts, 3)
		registryList := s.get(api, h, "/api/v1/registry", true)
		require.Contains(t, registryList, "threadKey=ops")
		for _, name := range []string{"chat", "down", "flow", "app"} {
			s.get(api, h, "/api/v1/registry/"+name, true)
		}
		s.get(api, h, "/api/v1/audit", true)
		s.get(api, h, "/api/v1/config", true)

		// The UI, signed in with the API token.
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		ui := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		form := s.get(ui, h, "/ui/sign-in", false)
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(form)
		require.NotNil(t, m, form)
		resp, err = ui.PostForm(h.URL+"/ui/sign-in", url.Values{"token": {apiToken}, "csrf": {m[1]}, "next": {"/ui/"}})
		require.NoError(t, err)
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", page)
		s.add("POST /ui/sign-in", string(page))
		paths := []string{"/ui/", "/ui/events", "/ui/events/" + accepted.EventID, fmt.Sprintf("/ui/incidents/%d", inc),
			"/ui/deliveries", "/ui/registry", "/ui/registry.csv", "/ui/audit", "/ui/rules",
			"/ui/registry/outbound/chat", "/ui/registry/outbound/down", "/ui/registry/outbound/flow", "/ui/registry/inbound/app"}
		for _, d := range deliveries.Deliveries {
			paths = append(paths, fmt.Sprintf("/ui/deliveries/%d", d.ID))
		}
		for _, p := range paths {
			s.get(ui, h, p, false)
		}
		require.Contains(t, s.get(ui, h, "/ui/registry/outbound/chat", false), "threadKey=ops")

		// The CLI, against the same database.
		cli := []string{"--config", file}
		if db.url != "" {
			cli = append(cli, "--database", db.url)
		}
		for _, args := range [][]string{
			{"registry", "list"}, {"registry", "list", "--json"},
			{"registry", "show", "chat"}, {"registry", "show", "down"}, {"registry", "show", "flow"}, {"registry", "show", "app"},
			{"registry", "export"}, {"registry", "export", "--format", "csv"},
		} {
			stdout, stderr, code := runCLI(t, nil, append(args, cli...)...)
			require.Equal(t, 0, code, "%s: %s", strings.Join(args, " "), stderr)
			s.add("incidenthub "+strings.Join(args, " "), stdout+stderr)
		}

		// The log, after all that.
		s.add("incidenthub serve log", h.output.String())
		require.Contains(t, h.output.String(), "delivery attempt failed", "the log has the failures to search")

		s.requireClean(map[string]string{
			"target URL query token":       sweepQueryToken,
			"unreachable target URL token": sweepDownToken,
			"source token":                 sweepSourceToken,
			"target header secret":         sweepHeaderSecret,
			"registry entry password":      sweepEntryPassword,
			"registry entry signature":     sweepEntrySig,
			"target signing secret":        sweepSigningSecret,
			"API token":                    apiToken,
		})
	})
}

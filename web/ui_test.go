package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/web"
)

// Secrets of the UI tests' config: none may appear in any page.
const (
	uiViewerToken   = "uitok-viewer-6b0e2f91"
	uiOperatorToken = "uitok-operator-c83d15aa"
	uiAdminToken    = "uitok-admin-0f9e44d7"
	uiSourceToken   = "uisrc-token-5d2c7a10"
	uiHMACSecret    = "uihmac-secret-94be31c8"
	uiHookSecret    = "whsec_dWktaG9vay1zZWNyZXQtN2UxYjQ0YTljMGQy"
	uiSlackToken    = "xoxb-uislack-7731-a9c4e2"
	uiHeaderSecret  = "uiheader-secret-1e5f0b"
)

var uiSecrets = []string{uiViewerToken, uiOperatorToken, uiAdminToken, uiSourceToken, uiHMACSecret, uiHookSecret, uiSlackToken, uiHeaderSecret}

var uiEnv = map[string]string{
	"VIEWER_TOKEN": uiViewerToken, "OPERATOR_TOKEN": uiOperatorToken, app.EnvAPIToken: uiAdminToken,
	"SOURCE_TOKEN": uiSourceToken, "HMAC_SECRET": uiHMACSecret, "HOOK_SECRET": uiHookSecret,
	"SLACK_TOKEN": uiSlackToken, "HEADER_SECRET": uiHeaderSecret,
}

const uiConfig = `
api:
  tokens:
    - {name: dashboard, token: "${VIEWER_TOKEN}", role: viewer}
    - {name: alice, token: "${OPERATOR_TOKEN}", role: operator}
sources:
  - name: gen
    kind: generic
    auth: {type: none}
  - name: am
    kind: alertmanager
    auth: {type: token, token: "${SOURCE_TOKEN}"}
  - name: signed
    kind: generic
    auth: {type: hmac, secret: "${HMAC_SECRET}", header: X-Signature}
routing:
  default: [ops-hook]
targets:
  - name: ops-hook
    type: webhook
    url: https://hooks.example.org/incidents
    secrets: ["${HOOK_SECRET}"]
    headers: {X-Api-Key: "${HEADER_SECRET}"}
  - name: chat
    type: slack
    token: "${SLACK_TOKEN}"
    channel: C0INCIDENTS
`

// uiHub is a hub behind a real HTTP server, for the UI's cookies.
type uiHub struct {
	*hub
	srv    *httptest.Server
	cfg    *config.Config
	router processor.Router
}

func newUIHub(t *testing.T, dialect string) *uiHub {
	t.Helper()
	return newUIHubWithStore(t, storetest.Open(t, dialect), uiConfig, uiEnv)
}

func newUIHubWithStore(t *testing.T, st *store.Store, yamlText string, env map[string]string) *uiHub {
	t.Helper()
	getenv := func(k string) string { return env[k] }
	cfg, err := config.Parse("test.yaml", []byte(yamlText), getenv)
	require.NoError(t, err)
	h := newHubWithStore(t, st, cfg, app.Tokens(cfg, getenv))
	h.handler = web.New(web.Deps{Store: st, Config: func() *config.Config { return cfg }, Tokens: app.Tokens(cfg, getenv), Log: h.log})
	u := &uiHub{hub: h, cfg: cfg, router: processor.DefaultRouter(cfg.Routing.Default)}
	u.srv = httptest.NewServer(h.handler)
	t.Cleanup(u.srv.Close)
	return u
}

// alerts posts generic alerts to source gen and processes them.
func (u *uiHub) alerts(t *testing.T, alerts ...map[string]any) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"alerts": alerts})
	require.NoError(t, err)
	requireAccepted(t, u.post("gen", body))
	p := processor.New(u.st, u.log, 1, time.Second)
	p.Router = u.router
	for {
		did, err := p.ProcessOne(context.Background())
		require.NoError(t, err)
		if !did {
			return
		}
	}
}

func alert(fp, service, alertType, severity, title string) map[string]any {
	return map[string]any{"fingerprint": fp, "status": "firing", "service": service, "alert_type": alertType,
		"severity": severity, "title": title, "host": fp, "starts_at": tBase.Format(time.RFC3339)}
}

// browser is a cookie-keeping HTTP client that does not follow redirects
// and keeps every response for the secret check.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	mu   sync.Mutex
	seen []string
}

func (u *uiHub) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, base: u.srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	*http.Response
	Body string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "text/html")
	}
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	var dump strings.Builder
	_ = resp.Header.Write(&dump)
	b.mu.Lock()
	b.seen = append(b.seen, dump.String()+string(body))
	b.mu.Unlock()
	return page{resp, string(body)}
}

// get fetches path; headers are name, value pairs.
func (b *browser) get(path string, headers ...string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base+path, nil)
	require.NoError(b.t, err)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values, headers ...string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the token in the page's forms.
func (p page) csrf(t *testing.T) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(p.Body)
	require.NotNil(t, m, "no CSRF field in the page: %s", p.Body)
	return m[1]
}

func (b *browser) signIn(token, next string) page {
	b.t.Helper()
	form := b.get("/ui/sign-in")
	require.Equal(b.t, http.StatusOK, form.StatusCode, form.Body)
	return b.post("/ui/sign-in", url.Values{"token": {token}, "csrf": {form.csrf(b.t)}, "next": {next}})
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.base + "/ui/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// requireNoSecrets: no response this browser saw holds a secret.
func (b *browser) requireNoSecrets(secrets ...string) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	require.NotEmpty(b.t, b.seen)
	for _, resp := range b.seen {
		for _, s := range secrets {
			require.NotContains(b.t, resp, s)
		}
	}
}

func setCookie(t *testing.T, p page, name string) *http.Cookie {
	t.Helper()
	for _, c := range p.Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("response sets no %s cookie; Set-Cookie: %v", name, p.Header.Values("Set-Cookie"))
	return nil
}

// TestUISignIn: a person following a link to an incident is sent to the
// sign-in page, signs in with an API token and lands on the incident; the
// session cookie is HttpOnly and SameSite=Strict; signing out ends it.
func TestUISignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		u := newUIHub(t, dialect)
		u.alerts(t, alert("db-1", "postgres", "backup_failed", "high", "Nightly backup failed"))
		b := u.browser(t)

		root := b.get("/")
		require.Equal(t, http.StatusFound, root.StatusCode)
		require.Equal(t, "/ui/", root.Header.Get("Location"))

		first := b.get("/ui/incidents/1")
		require.Equal(t, http.StatusSeeOther, first.StatusCode)
		require.Equal(t, "/ui/sign-in?next=%2Fui%2Fincidents%2F1", first.Header.Get("Location"))

		form := b.get(first.Header.Get("Location"))
		require.Equal(t, http.StatusOK, form.StatusCode)
		require.Contains(t, form.Body, `name="next" value="/ui/incidents/1"`)
		require.Contains(t, form.Body, `type="password"`)

		// A wrong token: 401, the form again, the token not echoed.
		wrong := b.post("/ui/sign-in", url.Values{"token": {"not-a-token-4471"}, "csrf": {form.csrf(t)}, "next": {"/ui/incidents/1"}})
		require.Equal(t, http.StatusUnauthorized, wrong.StatusCode)
		require.Contains(t, wrong.Body, "That token is not one of the hub&#39;s API tokens.")
		require.NotContains(t, wrong.Body, "not-a-token-4471")
		require.Nil(t, b.cookie("incidenthub_session"))

		// No CSRF token on the sign-in form: refused.
		noCSRF := b.post("/ui/sign-in", url.Values{"token": {uiOperatorToken}})
		require.Equal(t, http.StatusForbidden, noCSRF.StatusCode)
		require.Contains(t, noCSRF.Body, "CSRF")

		in := b.signIn(uiOperatorToken, "/ui/incidents/1")
		require.Equal(t, http.StatusSeeOther, in.StatusCode, in.Body)
		require.Equal(t, "/ui/incidents/1", in.Header.Get("Location"))
		ck := setCookie(t, in, "incidenthub_session")
		require.True(t, ck.HttpOnly)
		require.Equal(t, http.SameSiteStrictMode, ck.SameSite)
		require.Equal(t, "/ui/", ck.Path)
		require.False(t, ck.Secure, "plain HTTP: a Secure cookie would never come back")
		require.InDelta(t, (12 * time.Hour).Seconds(), ck.MaxAge, 5)

		inc := b.get("/ui/incidents/1")
		require.Equal(t, http.StatusOK, inc.StatusCode)
		require.Contains(t, inc.Body, "Nightly backup failed")
		require.Contains(t, inc.Body, `class="actor" `)
		require.Contains(t, inc.Body, ">alice <span class=\"role role-operator\">operator</span>")

		// The table holds neither the cookie's value nor the token.
		var rows []store.Session
		require.NoError(t, u.st.DB.Find(&rows).Error)
		require.Len(t, rows, 1)
		dump := fmt.Sprintf("%+v", rows[0])
		require.NotContains(t, dump, ck.Value)
		require.NotContains(t, dump, uiOperatorToken)
		require.Equal(t, "alice", rows[0].TokenName)

		// An open redirect is not possible through next.
		b2 := u.browser(t)
		out := b2.signIn(uiViewerToken, "//evil.example/phish")
		require.Equal(t, "/ui/", out.Header.Get("Location"))

		// Sign out: needs the CSRF token, then the cookie no longer works.
		refused := b.post("/ui/sign-out", url.Values{})
		require.Equal(t, http.StatusForbidden, refused.StatusCode)
		require.Contains(t, refused.Body, "no CSRF token")
		outp := b.post("/ui/sign-out", url.Values{"csrf": {inc.csrf(t)}})
		require.Equal(t, http.StatusSeeOther, outp.StatusCode)
		require.Equal(t, "/ui/sign-in", outp.Header.Get("Location"))
		require.Contains(t, b.get("/ui/sign-in").Body, "Signed out.")
		// Even a saved copy of the cookie is dead: the row is gone.
		replay := u.browser(t)
		srvURL, _ := url.Parse(u.srv.URL + "/ui/")
		replay.c.Jar.SetCookies(srvURL, []*http.Cookie{{Name: "incidenthub_session", Value: ck.Value, Path: "/ui/"}})
		require.Equal(t, http.StatusSeeOther, replay.get("/ui/").StatusCode)

		list, _, err := audit.List(context.Background(), u.st.DB, audit.Filter{Actor: "alice"})
		require.NoError(t, err)
		var actions []string
		for _, e := range list {
			actions = append(actions, e.Action)
		}
		require.Contains(t, actions, "ui.sign_in")
		require.Contains(t, actions, "ui.sign_out")

		b.requireNoSecrets(uiSecrets...)
	})
}

// TestUISessionFollowsTheConfig: a session stops working when its token
// is no longer configured (the hub restarted without it), and takes the
// token's role as configured now.
func TestUISessionFollowsTheConfig(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	u := newUIHubWithStore(t, st, uiConfig, uiEnv)
	b := u.browser(t)
	require.Equal(t, http.StatusSeeOther, b.signIn(uiOperatorToken, "").StatusCode)
	require.Equal(t, http.StatusOK, b.get("/ui/").StatusCode)
	ck := b.cookie("incidenthub_session")
	require.NotNil(t, ck)

	// The same database, a hub whose config demotes alice to viewer.
	demoted := strings.Replace(uiConfig, `"${OPERATOR_TOKEN}", role: operator`, `"${OPERATOR_TOKEN}", role: viewer`, 1)
	u2 := newUIHubWithStore(t, st, demoted, uiEnv)
	b2 := u2.browser(t)
	srv2, _ := url.Parse(u2.srv.URL + "/ui/")
	b2.c.Jar.SetCookies(srv2, []*http.Cookie{{Name: "incidenthub_session", Value: ck.Value, Path: "/ui/"}})
	p := b2.get("/ui/")
	require.Equal(t, http.StatusOK, p.StatusCode)
	require.Contains(t, p.Body, `role role-viewer">viewer`)

	// And one without alice's token at all: the session is over.
	removed := strings.Replace(uiConfig, `    - {name: alice, token: "${OPERATOR_TOKEN}", role: operator}`+"\n", "", 1)
	require.NotEqual(t, uiConfig, removed)
	u3 := newUIHubWithStore(t, st, removed, uiEnv)
	b3 := u3.browser(t)
	srv3, _ := url.Parse(u3.srv.URL + "/ui/")
	b3.c.Jar.SetCookies(srv3, []*http.Cookie{{Name: "incidenthub_session", Value: ck.Value, Path: "/ui/"}})
	gone := b3.get("/ui/incidents/1")
	require.Equal(t, http.StatusSeeOther, gone.StatusCode)
	require.Equal(t, "/ui/sign-in?next=%2Fui%2Fincidents%2F1", gone.Header.Get("Location"))
	require.Equal(t, -1, setCookie(t, gone, "incidenthub_session").MaxAge, "the dead cookie is cleared")

	// An expired session is over too.
	b4 := u.browser(t)
	require.Equal(t, http.StatusSeeOther, b4.signIn(uiViewerToken, "").StatusCode)
	require.Equal(t, http.StatusOK, b4.get("/ui/").StatusCode)
	require.NoError(t, st.DB.Model(&store.Session{}).Where("token_name = ?", "dashboard").
		Update("expires_at", time.Now().UTC().Add(-time.Minute)).Error)
	require.Equal(t, http.StatusSeeOther, b4.get("/ui/").StatusCode)
}

// TestUISecurityHeaders: every UI response carries a strict CSP and the
// other hardening headers; pages are not cached.
func TestUISecurityHeaders(t *testing.T) {
	u := newUIHub(t, store.SQLite)
	b := u.browser(t)
	require.Equal(t, http.StatusSeeOther, b.signIn(uiViewerToken, "").StatusCode)
	for _, path := range []string{"/ui/sign-in", "/ui/", "/ui/incidents/live?status=open", "/ui/incidents/999", "/ui/nope", "/ui/static/app.css"} {
		p := b.get(path)
		csp := p.Header.Get("Content-Security-Policy")
		require.Contains(t, csp, "default-src 'none'", path)
		require.Contains(t, csp, "script-src 'self';", path)
		require.Contains(t, csp, "style-src 'self';", path)
		require.Contains(t, csp, "frame-ancestors 'none'", path)
		require.NotContains(t, csp, "unsafe", path)
		require.Equal(t, "nosniff", p.Header.Get("X-Content-Type-Options"), path)
		require.Equal(t, "same-origin", p.Header.Get("Referrer-Policy"), path)
		require.Equal(t, "DENY", p.Header.Get("X-Frame-Options"), path)
		if !strings.HasPrefix(path, "/ui/static/") {
			require.Equal(t, "no-store", p.Header.Get("Cache-Control"), path)
			require.Equal(t, "text/html; charset=utf-8", p.Header.Get("Content-Type"), path)
			// No inline script or style anywhere.
			require.NotRegexp(t, `<script>|<script [^>]*>[^<]|<style|style="|\son[a-z]+=`, p.Body, path)
		}
	}
	require.Equal(t, http.StatusNotFound, b.get("/ui/incidents/999").StatusCode)
	require.Contains(t, b.get("/ui/incidents/999").Body, "incident 999 not found")
	require.Equal(t, http.StatusNotFound, b.get("/ui/nope").StatusCode)
	require.Equal(t, http.StatusNotFound, b.get("/ui/static/VENDOR.md").StatusCode)
	require.Equal(t, http.StatusBadRequest, b.get("/ui/?severity=loud").StatusCode)

	// A script asking for JSON gets the API's error shape.
	j := b.get("/ui/incidents/999", "Accept", "application/json")
	require.Equal(t, http.StatusNotFound, j.StatusCode)
	require.Contains(t, j.Body, `"code":"not_found"`)

	// Static files carry their hash and may be cached when asked for by it.
	css := b.get("/ui/")
	m := regexp.MustCompile(`/ui/static/app\.css\?v=([0-9a-f]+)`).FindStringSubmatch(css.Body)
	require.NotNil(t, m)
	cached := b.get(m[0])
	require.Equal(t, http.StatusOK, cached.StatusCode)
	require.Equal(t, "text/css; charset=utf-8", cached.Header.Get("Content-Type"))
	require.Contains(t, cached.Header.Get("Cache-Control"), "immutable")
	require.Equal(t, "no-cache", b.get("/ui/static/app.css").Header.Get("Cache-Control"))
}

// TestUIViewerCannotAct: a viewer sees no action and a forged POST is
// refused, with or without the CSRF token; an operator's POST without the
// token, or from another site, is refused too; nothing changes.
func TestUIViewerCannotAct(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		u := newUIHub(t, dialect)
		u.alerts(t, alert("web-1", "checkout", "http_5xx", "critical", "Checkout 5xx rate above 5%"),
			alert("web-2", "checkout", "http_5xx", "critical", "Checkout 5xx rate above 5%"))
		viewer := u.browser(t)
		require.Equal(t, http.StatusSeeOther, viewer.signIn(uiViewerToken, "").StatusCode)
		p := viewer.get("/ui/incidents/1")
		require.Equal(t, http.StatusOK, p.StatusCode)
		require.Contains(t, p.Body, "Checkout 5xx rate above 5%")
		for _, action := range []string{"acknowledge", "resolve", "reopen", "merge", "split"} {
			require.NotContains(t, p.Body, "/ui/incidents/1/"+action, "a viewer sees no %s form", action)
		}
		require.NotContains(t, p.Body, ">Acknowledge</button>")

		csrf := p.csrf(t) // the sign-out form's
		forged := viewer.post("/ui/incidents/1/acknowledge", url.Values{"csrf": {csrf}, "note": {"mine now"}})
		require.Equal(t, http.StatusForbidden, forged.StatusCode)
		require.Contains(t, forged.Body, "This action needs the operator role; you are signed in as dashboard (viewer).")
		noToken := viewer.post("/ui/incidents/1/acknowledge", url.Values{"note": {"mine now"}})
		require.Equal(t, http.StatusForbidden, noToken.StatusCode)
		require.Contains(t, noToken.Body, "no CSRF token")

		op := u.browser(t)
		require.Equal(t, http.StatusSeeOther, op.signIn(uiOperatorToken, "").StatusCode)
		opPage := op.get("/ui/incidents/1")
		require.Contains(t, opPage.Body, ">Acknowledge</button>")
		require.Contains(t, opPage.Body, ">Split out</button>")
		withoutToken := op.post("/ui/incidents/1/acknowledge", url.Values{"note": {"x"}})
		require.Equal(t, http.StatusForbidden, withoutToken.StatusCode)
		require.Contains(t, withoutToken.Body, "CSRF")
		wrongToken := op.post("/ui/incidents/1/acknowledge", url.Values{"csrf": {csrf}}) // the viewer's
		require.Equal(t, http.StatusForbidden, wrongToken.StatusCode)
		require.Contains(t, wrongToken.Body, "no valid CSRF token")
		jsonRefusal := op.post("/ui/incidents/1/acknowledge", url.Values{}, "Accept", "application/json")
		require.Equal(t, http.StatusForbidden, jsonRefusal.StatusCode)
		require.Contains(t, jsonRefusal.Body, `"code":"forbidden"`)
		require.Contains(t, jsonRefusal.Body, "CSRF")
		crossSite := op.post("/ui/incidents/1/acknowledge", url.Values{"csrf": {opPage.csrf(t)}}, "Origin", "https://evil.example")
		require.Equal(t, http.StatusForbidden, crossSite.StatusCode)
		require.Contains(t, crossSite.Body, "came from another site")

		inc, err := u.st.Incident(context.Background(), 1)
		require.NoError(t, err)
		require.Equal(t, incidenthub.IncidentOpen, inc.Status, "no refused request changed anything")
	})
}

// TestUIActions: an operator acknowledges with a note, and the page, the
// API, the timeline and the audit trail agree; then resolves, reopens,
// splits an alert out and merges it back.
func TestUIActions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		u := newUIHub(t, dialect)
		u.alerts(t, alert("web-1", "checkout", "http_5xx", "critical", "Checkout 5xx rate above 5%"),
			alert("web-2", "checkout", "http_5xx", "critical", "Checkout 5xx rate above 5%"))
		b := u.browser(t)
		require.Equal(t, http.StatusSeeOther, b.signIn(uiOperatorToken, "").StatusCode)
		csrf := b.get("/ui/incidents/1").csrf(t)
		act := func(action string, form url.Values) string {
			t.Helper()
			form.Set("csrf", csrf)
			p := b.post("/ui/incidents/1/"+action, form)
			require.Equal(t, http.StatusSeeOther, p.StatusCode, p.Body)
			return p.Header.Get("Location")
		}

		require.Equal(t, "/ui/incidents/1", act("acknowledge", url.Values{"note": {"rolling back deploy 4411"}}))
		p := b.get("/ui/incidents/1")
		require.Contains(t, p.Body, "Incident #1 acknowledged.")
		require.Contains(t, p.Body, "Acknowledged by alice")
		require.Contains(t, p.Body, "rolling back deploy 4411")
		require.NotContains(t, p.Body, ">Acknowledge</button>", "acknowledged: no second acknowledge")
		require.NotContains(t, b.get("/ui/incidents/1").Body, "Incident #1 acknowledged.", "the message shows once")

		var got struct{ Incident incidenthub.Incident }
		require.NoError(t, json.Unmarshal(u.get("/api/v1/incidents/1", uiViewerToken).Body.Bytes(), &got))
		require.Equal(t, incidenthub.IncidentAcknowledged, got.Incident.Status)
		require.Equal(t, "alice", got.Incident.AcknowledgedBy)
		tl := decode[timelineView](t, u.get("/api/v1/incidents/1/timeline", uiViewerToken))
		last := tl.Timeline[len(tl.Timeline)-1]
		require.Equal(t, incidenthub.TimelineAcknowledged, last.Kind)
		require.Equal(t, "alice", last.Actor)
		require.Contains(t, last.Reason, "rolling back deploy 4411")
		recs, _, err := audit.List(context.Background(), u.st.DB, audit.Filter{Action: "incident.acknowledge"})
		require.NoError(t, err)
		require.Len(t, recs, 1)
		require.Equal(t, "alice", recs[0].Actor)
		require.Equal(t, "1", recs[0].Entity)

		// Acknowledging twice is a conflict, shown as a message.
		act("acknowledge", url.Values{})
		require.Contains(t, b.get("/ui/incidents/1").Body, "Could not acknowledge:")

		act("resolve", url.Values{"note": {"fixed by rollback"}})
		p = b.get("/ui/incidents/1")
		require.Contains(t, p.Body, "Resolved by alice")
		require.Contains(t, p.Body, ">Reopen</button>")
		act("reopen", url.Values{})
		require.Contains(t, b.get("/ui/incidents/1").Body, `st-open">Open`)

		// Split web-2 out into incident 2, then merge 2 back into 1.
		loc := act("split", url.Values{"source": {"gen"}, "fingerprint": {"web-2"}})
		require.Equal(t, "/ui/incidents/2", loc)
		p = b.get(loc)
		require.Contains(t, p.Body, "Alert split out of #1 into the new incident #2.")
		require.Contains(t, p.Body, "web-2")
		csrf2 := p.csrf(t)
		m := b.post("/ui/incidents/2/merge", url.Values{"csrf": {csrf2}, "into": {"#1"}})
		require.Equal(t, http.StatusSeeOther, m.StatusCode, m.Body)
		require.Equal(t, "/ui/incidents/1", m.Header.Get("Location"))
		require.Contains(t, b.get("/ui/incidents/1").Body, "Incident #2 merged into #1.")
		merged := b.get("/ui/incidents/2").Body
		require.Contains(t, merged, "Merged into #1")
		bad := b.post("/ui/incidents/1/merge", url.Values{"csrf": {csrf}, "into": {"abc"}})
		require.Equal(t, http.StatusSeeOther, bad.StatusCode)
		require.Contains(t, b.get("/ui/incidents/1").Body, "&#34;abc&#34; is not an incident number")
		b.requireNoSecrets(uiSecrets...)
	})
}

// TestUIIncidentList: tabs with counts, every filter, newest activity
// first, keyset pages, the live region, and the empty states.
func TestUIIncidentList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		u := newUIHub(t, dialect)
		b := u.browser(t)
		require.Equal(t, http.StatusSeeOther, b.signIn(uiViewerToken, "").StatusCode)
		empty := b.get("/ui/")
		require.Contains(t, empty.Body, "No open incidents — no alert has been received yet.")

		u.alerts(t, alert("db-1", "postgres", "backup_failed", "high", "Nightly backup failed"))
		u.alerts(t, alert("web-1", "checkout", "http_5xx", "critical", "Checkout 5xx rate above 5%"))
		u.alerts(t, alert("q-1", "queue", "lag", "warning", "Consumer lag on orders"))
		// The am source (Alertmanager) opens one more.
		requireAccepted(t, u.post("am", testdata(t, "alertmanager-firing.json"), "Authorization", "Bearer "+uiSourceToken))
		u.alerts(t)
		// Activity on the first incident brings it to the top.
		u.alerts(t, alert("db-2", "postgres", "backup_failed", "high", "Nightly backup failed"))

		p := b.get("/ui/")
		require.Equal(t, http.StatusOK, p.StatusCode)
		titles := regexp.MustCompile(`class="incident-title" href="/ui/incidents/(\d+)"`).FindAllStringSubmatch(p.Body, -1)
		require.Len(t, titles, 4)
		require.Equal(t, "1", titles[0][1], "newest activity first: the incident that just got an alert")
		require.Contains(t, p.Body, `data-count="open">4<`)
		require.Contains(t, p.Body, `data-count="acknowledged">0<`)
		require.Contains(t, p.Body, `hx-get="/ui/incidents/live?status=open&amp;v=`)
		require.Contains(t, p.Body, `hx-trigger="every 3s"`)
		require.Contains(t, p.Body, "2 firing")
		require.Contains(t, p.Body, `ops-hook <span class="chip-state">queued</span>`)

		count := func(q string) int {
			t.Helper()
			p := b.get("/ui/?" + q)
			require.Equal(t, http.StatusOK, p.StatusCode, p.Body)
			return strings.Count(p.Body, `class="incident-row"`)
		}
		require.Equal(t, 1, count("service=postgres"))
		require.Equal(t, 2, count("severity=critical"))
		require.Equal(t, 1, count("severity=warning"))
		require.Equal(t, 1, count("source=am"))
		require.Equal(t, 3, count("source=gen"))
		require.Equal(t, 4, count("target=ops-hook"))
		require.Equal(t, 0, count("target=chat"))
		require.Equal(t, 1, count("q=LAG+ON"))
		require.Equal(t, 1, count("q=%233"))
		require.Equal(t, 0, count("q=100%25"))
		require.Equal(t, 0, count("status=resolved"))
		require.Contains(t, b.get("/ui/?severity=info").Body, "No open incidents match these filters.")
		// The form shows the filters in force.
		filtered := b.get("/ui/?severity=critical&source=gen&target=ops-hook").Body
		for _, opt := range []string{`<option value="critical" selected>`, `<option value="gen" selected>`, `<option value="ops-hook" selected>`} {
			require.Contains(t, filtered, opt)
		}
		require.Equal(t, 3, strings.Count(filtered, " selected>"), "only the chosen options are selected")

		// htmx polls the live region with the version it shows: nothing
		// changed, nothing to swap (204); a new alert, a new region.
		poll := strings.ReplaceAll(regexp.MustCompile(`hx-get="([^"]+)"`).FindStringSubmatch(p.Body)[1], "&amp;", "&")
		require.Equal(t, http.StatusNoContent, b.get(poll).StatusCode)
		u.alerts(t, alert("q-2", "queue", "lag", "warning", "Consumer lag on orders"))
		changed := b.get(poll)
		require.Equal(t, http.StatusOK, changed.StatusCode)
		require.Contains(t, changed.Body, "2 firing")
		next := strings.ReplaceAll(regexp.MustCompile(`hx-get="([^"]+)"`).FindStringSubmatch(changed.Body)[1], "&amp;", "&")
		require.NotEqual(t, poll, next)
		require.Equal(t, http.StatusNoContent, b.get(next).StatusCode)

		// The live region alone, as htmx polls it.
		live := b.get("/ui/incidents/live?status=open&service=queue")
		require.Equal(t, http.StatusOK, live.StatusCode)
		require.True(t, strings.HasPrefix(strings.TrimSpace(live.Body), `<section id="incidents-live"`), live.Body)
		require.Contains(t, live.Body, "Consumer lag on orders")
		require.NotContains(t, live.Body, "<html")

		// The API offers the same filters and order.
		api := decode[incidentList](t, u.get("/api/v1/incidents?order=activity&service=postgres", uiViewerToken))
		require.Len(t, api.Incidents, 1)
		api = decode[incidentList](t, u.get("/api/v1/incidents?order=activity&limit=1", uiViewerToken))
		require.Equal(t, int64(3), api.Incidents[0].ID, "the queue incident had the latest alert")
		require.NotNil(t, api.NextCursor)
		api = decode[incidentList](t, u.get("/api/v1/incidents?order=activity&limit=3&cursor="+url.QueryEscape(*api.NextCursor), uiViewerToken))
		require.Len(t, api.Incidents, 3)
		requireError(t, u.get("/api/v1/incidents?order=newest", uiViewerToken), http.StatusBadRequest, incidenthub.EINVALID, "order must be opened or activity")
		requireError(t, u.get("/api/v1/incidents?severity=loud", uiViewerToken), http.StatusBadRequest, incidenthub.EINVALID, "severity")
		requireError(t, u.get("/api/v1/incidents?order=activity&cursor=7", uiViewerToken), http.StatusBadRequest, incidenthub.EINVALID, "cursor")

		// Resolve them all: the open tab's empty state names the last alert.
		for id := 1; id <= 4; id++ {
			rec := u.postJSON("/api/v1/incidents/"+strconv.Itoa(id)+"/resolve", uiAdminToken, "")
			require.Equal(t, http.StatusOK, rec.Code, rec.Body)
		}
		p = b.get("/ui/")
		require.Contains(t, p.Body, `data-count="resolved">4<`)
		require.Regexp(t, `No open incidents — last alert <time datetime="[^"]+" title="[^"]+ UTC" data-rel>just now</time> from gen\.`, p.Body)
	})
}

// TestUIIncidentPages: 60 incidents page by 50, newest activity first,
// with no incident on two pages.
func TestUIIncidentPages(t *testing.T) {
	u := newUIHub(t, store.SQLite)
	var batch []map[string]any
	for i := range 60 {
		batch = append(batch, alert(fmt.Sprintf("h-%d", i), fmt.Sprintf("svc-%02d", i), "cpu", "warning", fmt.Sprintf("CPU high on svc-%02d", i)))
	}
	u.alerts(t, batch...)
	b := u.browser(t)
	require.Equal(t, http.StatusSeeOther, b.signIn(uiViewerToken, "").StatusCode)
	ids := regexp.MustCompile(`id="inc-(\d+)"`)
	p1 := b.get("/ui/")
	first := ids.FindAllStringSubmatch(p1.Body, -1)
	require.Len(t, first, 50)
	next := regexp.MustCompile(`href="(/ui/\?[^"]*cursor=[^"]+)" rel="next"`).FindStringSubmatch(p1.Body)
	require.NotNil(t, next, "a next-page link")
	p2 := b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	second := ids.FindAllStringSubmatch(p2.Body, -1)
	require.Len(t, second, 10)
	require.Contains(t, p2.Body, "← Newest")
	seen := map[string]bool{}
	for _, m := range append(first, second...) {
		require.False(t, seen[m[1]], "incident %s on two pages", m[1])
		seen[m[1]] = true
	}
	require.Len(t, seen, 60)
}

// TestUICrossSiteLink: a link from another site (the Slack message) comes
// without the SameSite=Strict cookie; the hub answers with a page that
// loads the same URL again from itself, which brings the cookie.
func TestUICrossSiteLink(t *testing.T) {
	u := newUIHub(t, store.SQLite)
	b := u.browser(t)
	p := b.get("/ui/incidents/7", "Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusOK, p.StatusCode)
	require.Contains(t, p.Body, `<meta http-equiv="refresh" content="0; url=/ui/incidents/7">`)
	// The same navigation from the hub itself, still signed out: sign in.
	again := b.get("/ui/incidents/7", "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusSeeOther, again.StatusCode)
	require.Equal(t, "/ui/sign-in?next=%2Fui%2Fincidents%2F7", again.Header.Get("Location"))
	// htmx polling after the session ended: the whole page goes to sign-in.
	hx := b.get("/ui/incidents/live?status=open", "HX-Request", "true", "HX-Current-URL", u.srv.URL+"/ui/?status=open")
	require.Equal(t, http.StatusUnauthorized, hx.StatusCode)
	require.Equal(t, "/ui/sign-in?next=%2Fui%2F%3Fstatus%3Dopen", hx.Header.Get("HX-Redirect"))
}

// TestUINoTokens: without any API token, the sign-in page says how to
// configure one.
func TestUINoTokens(t *testing.T) {
	noTokens := strings.Replace(uiConfig, `    - {name: dashboard, token: "${VIEWER_TOKEN}", role: viewer}
    - {name: alice, token: "${OPERATOR_TOKEN}", role: operator}
`, "    []\n", 1)
	noTokens = strings.Replace(noTokens, "  tokens:\n    []", "  tokens: []", 1)
	env := map[string]string{}
	for k, v := range uiEnv {
		if k != app.EnvAPIToken {
			env[k] = v
		}
	}
	u := newUIHubWithStore(t, storetest.Open(t, store.SQLite), noTokens, env)
	b := u.browser(t)
	p := b.get("/ui/sign-in")
	require.Contains(t, p.Body, "No API tokens are configured: set INCIDENTHUB_API_TOKEN or api.tokens")
	in := b.post("/ui/sign-in", url.Values{"token": {"anything"}, "csrf": {p.csrf(t)}})
	require.Equal(t, http.StatusUnauthorized, in.StatusCode)
}

// TestVendoredHTMX: the vendored htmx is the npm package's file, as
// VENDOR.md records.
func TestVendoredHTMX(t *testing.T) {
	b, err := os.ReadFile("ui/static/htmx.min.js")
	require.NoError(t, err)
	header, body, ok := strings.Cut(string(b), "\n")
	require.True(t, ok)
	require.Contains(t, header, "htmx 2.0.11")
	require.Contains(t, header, "0BSD")
	sum := sha256.Sum256([]byte(body))
	vendor, err := os.ReadFile("ui/static/VENDOR.md")
	require.NoError(t, err)
	require.Contains(t, string(vendor), hex.EncodeToString(sum[:]), "htmx.min.js differs from the checksum in VENDOR.md")
}

// TestUITimelinePages: the timeline shows the newest 100 entries first and
// pages back to the opening.
func TestUITimelinePages(t *testing.T) {
	u := newUIHub(t, store.SQLite)
	var batch []map[string]any
	for i := range 120 {
		batch = append(batch, alert(fmt.Sprintf("node-%03d", i), "checkout", "http_5xx", "critical", "Checkout 5xx rate above 5%"))
	}
	u.alerts(t, batch...)
	b := u.browser(t)
	require.Equal(t, http.StatusSeeOther, b.signIn(uiViewerToken, "").StatusCode)
	p := b.get("/ui/incidents/1")
	entries := regexp.MustCompile(`<li class="tl tl-`)
	require.Len(t, entries.FindAllString(p.Body, -1), 100)
	require.False(t, strings.Contains(p.Body, `tl-opened`), "the opening is the oldest entry: on the last page")
	older := regexp.MustCompile(`href="(/ui/incidents/1\?before=\d+#timeline)" rel="next"`).FindStringSubmatch(p.Body)
	require.NotNil(t, older, "an Older link")
	p2 := b.get(strings.TrimSuffix(older[1], "#timeline"))
	require.Len(t, entries.FindAllString(p2.Body, -1), 20)
	require.True(t, strings.Contains(p2.Body, `tl-opened`), "the last page ends with the opening")
	require.True(t, strings.Contains(p2.Body, "← Newest"), "a link back to the newest entries")
	require.Equal(t, http.StatusBadRequest, b.get("/ui/incidents/1?before=x").StatusCode)
}

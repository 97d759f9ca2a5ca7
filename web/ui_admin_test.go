package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/keyring"
	"github.com/incidenthub/incidenthub/internal/registry"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/web"
)

// The Registry, Audit trail and Rules playground screens, over HTTP with
// a cookie-keeping client (browser_admin_test.go drives them in Chromium).

// Secrets of the admin screens' config: none may appear in any page.
const (
	adViewerToken   = "adtok-viewer-3c51e0a2"
	adOperatorToken = "adtok-operator-7f20b9d4"
	adAdminToken    = "adtok-admin-d94e1a63"
	adSourceToken   = "adsrc-token-8e6b2f15"
	adHMACSecret    = "adhmac-secret-41c7d09e"
	adHookSecret    = "whsec_YWRtaW4taG9vay1zZWNyZXQtNWU5YTAxYjM="
)

var adSecrets = []string{adViewerToken, adOperatorToken, adAdminToken, adSourceToken, adHMACSecret, adHookSecret}

var adEnv = map[string]string{
	"VIEWER_TOKEN": adViewerToken, "OPERATOR_TOKEN": adOperatorToken, app.EnvAPIToken: adAdminToken,
	"SOURCE_TOKEN": adSourceToken, "HMAC_SECRET": adHMACSecret, "HOOK_SECRET": adHookSecret,
}

// adminConfig: am is owned, rotates every 30 days and expects an event
// every hour; signed is unowned and rotates weekly; gen is unowned and
// has no secret; ops-hook is an owned outbound webhook. Created 40 days
// ago (the registry's clock starts there), am and signed are overdue and
// am is stale.
const adminConfig = `
api:
  tokens:
    - {name: dashboard, token: "${VIEWER_TOKEN}", role: viewer}
    - {name: alice, token: "${OPERATOR_TOKEN}", role: operator}
sources:
  - name: am
    kind: alertmanager
    auth: {type: token, token: "${SOURCE_TOKEN}"}
    owner: {name: platform, contact: "#platform-oncall"}
    description: production Alertmanager
    expected_interval: 1h
    rotation: {schedule: "@every 720h", overlap: 1h}
  - name: gen
    kind: generic
    auth: {type: none}
  - name: signed
    kind: generic
    auth: {type: hmac, secret: "${HMAC_SECRET}", header: X-Signature}
    rotation: {schedule: "@every 168h"}
routing:
  rules_dir: rules
  default: [ops-hook]
targets:
  - name: ops-hook
    type: webhook
    url: https://hooks.example.org/incidents
    secrets: ["${HOOK_SECRET}"]
    owner: {name: sre, contact: sre@example.org}
`

const adminRules = `rules:
  - name: drop-staging
    when: 'environment == "staging"'
    drop: true
  - name: payments-page
    when: 'service == "payments" && severity_rank >= 3'
    set: {labels.escalated: '"yes"'}
    route: [ops-hook]
silences:
  - name: search-maintenance
    when: 'service == "search"'
    starts_at: 2020-01-01T00:00:00Z
    ends_at: 2100-01-01T00:00:00Z
`

// adminHub is a hub with the registry (with a key), the rules and the
// config status wired as app.Serve wires them, behind a real HTTP server.
type adminHub struct {
	*uiHub
	reg   *registry.Registry
	rl    *app.Reloader
	clock *testClock
	dir   string
}

func newAdminHub(t *testing.T, dialect string) *adminHub {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "rules"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules", "10-routing.yaml"), []byte(adminRules), 0o644))
	path := filepath.Join(dir, "hub.yaml")
	require.NoError(t, os.WriteFile(path, []byte(adminConfig), 0o644))
	getenv := func(k string) string { return adEnv[k] }
	cfg, err := config.Load(path, getenv)
	require.NoError(t, err)

	st := storetest.Open(t, dialect)
	h := &hub{t: t, st: st, logs: &lockedBuffer{}}
	h.log = slogTo(h.logs)
	rl, err := app.NewReloader(cfg, getenv, h.log)
	require.NoError(t, err)
	key := make([]byte, 32)
	_, err = rand.Read(key)
	require.NoError(t, err)
	keys, err := keyring.New(key)
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Second)
	clock := &testClock{t: now.Add(-40 * 24 * time.Hour)}
	reg := registry.New(registry.Options{Store: st, Keys: keys, Log: h.log, Now: clock.Now})
	require.NoError(t, reg.Sync(context.Background(), app.RegistrySpecs(cfg), audit.ActorConfig))
	clock.Add(40 * 24 * time.Hour)

	h.handler = web.New(web.Deps{
		Store: st, Config: rl.Config, Tokens: app.Tokens(cfg, getenv), Log: h.log,
		Rules: rl.Engine, ConfigStatus: rl.Status, Webhooks: reg,
	})
	u := &uiHub{hub: h, cfg: cfg}
	u.srv = httptest.NewServer(h.handler)
	t.Cleanup(u.srv.Close)
	return &adminHub{uiHub: u, reg: reg, rl: rl, clock: clock, dir: dir}
}

// signedIn is a browser signed in with token.
func (a *adminHub) signedIn(t *testing.T, token string) *browser {
	t.Helper()
	b := a.browser(t)
	p := b.signIn(token, "/ui/registry")
	require.Equal(t, http.StatusSeeOther, p.StatusCode, p.Body)
	return b
}

var rowPattern = regexp.MustCompile(`data-entry="([a-z]+/[a-z-]+)"`)

// entries lists the entries of a registry page, in order.
func entries(p page) []string {
	var out []string
	for _, m := range rowPattern.FindAllStringSubmatch(p.Body, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestUIRegistryList: every entry with its owner, secret and flags; one
// click shows the unowned or overdue ones; columns sort; the CSV export
// is the CLI's.
func TestUIRegistryList(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		a := newAdminHub(t, dialect)
		b := a.signedIn(t, adViewerToken)

		p := b.get("/ui/registry")
		require.Equal(t, http.StatusOK, p.StatusCode, p.Body)
		require.Equal(t, []string{"inbound/am", "inbound/gen", "inbound/signed", "outbound/ops-hook"}, entries(p))
		require.Contains(t, p.Body, "#platform-oncall")
		require.Contains(t, p.Body, "sre@example.org")
		require.Contains(t, p.Body, "<code>@every 720h</code>")
		require.Contains(t, p.Body, "40 days old")
		require.Contains(t, p.Body, `aria-current="page">Registry</a>`)
		am := rowOf(t, p, "inbound/am")
		require.Contains(t, am, "rotation overdue")
		require.Contains(t, am, "stale")
		require.NotContains(t, am, "unowned")
		require.Contains(t, rowOf(t, p, "inbound/gen"), "unowned")
		require.Contains(t, rowOf(t, p, "outbound/ops-hook"), ">ok<")

		// "Show me everything unowned or overdue": one click.
		link := regexp.MustCompile(`href="([^"]+)">Unowned or overdue <span class="count">3</span>`).FindStringSubmatch(p.Body)
		require.NotNil(t, link, "no quick filter with its count: %s", p.Body)
		q := b.get(strings.ReplaceAll(link[1], "&amp;", "&"))
		require.Equal(t, []string{"inbound/am", "inbound/gen", "inbound/signed"}, entries(q))
		require.Contains(t, q.Body, "3 of 4 entries")
		require.Equal(t, []string{"inbound/gen", "inbound/signed"}, entries(b.get("/ui/registry?show=unowned")))
		require.Equal(t, []string{"inbound/am"}, entries(b.get("/ui/registry?show=stale")))
		require.Equal(t, []string{"outbound/ops-hook"}, entries(b.get("/ui/registry?direction=outbound")))
		require.Equal(t, []string{"inbound/am"}, entries(b.get("/ui/registry?q=PLATFORM")))
		empty := b.get("/ui/registry?show=failing")
		require.Empty(t, entries(empty))
		require.Contains(t, empty.Body, "Nothing matches these filters")

		// Sorting.
		require.Equal(t, []string{"inbound/signed", "outbound/ops-hook", "inbound/gen", "inbound/am"}, entries(b.get("/ui/registry?sort=name&order=desc")))
		byOwner := entries(b.get("/ui/registry?sort=owner"))
		require.Equal(t, []string{"inbound/am", "outbound/ops-hook"}, byOwner[2:], "unowned first, then platform, sre")
		require.Equal(t, "inbound/signed", entries(b.get("/ui/registry?sort=rotation"))[0], "the most overdue rotation first")

		bad := b.get("/ui/registry?show=everything")
		require.Equal(t, http.StatusBadRequest, bad.StatusCode)
		require.Contains(t, bad.Body, `show &#34;everything&#34; is not a filter`)
		require.Equal(t, http.StatusBadRequest, b.get("/ui/registry?sort=colour").StatusCode)

		// The export is registry.WriteCSV of the list, as the CLI writes it.
		exp := b.get("/ui/registry.csv")
		require.Equal(t, http.StatusOK, exp.StatusCode, exp.Body)
		require.Equal(t, "text/csv; charset=utf-8", exp.Header.Get("Content-Type"))
		require.Contains(t, exp.Header.Get("Content-Disposition"), "attachment")
		list, err := a.reg.List(context.Background(), registry.ListFilter{})
		require.NoError(t, err)
		var want bytes.Buffer
		require.NoError(t, registry.WriteCSV(&want, list))
		require.Equal(t, want.String(), exp.Body)
		rows, err := csv.NewReader(strings.NewReader(b.get("/ui/registry.csv?show=unowned&show=overdue").Body)).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 4, "the header and the three entries the filter shows")

		b.requireNoSecrets(adSecrets...)
	})
}

// rowOf is the HTML of the entry's row in a registry page.
func rowOf(t *testing.T, p page, entry string) string {
	t.Helper()
	i := strings.Index(p.Body, `data-entry="`+entry+`"`)
	require.GreaterOrEqual(t, i, 0, "no row %s", entry)
	j := strings.Index(p.Body[i:], "</tr>")
	return p.Body[i : i+j]
}

var revealValue = regexp.MustCompile(`id="secret-value" class="secret-value" type="text" value="([^"]+)"`)

// TestUIRegistryRotateRevealOnce: an admin rotates a source's token and
// sees the new one once, on a page no cache keeps; a reload finds it gone;
// the source accepts the new token (and the old one until the overlap
// ends, or an admin revokes it); the entry's audit trail shows it all; no
// other page shows the new secret.
func TestUIRegistryRotateRevealOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		a := newAdminHub(t, dialect)
		b := a.signedIn(t, adAdminToken)
		entry := b.get("/ui/registry/inbound/am")
		require.Equal(t, http.StatusOK, entry.StatusCode, entry.Body)
		require.Contains(t, entry.Body, ">Rotate secret</button>")
		require.Contains(t, entry.Body, `<option value="1h0m0s" selected>`, "the entry's own overlap is the default")
		require.NotContains(t, entry.Body, "Revoke previous secret", "no overlap runs yet")

		rot := b.post("/ui/registry/inbound/am/rotate", url.Values{"csrf": {entry.csrf(t)}, "overlap": {"1h"}})
		require.Equal(t, http.StatusSeeOther, rot.StatusCode, rot.Body)
		require.Equal(t, "/ui/registry/inbound/am/secret", rot.Header.Get("Location"))
		ck := setCookie(t, rot, "incidenthub_reveal")
		require.Equal(t, "/ui/registry/inbound/am/secret", ck.Path, "sent to the reveal screen only")
		require.True(t, ck.HttpOnly)
		require.Equal(t, http.SameSiteStrictMode, ck.SameSite)

		reveal := b.get("/ui/registry/inbound/am/secret")
		require.Equal(t, http.StatusOK, reveal.StatusCode, reveal.Body)
		require.Equal(t, "no-store", reveal.Header.Get("Cache-Control"))
		m := revealValue.FindStringSubmatch(reveal.Body)
		require.NotNil(t, m, "no secret on the reveal screen: %s", reveal.Body)
		secret := m[1]
		require.Regexp(t, `^ihs_[0-9a-f]{64}$`, secret, "a token of 32 random bytes")
		require.NotContains(t, ck.Value, secret, "the cookie holds it sealed")
		require.Contains(t, reveal.Body, "Shown once")
		require.Contains(t, reveal.Body, `data-copy="secret-value"`)
		require.Contains(t, reveal.Body, "/ui/static/reveal.js")
		require.Contains(t, reveal.Body, "The old secret keeps working until")
		require.Equal(t, -1, setCookie(t, reveal, "incidenthub_reveal").MaxAge, "the screen clears the cookie")

		// Reload: gone.
		again := b.get("/ui/registry/inbound/am/secret")
		require.Equal(t, http.StatusGone, again.StatusCode)
		require.Contains(t, again.Body, "was shown once and is not shown again")
		require.NotContains(t, again.Body, secret)

		// The sealed cookie replayed, even in the same session, after a
		// rotation it does not describe, or in another session: gone.
		replay := func(b *browser) page {
			req, err := http.NewRequest(http.MethodGet, b.base+"/ui/registry/inbound/am/secret", nil)
			require.NoError(t, err)
			req.AddCookie(&http.Cookie{Name: "incidenthub_reveal", Value: ck.Value})
			return b.do(req)
		}
		other := a.signedIn(t, adAdminToken)
		p := replay(other)
		require.Equal(t, http.StatusGone, p.StatusCode)
		require.NotContains(t, p.Body, secret)

		// The source takes the new token over /hooks, and the old one
		// during the 1h overlap.
		am := []byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A"},"fingerprint":"fa"}]}`)
		requireAccepted(t, a.post("am", am, "Authorization", "Bearer "+secret))
		requireAccepted(t, a.post("am", []byte(strings.Replace(string(am), `"fa"`, `"fb"`, 1)), "Authorization", "Bearer "+adSourceToken))

		entry = b.get("/ui/registry/inbound/am")
		require.Contains(t, entry.Body, "still accepted; the overlap ends")
		require.Contains(t, entry.Body, "Revoke previous secret")
		rev := b.post("/ui/registry/inbound/am/revoke", url.Values{"csrf": {entry.csrf(t)}})
		require.Equal(t, http.StatusSeeOther, rev.StatusCode, rev.Body)
		entry = b.get("/ui/registry/inbound/am")
		require.Contains(t, entry.Body, "The previous secret of am no longer works; only the current one (version 2) does.")
		requireError(t, a.post("am", []byte(strings.Replace(string(am), `"fa"`, `"fc"`, 1)), "Authorization", "Bearer "+adSourceToken), 401, "unauthorized")
		requireAccepted(t, a.post("am", []byte(strings.Replace(string(am), `"fa"`, `"fd"`, 1)), "Authorization", "Bearer "+secret))
		// Revoking again: nothing to revoke, said on the page.
		rev = b.post("/ui/registry/inbound/am/revoke", url.Values{"csrf": {entry.csrf(t)}})
		require.Equal(t, http.StatusSeeOther, rev.StatusCode)
		require.Contains(t, b.get("/ui/registry/inbound/am").Body, "has no previous secret to revoke")

		// Reveal after a manual rotation: already shown.
		rv := b.post("/ui/registry/inbound/am/reveal", url.Values{"csrf": {entry.csrf(t)}})
		require.Equal(t, http.StatusSeeOther, rv.StatusCode)
		require.Equal(t, "/ui/registry/inbound/am", rv.Header.Get("Location"))
		require.Contains(t, b.get("/ui/registry/inbound/am").Body, "was already shown once")

		// A bad overlap is refused on the page.
		bad := b.post("/ui/registry/inbound/am/rotate", url.Values{"csrf": {entry.csrf(t)}, "overlap": {"a week"}})
		require.Equal(t, http.StatusSeeOther, bad.StatusCode)
		require.Contains(t, b.get("/ui/registry/inbound/am").Body, `overlap &#34;a week&#34; is not a duration`)
		// An entry with nothing to rotate has no button, and refuses.
		gen := b.get("/ui/registry/inbound/gen")
		require.NotContains(t, gen.Body, "Rotate secret")
		b.post("/ui/registry/inbound/gen/rotate", url.Values{"csrf": {entry.csrf(t)}})
		require.Contains(t, b.get("/ui/registry/inbound/gen").Body, "there is no secret to rotate")
		require.Equal(t, http.StatusNotFound, b.get("/ui/registry/inbound/nope").StatusCode)
		require.Equal(t, http.StatusNotFound, b.get("/ui/registry/sideways/am").StatusCode)

		// The audit trail, on the entry's page.
		entry = b.get("/ui/registry/inbound/am")
		trail := entry.Body[strings.Index(entry.Body, `id="h-audit"`):]
		require.Contains(t, trail, "registry.rotate")
		require.Contains(t, trail, "registry.revoke")
		require.Contains(t, trail, `title="Everything env did"><strong>env</strong></a></td>`)
		require.Contains(t, trail, "<code>secret_version</code>: <span class=\"from\">1</span> → <span class=\"to\">2</span>")
		require.Contains(t, trail, "registry.create")

		// The new secret is on the reveal screen and nowhere else.
		pages := append(append([]string(nil), b.seen...), other.seen...)
		shown := 0
		for _, s := range pages {
			if strings.Contains(s, secret) {
				shown++
			}
		}
		require.Equal(t, 1, shown, "the new secret appears in exactly one response")
		for _, path := range []string{"/ui/registry", "/ui/registry/inbound/am", "/ui/audit", "/ui/registry.csv", "/ui/rules?source=am", "/ui/"} {
			require.NotContains(t, b.get(path).Body, secret, path)
		}
		b.requireNoSecrets(adSecrets...)
		other.requireNoSecrets(adSecrets...)
		require.NotContains(t, a.logs.String(), secret)
	})
}

// TestUIRegistryRoles: a viewer sees no rotate, revoke or verify button,
// and forged POSTs are refused, without the CSRF token and (with it) for
// the role; an operator verifies but does not rotate.
func TestUIRegistryRoles(t *testing.T) {
	t.Parallel()
	a := newAdminHub(t, store.SQLite)
	viewer := a.signedIn(t, adViewerToken)
	p := viewer.get("/ui/registry/inbound/signed")
	require.Equal(t, http.StatusOK, p.StatusCode, p.Body)
	for _, button := range []string{"Rotate secret", "Revoke previous secret", ">Verify<", "Reveal"} {
		require.NotContains(t, p.Body, button)
	}
	require.NotContains(t, p.Body, `id="h-actions"`)

	noCSRF := viewer.post("/ui/registry/inbound/signed/rotate", url.Values{})
	require.Equal(t, http.StatusForbidden, noCSRF.StatusCode)
	require.Contains(t, noCSRF.Body, "no CSRF token")
	wrongCSRF := viewer.post("/ui/registry/inbound/signed/rotate", url.Values{"csrf": {"forged"}})
	require.Equal(t, http.StatusForbidden, wrongCSRF.StatusCode)
	require.Contains(t, wrongCSRF.Body, "no valid CSRF token")
	for _, action := range []string{"rotate", "revoke", "reveal", "verify"} {
		r := viewer.post("/ui/registry/inbound/signed/"+action, url.Values{"csrf": {p.csrf(t)}})
		require.Equal(t, http.StatusForbidden, r.StatusCode, action)
		require.Contains(t, r.Body, "you are signed in as dashboard (viewer)", action)
	}
	require.Equal(t, http.StatusForbidden, viewer.get("/ui/registry/inbound/signed/secret").StatusCode)
	// A cross-site POST is refused even with the token.
	cross := viewer.post("/ui/registry/inbound/signed/verify", url.Values{"csrf": {p.csrf(t)}}, "Origin", "https://evil.example")
	require.Equal(t, http.StatusForbidden, cross.StatusCode)

	e, err := a.reg.Get(context.Background(), registry.Inbound, "signed")
	require.NoError(t, err)
	require.Equal(t, 1, e.Secret.Version, "nothing was rotated")
	require.Nil(t, e.LastVerifiedAt, "nothing was verified")

	op := a.signedIn(t, adOperatorToken)
	p = op.get("/ui/registry/inbound/signed")
	require.Contains(t, p.Body, ">Verify</button>")
	require.NotContains(t, p.Body, "Rotate secret")
	v := op.post("/ui/registry/inbound/signed/verify", url.Values{"csrf": {p.csrf(t)}})
	require.Equal(t, http.StatusSeeOther, v.StatusCode, v.Body)
	p = op.get("/ui/registry/inbound/signed")
	require.Contains(t, p.Body, "Verified signed: its credentials work.")
	require.Contains(t, p.Body, "registry.verify")
	r := op.post("/ui/registry/inbound/signed/rotate", url.Values{"csrf": {p.csrf(t)}})
	require.Equal(t, http.StatusForbidden, r.StatusCode)
	require.Contains(t, r.Body, "This action needs the admin role")

	viewer.requireNoSecrets(adSecrets...)
	op.requireNoSecrets(adSecrets...)
}

// TestUIAuditTrail: the log newest first, filtered by actor, action (with
// a prefix) and entity, in keyset pages.
func TestUIAuditTrail(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		a := newAdminHub(t, dialect)
		ctx := context.Background()
		for range 60 {
			_, _, err := a.reg.Verify(ctx, "alice", registry.Inbound, "gen")
			require.NoError(t, err)
		}
		_, _, err := a.reg.Rotate(ctx, "env", registry.Inbound, "signed", nil)
		require.NoError(t, err)
		b := a.signedIn(t, adViewerToken)

		p := b.get("/ui/audit")
		require.Equal(t, http.StatusOK, p.StatusCode, p.Body)
		require.Contains(t, p.Body, `aria-current="page">Audit trail</a>`)
		list := p.Body[strings.Index(p.Body, `<table class="list audit">`):]
		first := strings.Index(list, "ui.sign_in")
		require.Greater(t, first, 0)
		require.Less(t, first, strings.Index(list, "registry.rotate"), "newest first")
		require.Equal(t, 50, strings.Count(p.Body, `<tr class="audit-rec">`))
		next := regexp.MustCompile(`href="(/ui/audit\?cursor=\d+)" rel="next"`).FindStringSubmatch(p.Body)
		require.NotNil(t, next, "a link to older records")

		older := b.get(next[1])
		require.Equal(t, http.StatusOK, older.StatusCode)
		n := strings.Count(older.Body, `<tr class="audit-rec">`)
		require.Equal(t, 62+4-50, n, "60 verifies, a rotation, a sign-in and the 4 entries' creation")
		require.Contains(t, older.Body, "registry.create")
		require.Contains(t, older.Body, "← Newest")

		byActor := b.get("/ui/audit?actor=env")
		require.Equal(t, 1, strings.Count(byActor.Body, `<tr class="audit-rec">`))
		require.Contains(t, byActor.Body, `<a href="/ui/registry/inbound/signed">inbound/signed</a>`)
		require.Contains(t, byActor.Body, `<code>previous_secret_valid</code>: <span class="from">false</span> → <span class="to">true</span>`)
		prefix := b.get("/ui/audit?action=registry.c*")
		require.Equal(t, 4, strings.Count(prefix.Body, `<tr class="audit-rec">`))
		entity := b.get("/ui/audit?type=registry&entity=inbound/signed")
		require.Equal(t, 2, strings.Count(entity.Body, `<tr class="audit-rec">`), "created, rotated")
		none := b.get("/ui/audit?actor=mallory")
		require.Contains(t, none.Body, "No audit records match these filters.")
		require.Equal(t, http.StatusBadRequest, b.get("/ui/audit?cursor=x").StatusCode)
		b.requireNoSecrets(adSecrets...)
	})
}

// TestUIPlayground: a dry run of a pasted payload shows each rule matched
// or not with its file:line, the routes, the correlation key and the
// silence; a stored event can be picked; bad input is explained on the
// page; the running config and a rejected reload are shown.
func TestUIPlayground(t *testing.T) {
	t.Parallel()
	a := newAdminHub(t, store.SQLite)
	b := a.signedIn(t, adViewerToken)

	p := b.get("/ui/rules")
	require.Equal(t, http.StatusOK, p.StatusCode, p.Body)
	require.Contains(t, p.Body, `aria-current="page">Rules playground</a>`)
	version := a.rl.Status().Version
	require.Contains(t, p.Body, "<code>"+version+"</code>")
	require.Contains(t, p.Body, "3 sources, 2 rules, 1 silence")
	require.Contains(t, p.Body, "none since start")
	require.Contains(t, p.Body, "No events received from am yet.")

	payload := `{"alerts":[{"fingerprint":"pay-1","status":"firing","service":"payments","alert_type":"card_auth","severity":"high","title":"Card auth failing","host":"pay-1"}]}`
	run := b.post("/ui/rules", url.Values{"csrf": {p.csrf(t)}, "source": {"gen"}, "payload": {payload}})
	require.Equal(t, http.StatusOK, run.StatusCode, run.Body)
	require.Contains(t, run.Body, "Alert 1: Card auth failing")
	require.Contains(t, run.Body, `not matched</span> <strong>drop-staging</strong> <code class="where">rules/10-routing.yaml:2</code>`)
	require.Contains(t, run.Body, `matched</span> <strong>payments-page</strong> <code class="where">rules/10-routing.yaml:5</code>`)
	require.Contains(t, run.Body, `<span class="chip ds-queued">ops-hook</span>`)
	require.Contains(t, run.Body, `<code>labels.escalated</code>: <span class="to">yes</span>`)
	require.Contains(t, run.Body, "none applies")
	require.Contains(t, run.Body, "Card auth failing", "the form keeps the payload")

	silenced := b.post("/ui/rules", url.Values{"csrf": {p.csrf(t)}, "source": {"gen"}, "at": {"2030-01-01 00:00"},
		"payload": {`{"alerts":[{"fingerprint":"s-1","status":"firing","service":"search","alert_type":"slow_query","severity":"warning","title":"Slow queries"}]}`}})
	require.Equal(t, http.StatusOK, silenced.StatusCode, silenced.Body)
	require.Contains(t, silenced.Body, "silenced</span> by search-maintenance")
	require.Contains(t, silenced.Body, "routing.default: no rule routed")
	require.Contains(t, silenced.Body, "at 2030-01-01 00:00:00 UTC")
	dropped := b.post("/ui/rules", url.Values{"csrf": {p.csrf(t)}, "source": {"gen"},
		"payload": {`{"alerts":[{"fingerprint":"d-1","status":"firing","service":"web","alert_type":"test","environment":"staging","title":"Test"}]}`}})
	require.Contains(t, dropped.Body, "<strong>Dropped</strong> by rule drop-staging")

	// Bad input: said on the page, the form kept, never a 500.
	for _, tc := range []struct {
		form   url.Values
		status int
		want   string
	}{
		{url.Values{"source": {"gen"}, "payload": {"{\"alerts\": [\n  {oops}\n]}"}}, 400, "The payload is not JSON: invalid character &#39;o&#39; looking for beginning of object key string (line 2, column 4)."},
		{url.Values{"source": {"nope"}, "payload": {payload}}, 400, "There is no source &#34;nope&#34; in the running config (configured: am, gen, signed)."},
		{url.Values{"source": {"gen"}, "payload": {"  "}}, 400, "Paste a payload, or pick one of the source&#39;s recent events."},
		{url.Values{"source": {"gen"}, "payload": {payload}, "at": {"tomorrow"}}, 400, "The time &#34;tomorrow&#34; is not a time"},
		{url.Values{"source": {"am"}, "payload": {`{"receiver":"x"}`}}, 422, "The payload does not map as a alertmanager payload"},
		{url.Values{"source": {"gen"}, "event": {"no-such-event"}}, 400, "There is no stored event &#34;no-such-event&#34;."},
	} {
		tc.form.Set("csrf", p.csrf(t))
		r := b.post("/ui/rules", tc.form)
		require.Equal(t, tc.status, r.StatusCode, tc.want)
		require.Contains(t, r.Body, tc.want)
		require.Contains(t, r.Body, `role="alert" id="p-problem"`)
	}
	require.Equal(t, http.StatusForbidden, b.post("/ui/rules", url.Values{"source": {"gen"}, "payload": {payload}}).StatusCode, "a dry run is a POST: CSRF checked")

	// A stored event of the source, picked from its recent events.
	requireAccepted(t, a.post("gen", []byte(payload)))
	p = b.get("/ui/rules?source=gen")
	pick := regexp.MustCompile(`href="(/ui/rules\?source=gen&amp;event=[0-9a-f-]+)"`).FindStringSubmatch(p.Body)
	require.NotNil(t, pick, "the stored event is offered: %s", p.Body)
	frag := b.get("/ui/rules/recent?source=gen", "HX-Request", "true")
	require.Contains(t, frag.Body, `id="recent-events"`)
	require.NotContains(t, frag.Body, "<html", "a fragment for htmx")
	ran := b.get(strings.ReplaceAll(pick[1], "&amp;", "&"))
	require.Equal(t, http.StatusOK, ran.StatusCode, ran.Body)
	require.Contains(t, ran.Body, "payments-page")
	require.Contains(t, ran.Body, "&#34;fingerprint&#34;: &#34;pay-1&#34;", "the event's payload fills the form, indented")
	eventID := pick[1][strings.LastIndex(pick[1], "=")+1:]
	mismatch := b.get("/ui/rules?source=am&event=" + eventID)
	require.Equal(t, http.StatusBadRequest, mismatch.StatusCode)
	require.Contains(t, mismatch.Body, "came from source gen, not am")

	// A reload the hub rejects: the page says so, and which version runs.
	require.NoError(t, os.WriteFile(filepath.Join(a.dir, "rules", "10-routing.yaml"), []byte("rules:\n  - name: broken\n    when: 'severity ==='\n"), 0o644))
	require.Error(t, a.rl.Reload())
	p = b.get("/ui/rules")
	require.Contains(t, p.Body, "The files on disk are rejected</strong>; version "+version+" keeps running.")
	require.Contains(t, p.Body, "10-routing.yaml:3")
	require.Contains(t, p.Body, "rejected")

	b.requireNoSecrets(adSecrets...)
}

// TestUIAdminScreensShowNoSecret: every screen of the registry, audit
// and playground, for an admin, holds none of the configured secrets.
func TestUIAdminScreensShowNoSecret(t *testing.T) {
	t.Parallel()
	a := newAdminHub(t, store.SQLite)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			requireAccepted(t, a.post("am", []byte(fmt.Sprintf(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"X%d"},"fingerprint":"f%d"}]}`, i, i)), "Authorization", "Bearer "+adSourceToken))
		})
	}
	wg.Wait()
	a.post("am", []byte(`{}`), "Authorization", "Bearer wrong-token")
	b := a.signedIn(t, adAdminToken)
	for _, path := range []string{"/ui/registry", "/ui/registry?show=unowned&show=overdue", "/ui/registry.csv",
		"/ui/registry/inbound/am", "/ui/registry/inbound/gen", "/ui/registry/inbound/signed", "/ui/registry/outbound/ops-hook",
		"/ui/audit", "/ui/rules", "/ui/rules?source=am", "/ui/rules/recent?source=am", "/ui/registry/inbound/am/secret"} {
		p := b.get(path)
		require.Contains(t, []int{http.StatusOK, http.StatusGone}, p.StatusCode, path)
	}
	p := b.get("/ui/registry/inbound/am")
	require.Contains(t, p.Body, "1</span> since the hub started", "the failed request counts")
	require.Contains(t, p.Body, "192.0.2.1")
	p = b.get("/ui/rules?source=am")
	ev := regexp.MustCompile(`event=([0-9a-f-]+)`).FindStringSubmatch(p.Body)
	require.NotNil(t, ev)
	b.get("/ui/rules?source=am&event=" + ev[1])
	b.requireNoSecrets(adSecrets...)
}

// TestUIAdminScreensWithoutRegistry: a hub serving the UI without the
// registry, rules or config status (as the Incidents tests' hub does) says
// so on these screens instead of failing.
func TestUIAdminScreensWithoutRegistry(t *testing.T) {
	t.Parallel()
	u := newUIHub(t, store.SQLite)
	b := u.browser(t)
	require.Equal(t, http.StatusSeeOther, b.signIn(uiAdminToken, "/ui/").StatusCode)
	p := b.get("/ui/registry")
	require.Equal(t, http.StatusOK, p.StatusCode, p.Body)
	require.Contains(t, p.Body, "The webhook registry is not running on this hub.")
	require.NotContains(t, p.Body, "Export CSV")
	require.Equal(t, http.StatusServiceUnavailable, b.get("/ui/registry.csv").StatusCode)
	require.Equal(t, http.StatusServiceUnavailable, b.get("/ui/registry/inbound/gen").StatusCode)
	p = b.get("/ui/rules")
	require.Equal(t, http.StatusOK, p.StatusCode, p.Body)
	require.Contains(t, p.Body, "Routing rules are not loaded in this process")
	require.Contains(t, p.Body, "This process does not report its config status.")
	run := b.post("/ui/rules", url.Values{"csrf": {p.csrf(t)}, "source": {"gen"}, "payload": {`{}`}})
	require.Equal(t, http.StatusServiceUnavailable, run.StatusCode)
	require.Contains(t, run.Body, `id="p-problem">Routing rules are not loaded`)
	p = b.get("/ui/audit")
	require.Equal(t, http.StatusOK, p.StatusCode)
	require.Contains(t, p.Body, "ui.sign_in")
	b.requireNoSecrets(uiSecrets...)
}

package web

// The web UI: server-rendered html/template pages under /ui/, embedded in
// the binary, with htmx (vendored in ui/static) for the parts that refresh.
//
// Adding a screen (the README's "Web UI" section says the same):
//
//  1. Write ui/templates/<screen>.html defining "content" (optionally
//     "head", and any partial the screen refreshes, e.g. "<screen>-live").
//     It is parsed with layout.html and partials.html, so the shared
//     partials (time, badges, target chips, empty states, pager, flash)
//     are available; tables are <table class="list"> with a data-label on
//     every cell.
//  2. Write a view struct that embeds uiPage and holds what the screen
//     shows, and a handler that fills it by calling the same store and
//     package functions as the /api/v1 handler for the same data (never
//     the API over HTTP), then calls s.render(c, "<screen>", &view) (or
//     s.renderPartial for a fragment); errors go to s.uiFail.
//  3. Add the routes to the UI block of routes.go: pages.GET for reading,
//     act.POST for operator actions (CSRF and role checked), or a group
//     with s.uiCSRF, s.uiRequire(config.RoleAdmin) for admin ones. A
//     change answers with redirectFlash (303 and a one-time message) or a
//     fragment.
//  4. Add a navItem to uiNav so it appears in the header.

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/hold"
)

//go:embed ui/templates/*.html ui/static/*
var uiFiles embed.FS

// navItem is one entry of the header's navigation.
type navItem struct {
	Key   string // what a page sets as uiPage.Nav to mark it current
	Label string
	Path  string
}

// uiNav lists the screens in the header, in order. Add a screen's entry
// here when adding the screen.
var uiNav = []navItem{
	{Key: "incidents", Label: "Incidents", Path: "/ui/"},
	{Key: "events", Label: "Events", Path: "/ui/events"},
	{Key: "deliveries", Label: "Deliveries", Path: "/ui/deliveries"},
	{Key: "silences", Label: "Silences", Path: "/ui/silences"},
	{Key: "registry", Label: "Registry", Path: "/ui/registry"},
	{Key: "rules", Label: "Rules playground", Path: "/ui/rules"},
	{Key: "audit", Label: "Audit trail", Path: "/ui/audit"},
}

// uiPage is what every page's view embeds: the layout's data.
type uiPage struct {
	Title   string
	Nav     string // the current navItem's Key
	Session *uiSession
	Flash   *uiFlash
	// NavItems and CSRF are filled by render.
	NavItems []navItem
	CSRF     string
}

func (p *uiPage) page() *uiPage { return p }

// uiView is any screen's view: a struct embedding uiPage.
type uiView interface{ page() *uiPage }

// uiFlash is a one-time message shown on the next page (after a redirect).
type uiFlash struct {
	Kind string `json:"k"` // ok | error
	Text string `json:"t"`
}

const (
	flashCookie   = "incidenthub_flash"
	uiCookiePath  = "/ui/"
	staticMaxAge  = 365 * 24 * time.Hour
	uiContentType = "text/html; charset=utf-8"
)

// contentSecurityPolicy allows nothing inline and nothing from elsewhere:
// scripts and styles come from /ui/static only.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// uiTemplates holds one template set per screen: layout + partials + the
// screen's file.
type uiTemplates struct {
	screens map[string]*template.Template
	static  map[string]string // file name → content hash, for cache busting
}

func loadUITemplates() (*uiTemplates, error) {
	static, err := staticHashes()
	if err != nil {
		return nil, err
	}
	funcs := uiFuncs(static)
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(uiFiles, "ui/templates/layout.html", "ui/templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("ui templates: %w", err)
	}
	files, err := fs.Glob(uiFiles, "ui/templates/*.html")
	if err != nil {
		return nil, err
	}
	t := &uiTemplates{screens: map[string]*template.Template{}, static: static}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		set, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := set.ParseFS(uiFiles, f); err != nil {
			return nil, fmt.Errorf("ui template %s: %w", name, err)
		}
		t.screens[name] = set
	}
	return t, nil
}

func staticHashes() (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(uiFiles, "ui/static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := uiFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(p, "ui/static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	return out, err
}

// render writes the screen's full page (layout "layout") with status 200.
func (s *server) render(c *gin.Context, screen string, v uiView) {
	s.renderStatus(c, http.StatusOK, screen, "layout", v)
}

// renderPartial writes one named template of the screen: a fragment that
// htmx swaps in.
func (s *server) renderPartial(c *gin.Context, screen, name string, v uiView) {
	s.renderStatus(c, http.StatusOK, screen, name, v)
}

func (s *server) renderStatus(c *gin.Context, status int, screen, name string, v uiView) {
	p := v.page()
	p.NavItems = uiNav
	if sess := uiSessionOf(c); sess != nil {
		p.Session = sess
		p.CSRF = sess.CSRF
	}
	if name == "layout" && p.Flash == nil {
		p.Flash = takeFlash(c)
	}
	set := s.ui.screens[screen]
	if set == nil {
		s.Log.ErrorContext(c.Request.Context(), "ui: no such screen template", "screen", screen)
		c.String(http.StatusInternalServerError, "internal error")
		return
	}
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, name, v); err != nil {
		s.Log.Error("ui: render", "screen", screen, "template", name, "err", err, "request_id", c.GetString("request_id"))
		c.String(http.StatusInternalServerError, "internal error (request %s)", c.GetString("request_id"))
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(status, uiContentType, buf.Bytes())
}

// uiHeaders sets the security headers of every UI response.
func uiHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "no-store") // static files say otherwise
	c.Next()
}

// uiStatic serves the embedded static files. A request carrying the
// file's current hash (?v=, as the templates link them) may be cached for
// a year.
func (s *server) uiStatic(c *gin.Context) {
	name := strings.TrimPrefix(c.Param("file"), "/")
	hash, ok := s.ui.static[name]
	if !ok || strings.HasSuffix(name, ".md") {
		s.uiNotFound(c)
		return
	}
	b, err := uiFiles.ReadFile("ui/static/" + name)
	if err != nil {
		s.uiNotFound(c)
		return
	}
	if c.Query("v") == hash {
		c.Header("Cache-Control", fmt.Sprintf("public, max-age=%d, immutable", int(staticMaxAge.Seconds())))
	} else {
		c.Header("Cache-Control", "no-cache")
	}
	c.Header("ETag", `"`+hash+`"`)
	if c.GetHeader("If-None-Match") == `"`+hash+`"` {
		c.Status(http.StatusNotModified)
		return
	}
	ct := "application/octet-stream"
	switch path.Ext(name) {
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	case ".png":
		ct = "image/png"
	}
	c.Data(http.StatusOK, ct, b)
}

// errorView is the error screen.
type errorView struct {
	uiPage
	Status  int
	Heading string
	Message string
	Back    string
}

// wantsJSON: the client asked for JSON rather than a page (a script, not
// a browser).
func wantsJSON(c *gin.Context) bool {
	a := c.GetHeader("Accept")
	return strings.Contains(a, "application/json") && !strings.Contains(a, "text/html")
}

// uiFail answers err as an error page with its status (or as the API's
// JSON error to a client that asked for JSON).
func (s *server) uiFail(c *gin.Context, err error) {
	if wantsJSON(c) {
		s.fail(c, err)
		return
	}
	code := incidenthub.ErrorCode(err)
	status, ok := statuses[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	msg := incidenthub.ErrorMessage(err)
	if status == http.StatusInternalServerError {
		s.Log.Error("internal error", "err", err, "path", c.Request.URL.Path, "request_id", c.GetString("request_id"))
		msg = "Something went wrong on the hub (request " + c.GetString("request_id") + "). The log has the details."
	}
	v := errorView{uiPage: uiPage{Title: http.StatusText(status)}, Status: status, Heading: http.StatusText(status), Message: msg, Back: "/ui/"}
	c.Abort()
	s.renderStatus(c, status, "error", "layout", &v)
}

// uiNotFound is the UI's 404 page.
func (s *server) uiNotFound(c *gin.Context) {
	s.uiFail(c, incidenthub.Errorf(incidenthub.ENOTFOUND, "There is no page at %s.", c.Request.URL.Path))
}

// redirectFlash redirects (303, so the browser GETs) to target with a
// one-time message.
func redirectFlash(c *gin.Context, target, kind, text string) {
	setFlash(c, uiFlash{Kind: kind, Text: text})
	c.Redirect(http.StatusSeeOther, target)
}

func setFlash(c *gin.Context, f uiFlash) {
	b, _ := json.Marshal(f)
	http.SetCookie(c.Writer, &http.Cookie{
		Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: uiCookiePath,
		MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isTLS(c),
	})
}

// takeFlash reads and clears the flash cookie.
func takeFlash(c *gin.Context) *uiFlash {
	ck, err := c.Request.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: flashCookie, Value: "", Path: uiCookiePath, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isTLS(c)})
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return nil
	}
	var f uiFlash
	if json.Unmarshal(b, &f) != nil || f.Text == "" || len(f.Text) > 500 {
		return nil
	}
	if f.Kind != "ok" {
		f.Kind = "error"
	}
	return &f
}

// isTLS reports whether the browser reached the hub over HTTPS: directly,
// or through a trusted proxy that says so in X-Forwarded-Proto.
func isTLS(c *gin.Context) bool {
	if c.Request.TLS != nil {
		return true
	}
	v, ok := c.Get(trustedProxyKey)
	return ok && v.(bool) && strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https")
}

const trustedProxyKey = "ui_trusted_proxy"

// markTrustedProxy records whether the TCP peer is one of the config's
// trusted_proxies (whose X-Forwarded-Proto is believed).
func (s *server) markTrustedProxy(c *gin.Context) {
	c.Set(trustedProxyKey, s.fromTrustedProxy(c))
	c.Next()
}

// ---- template functions ----

func uiFuncs(static map[string]string) template.FuncMap {
	return template.FuncMap{
		"static": func(name string) string {
			return "/ui/static/" + name + "?v=" + static[name]
		},
		"ago":      func(t time.Time) string { return ago(time.Now(), t) },
		"agoPtr":   func(t *time.Time) string { return agoPtr(t) },
		"abs":      absTime,
		"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"deref":    func(t *time.Time) time.Time { return derefTime(t) },
		"hasRole":  func(sess *uiSession, role string) bool { return sess != nil && roleRank[sess.Role] >= roleRank[role] },
		"plural":   plural,
		"add":      func(a, b int) int { return a + b },
		"kind":     timelineLabel,
		"sevRank":  func(s incidenthub.Severity) int { return s.Rank() },
		"join":     strings.Join,
		"details":  detailPairs,
		"slackURL": slackChannelURL,
		"shortID":  shortID,
		"dict":     dict,
		// csrfHeaders is the body's hx-headers: htmx sends the session's
		// CSRF token with every request it makes.
		"csrfHeaders": func(token string) (string, error) {
			b, err := json.Marshal(map[string]string{csrfHeader: token})
			return string(b), err
		},
		"queryWith": func(q url.Values, kv ...string) string {
			out := url.Values{}
			for k, v := range q {
				out[k] = append([]string(nil), v...)
			}
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] == "" {
					out.Del(kv[i])
				} else {
					out.Set(kv[i], kv[i+1])
				}
			}
			if e := out.Encode(); e != "" {
				return "?" + e
			}
			return ""
		},
	}
}

// dict builds a map from key, value pairs, for partials that take several
// values.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func agoPtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return ago(time.Now(), *t)
}

// absTime is the absolute time shown on hover: UTC, to the second.
func absTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// ago renders t relative to now: "just now", "3 min ago", "in 5 min".
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < 45*time.Second:
		if future {
			return "in a few seconds"
		}
		return "just now"
	case d < 90*time.Minute:
		s = fmt.Sprintf("%d min", max(1, int(d.Round(time.Minute)/time.Minute)))
	case d < 36*time.Hour:
		s = plural(int(d.Round(time.Hour)/time.Hour), "hour", "hours")
	case d < 45*24*time.Hour:
		s = plural(int(d.Round(24*time.Hour)/(24*time.Hour)), "day", "days")
	default:
		return t.UTC().Format("2 Jan 2006")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func shortID(s string) string {
	if len(s) > 13 {
		return s[:8] + "…" + s[len(s)-4:]
	}
	return s
}

// timelineLabel names a timeline entry kind for people.
func timelineLabel(kind string) string {
	switch kind {
	case incidenthub.TimelineOpened:
		return "Opened"
	case incidenthub.TimelineAlertJoined:
		return "Alert joined"
	case incidenthub.TimelineAlertFiring:
		return "Alert firing again"
	case incidenthub.TimelineAlertResolved:
		return "Alert resolved"
	case incidenthub.TimelineSeverityRaised:
		return "Severity raised"
	case incidenthub.TimelineAcknowledged:
		return "Acknowledged"
	case incidenthub.TimelineResolved:
		return "Resolved"
	case incidenthub.TimelineReopened:
		return "Reopened"
	case incidenthub.TimelineFlapping:
		return "Flapping"
	case incidenthub.TimelineSettled:
		return "Stopped flapping"
	case incidenthub.TimelineIgnored:
		return "Event ignored"
	case incidenthub.TimelineJoinsNotified:
		return "Joins notified"
	case incidenthub.TimelineMerged:
		return "Merged in"
	case incidenthub.TimelineMergedInto:
		return "Merged into another"
	case incidenthub.TimelineSplit:
		return "Alert split out"
	case incidenthub.TimelineSplitFrom:
		return "Split from another"
	case incidenthub.TimelineInhibited:
		return "Inhibited"
	case hold.TimelineHeld:
		return "Notifications held"
	case hold.TimelineReleased:
		return "Hold ended"
	}
	return strings.ReplaceAll(kind, "_", " ")
}

type kv struct{ K, V string }

// detailPairs flattens a timeline entry's details for display, sorted by
// key. Values are rendered as JSON unless they are strings.
func detailPairs(m map[string]any) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			s = string(b)
		}
		out = append(out, kv{k, s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].K < out[j].K })
	return out
}

// slackChannelURL opens a Slack channel by id (Slack's documented
// app_redirect deep link); the message itself needs the workspace's
// domain, which the hub does not know.
func slackChannelURL(channel string) string {
	if channel == "" {
		return ""
	}
	return "https://slack.com/app_redirect?channel=" + url.QueryEscape(channel)
}

// sourceNames and targetNames list the config's names for filter menus.
func sourceNames(cfg *config.Config) []string {
	out := make([]string, 0, len(cfg.Sources))
	for _, s := range cfg.Sources {
		out = append(out, s.Name)
	}
	sort.Strings(out)
	return out
}

func targetNames(cfg *config.Config) []string {
	out := make([]string, 0, len(cfg.Targets))
	for _, t := range cfg.Targets {
		out = append(out, t.Name)
	}
	sort.Strings(out)
	return out
}

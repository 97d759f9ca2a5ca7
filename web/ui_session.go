package web

// Web UI sessions, sign-in and CSRF.
//
// Sign-in takes an API token (the same tokens and roles as /api/v1). The
// hub stores a session row (migration 00010, table ui_sessions) and sets
// a cookie holding a random 256-bit id; the table keeps only the id's
// SHA-256, the token's name and a truncated SHA-256 of the token (never
// the token). Each request looks the session up and then looks for a
// configured token with that hash: the actor and role come from the token
// as configured now, so a token removed from the config (or given a new
// value) ends its sessions as soon as the hub runs without it, and a
// changed role applies at once. Sessions live in the database so that
// replicas share them and sign-out revokes everywhere. They expire
// sessionTTL after sign-in.
//
// CSRF: every POST carries the session's synchronizer token (form field
// "csrf" or header X-CSRF-Token; htmx sends the header from the body's
// hx-headers); the sign-in form, which has no session yet, uses a
// double-submit cookie. A POST whose Origin is another site is refused
// too. Cookies are HttpOnly, SameSite=Strict, and Secure over HTTPS.

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/verify"
)

const (
	sessionCookie = "incidenthub_session"
	signInCookie  = "incidenthub_signin" // the sign-in form's double-submit CSRF token
	sessionTTL    = 12 * time.Hour       // one on-call shift
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
	maxFormBytes  = 64 << 10
	uiSessionKey  = "ui_session"
)

// uiSession is the signed-in person as a request sees it.
type uiSession struct {
	Actor     string // the token's name: the actor in timelines and audit
	Role      string
	CSRF      string
	ExpiresAt time.Time
	idHash    string
}

func uiSessionOf(c *gin.Context) *uiSession {
	v, ok := c.Get(uiSessionKey)
	if !ok {
		return nil
	}
	return v.(*uiSession)
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// tokenHash identifies a token in a session row without storing it:
// 128 bits of a domain-separated SHA-256.
func tokenHash(token string) string {
	return hashHex("incidenthub ui session token\x00" + token)[:32]
}

// currentToken finds the configured token a session was made from.
func (s *server) currentToken(hash string) *config.APIToken {
	tokens := s.tokens()
	for i := range tokens {
		if v := tokens[i].Token.Value(); v != "" && subtle.ConstantTimeCompare([]byte(tokenHash(v)), []byte(hash)) == 1 {
			return &tokens[i]
		}
	}
	return nil
}

// loadSession resolves the session cookie, if any, into the request's
// uiSession. A cookie of an unknown, expired or revoked session, or of a
// token no longer configured, is cleared.
func (s *server) loadSession(c *gin.Context) (*uiSession, error) {
	ck, err := c.Request.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, nil
	}
	idHash := hashHex(ck.Value)
	row, err := s.Store.GetSession(c.Request.Context(), idHash, time.Now())
	if err != nil {
		return nil, err
	}
	var tok *config.APIToken
	if row != nil {
		tok = s.currentToken(row.TokenHash)
	}
	if tok == nil {
		clearCookie(c, sessionCookie)
		return nil, nil
	}
	sess := &uiSession{Actor: tok.Name, Role: tok.Role, CSRF: row.CSRFToken, ExpiresAt: row.ExpiresAt, idHash: idHash}
	c.Set(uiSessionKey, sess)
	return sess, nil
}

// uiAuth lets only signed-in people through. Others are sent to the
// sign-in page, which brings them back here afterwards.
func (s *server) uiAuth(c *gin.Context) {
	sess, err := s.loadSession(c)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	if sess != nil {
		c.Next()
		return
	}
	c.Abort()
	if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
		s.uiFail(c, incidenthub.Errorf(incidenthub.EUNAUTHORIZED, "You are not signed in (or your session ended). Sign in and try again."))
		return
	}
	next := c.Request.URL.RequestURI()
	if c.GetHeader("HX-Request") == "true" {
		// A live region polling after the session ended: take the whole
		// page to the sign-in form.
		next = c.GetHeader("HX-Current-URL")
		if u, err := url.Parse(next); err == nil {
			next = u.RequestURI()
		}
		c.Header("HX-Redirect", signInURL(next))
		c.Status(http.StatusUnauthorized)
		return
	}
	if c.GetHeader("Sec-Fetch-Site") == "cross-site" {
		// A link from another site (the Slack message): the browser did
		// not send the SameSite=Strict cookie with this navigation. Load
		// the page again from here, which sends it.
		s.renderStatus(c, http.StatusOK, "reload", "layout", &reloadView{uiPage: uiPage{Title: "Opening…"}, Target: next})
		return
	}
	c.Redirect(http.StatusSeeOther, signInURL(next))
}

type reloadView struct {
	uiPage
	Target string
}

func signInURL(next string) string {
	next = safeNext(next)
	if next == "/ui/" {
		return "/ui/sign-in"
	}
	return "/ui/sign-in?next=" + url.QueryEscape(next)
}

// safeNext keeps a post-sign-in redirect inside the UI: a path under /ui/
// on this host, or /ui/.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/ui/"
	}
	clean := path.Clean(u.Path)
	if !strings.HasPrefix(clean+"/", "/ui/") || strings.HasPrefix(clean, "/ui/sign-") {
		return "/ui/"
	}
	if strings.HasSuffix(u.Path, "/") && !strings.HasSuffix(clean, "/") {
		clean += "/"
	}
	u.Path, u.RawPath, u.Fragment = clean, "", ""
	return u.RequestURI()
}

// uiRequire lets the request through only for role or a more privileged
// one.
func (s *server) uiRequire(role string) gin.HandlerFunc {
	return func(c *gin.Context) {
		sess := uiSessionOf(c)
		if sess == nil || roleRank[sess.Role] < roleRank[role] {
			have, who := "", ""
			if sess != nil {
				have, who = sess.Role, sess.Actor
			}
			s.uiFail(c, incidenthub.Errorf(incidenthub.EFORBIDDEN, "This action needs the %s role; you are signed in as %s (%s).", role, who, have))
			return
		}
		c.Next()
	}
}

// sameOrigin refuses a request whose Origin header names another origin
// (browsers send it on every cross-origin POST).
func sameOrigin(c *gin.Context) error {
	o := c.GetHeader("Origin")
	if o == "" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || u.Host != c.Request.Host {
		return incidenthub.Errorf(incidenthub.EFORBIDDEN, "Refused: this request came from another site (Origin %s).", o)
	}
	return nil
}

// parseForm reads a same-origin POST's form, at most maxFormBytes.
func parseForm(c *gin.Context) error {
	if err := sameOrigin(c); err != nil {
		return err
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBytes)
	if err := c.Request.ParseForm(); err != nil {
		return incidenthub.Errorf(incidenthub.EINVALID, "Could not read the form: %v", err)
	}
	return nil
}

// uiCSRF checks a state-changing request's CSRF token against the
// session's (after uiAuth).
func (s *server) uiCSRF(c *gin.Context) {
	if err := parseForm(c); err != nil {
		s.uiFail(c, err)
		return
	}
	sess := uiSessionOf(c)
	got := c.GetHeader(csrfHeader)
	if got == "" {
		got = c.Request.PostForm.Get(csrfField)
	}
	if sess == nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
		msg := "Refused: the request has no valid CSRF token. Reload the page and try again."
		if got == "" {
			msg = "Refused: the request has no CSRF token (form field \"csrf\" or header X-CSRF-Token). Reload the page and try again."
		}
		s.uiFail(c, incidenthub.Errorf(incidenthub.EFORBIDDEN, "%s", msg))
		return
	}
	c.Next()
}

// ---- sign-in and sign-out ----

type signInView struct {
	uiPage
	Next     string
	Error    string
	NoTokens bool
	FormCSRF string
}

func (s *server) signInPage(c *gin.Context) {
	next := safeNext(c.Query("next"))
	sess, err := s.loadSession(c)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	if sess != nil {
		c.Redirect(http.StatusSeeOther, next)
		return
	}
	s.showSignIn(c, http.StatusOK, next, "")
}

func (s *server) showSignIn(c *gin.Context, status int, next, problem string) {
	tok := randomToken()
	http.SetCookie(c.Writer, &http.Cookie{Name: signInCookie, Value: tok, Path: uiCookiePath, MaxAge: 3600,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isTLS(c)})
	v := signInView{uiPage: uiPage{Title: "Sign in"}, Next: next, Error: problem, NoTokens: len(s.tokens()) == 0, FormCSRF: tok}
	s.renderStatus(c, status, "signin", "layout", &v)
}

func (s *server) signIn(c *gin.Context) {
	if err := parseForm(c); err != nil {
		s.uiFail(c, err)
		return
	}
	next := safeNext(c.Request.PostForm.Get("next"))
	ck, err := c.Request.Cookie(signInCookie)
	got := c.Request.PostForm.Get(csrfField)
	if err != nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(ck.Value)) != 1 {
		s.uiFail(c, incidenthub.Errorf(incidenthub.EFORBIDDEN, "Refused: the sign-in form has no valid CSRF token. Open the sign-in page again and retry."))
		return
	}
	tokens := s.tokens()
	if len(tokens) == 0 {
		s.showSignIn(c, http.StatusUnauthorized, next, "No API tokens are configured: set INCIDENTHUB_API_TOKEN or api.tokens.")
		return
	}
	given := strings.TrimSpace(c.Request.PostForm.Get("token"))
	var tok *config.APIToken
	for i := range tokens {
		if verify.EqualSecret(given, tokens[i].Token.Value()) {
			tok = &tokens[i]
			break
		}
	}
	if given == "" || tok == nil {
		s.showSignIn(c, http.StatusUnauthorized, next, "That token is not one of the hub's API tokens.")
		return
	}
	id := randomToken()
	now := time.Now().UTC()
	row := store.Session{
		IDHash: hashHex(id), TokenName: tok.Name, TokenHash: tokenHash(tok.Token.Value()), CSRFToken: randomToken(),
		CreatedAt: now, ExpiresAt: now.Add(sessionTTL), RemoteAddr: s.clientIP(c), UserAgent: truncate(c.Request.UserAgent(), 300),
	}
	err = s.Store.Tx(c.Request.Context(), func(tx *gorm.DB) error {
		if err := store.CreateSession(tx, &row); err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{Actor: tok.Name, Action: "ui.sign_in", EntityType: "session",
			Detail: "signed in to the web UI from " + s.clientIP(c)})
	})
	if err != nil {
		s.uiFail(c, err)
		return
	}
	clearCookie(c, signInCookie)
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: id, Path: uiCookiePath, MaxAge: int(sessionTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isTLS(c)})
	c.Redirect(http.StatusSeeOther, next)
}

func (s *server) signOut(c *gin.Context) {
	sess := uiSessionOf(c)
	err := s.Store.Tx(c.Request.Context(), func(tx *gorm.DB) error {
		ok, err := store.DeleteSession(tx, sess.idHash)
		if err != nil || !ok {
			return err
		}
		return audit.Record(tx, audit.Entry{Actor: sess.Actor, Action: "ui.sign_out", EntityType: "session",
			Detail: "signed out of the web UI"})
	})
	if err != nil {
		s.uiFail(c, err)
		return
	}
	clearCookie(c, sessionCookie)
	redirectFlash(c, "/ui/sign-in", "ok", "Signed out.")
}

func clearCookie(c *gin.Context, name string) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: "", Path: uiCookiePath, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isTLS(c)})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// fromTrustedProxy reports whether the TCP peer is one of trusted_proxies.
func (s *server) fromTrustedProxy(c *gin.Context) bool {
	trusted := s.trusted()
	if len(trusted) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(c.Request.RemoteAddr)
	if err != nil {
		host = c.Request.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// parseProxies turns trusted_proxies (IPs or CIDRs, validated at config
// load) into prefixes.
func parseProxies(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range list {
		if pre, err := netip.ParsePrefix(p); err == nil {
			out = append(out, pre)
		} else if ip, err := netip.ParseAddr(p); err == nil {
			out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
		}
	}
	return out
}

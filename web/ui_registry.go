package web

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/registry"
)

// The Registry screens: every inbound source and outbound target with its
// owner, secret metadata, rotation, health and flags, sortable and
// filterable, with a CSV export (registry.WriteCSV, as the CLI's export);
// one page per entry with its audit trail and, by role, rotate, revoke the
// previous secret, reveal (after a scheduled rotation) and verify.
//
// A secret the hub issues here is shown once, on the reveal-once screen:
// the POST that issued it seals it (registry.SealHandoff, bound to the
// session and the entry) into a short-lived cookie scoped to that screen's
// path and redirects there; the screen clears the cookie as it shows the
// secret, so a reload, the back button or another tab finds it gone. No
// server-side copy is kept, and any replica can show it.

// registryShows are the quick filters: each is a condition on an entry;
// several match an entry that meets any of them.
type registryShow struct {
	key, label string
	match      func(e *registry.Entry) bool
}

var registryShows = []registryShow{
	{"unowned", "Unowned", func(e *registry.Entry) bool { return unowned(e) }},
	{"overdue", "Rotation overdue", func(e *registry.Entry) bool { return e.Flags.RotationOverdue }},
	{"stale", "Stale", func(e *registry.Entry) bool { return e.Flags.Stale }},
	{"failing", "Failing", func(e *registry.Entry) bool { return e.Flags.Failing }},
}

func unowned(e *registry.Entry) bool { return e.Owner.Name == "" && e.Owner.Contact == "" }

// registrySorts are the sortable columns; each compares ascending.
var registrySorts = map[string]func(a, b *registryRow) int{
	"name": func(a, b *registryRow) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Direction, b.Direction))
	},
	"owner": func(a, b *registryRow) int {
		return strings.Compare(strings.ToLower(a.Owner.Name), strings.ToLower(b.Owner.Name))
	},
	"auth":     func(a, b *registryRow) int { return strings.Compare(a.AuthMethod, b.AuthMethod) },
	"age":      func(a, b *registryRow) int { return cmp.Compare(a.Secret.AgeDays, b.Secret.AgeDays) },
	"rotation": func(a, b *registryRow) int { return cmpTimes(a.Rotation.NextDueAt, b.Rotation.NextDueAt, true) },
	"seen":     func(a, b *registryRow) int { return cmpTimes(a.LastSeen, b.LastSeen, false) },
	"verified": func(a, b *registryRow) int { return cmpTimes(a.LastVerifiedAt, b.LastVerifiedAt, false) },
	"failures": func(a, b *registryRow) int { return cmp.Compare(a.AuthFailures.Count, b.AuthFailures.Count) },
	"flags":    func(a, b *registryRow) int { return cmp.Compare(len(a.Flags), len(b.Flags)) },
}

// cmpTimes orders nil as the oldest time, or after every time with nilLast.
func cmpTimes(a, b *time.Time, nilLast bool) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		if nilLast {
			return 1
		}
		return -1
	case b == nil:
		if nilLast {
			return -1
		}
		return 1
	}
	return a.Compare(*b)
}

type registryView struct {
	uiPage
	Running  bool // the registry runs on this hub
	Rows     []registryRow
	Total    int // entries before the filters
	Filtered bool
	// The filters as given.
	Direction, Q, Sort, Order string
	Show                      map[string]bool
	Quick                     []quickFilter
	Columns                   map[string]sortLink
	SortChoices               []choice
	CSVURL                    string
}

// choice is an option of a select.
type choice struct{ Value, Label string }

var registrySortChoices = []choice{{"", "direction, name"}, {"name", "name"}, {"owner", "owner"}, {"auth", "auth method"},
	{"age", "secret age, oldest first"}, {"rotation", "next rotation, soonest first"}, {"seen", "last heard, longest ago first"},
	{"verified", "last verified, longest ago first"}, {"failures", "auth failures, most first"}, {"flags", "flags, most first"}}

// registryDefaultOrder is a column's first sort order when none is given:
// what needs attention first.
var registryDefaultOrder = map[string]string{"age": "desc", "failures": "desc", "flags": "desc"}

type quickFilter struct {
	Label  string
	Count  int
	URL    string
	Active bool
}

type sortLink struct {
	URL   string
	Arrow string // ▲ / ▼ on the sorted column
	Aria  string // aria-sort
}

// registryRow is an entry as the list shows it.
type registryRow struct {
	registry.Entry
	Interval string // the expected interval, short: "24h"
	Overlap  string // the rotation overlap, short
	URL      string
	Unowned  bool
	LastSeen *time.Time // inbound: last event; outbound: last successful delivery
	Flags    []flagBadge
}

type flagBadge struct{ Key, Label, Why string }

func newRegistryRow(e registry.Entry) registryRow {
	r := registryRow{Entry: e, URL: registryEntryURL(e.Direction, e.Name), Unowned: unowned(&e), LastSeen: e.LastEventAt,
		Interval: shortDuration(e.ExpectedInterval), Overlap: shortDuration(e.Rotation.Overlap)}
	if e.Direction == registry.Outbound {
		r.LastSeen = e.LastSuccessAt
	}
	why := func(prefix string) string {
		for _, p := range e.Problems {
			if strings.HasPrefix(p, prefix) {
				return p
			}
		}
		return ""
	}
	if r.Unowned {
		r.Flags = append(r.Flags, flagBadge{"unowned", "unowned", "no owner on record: nobody answers for this entry"})
	}
	if e.Flags.RotationOverdue {
		w := why("rotation overdue")
		if e.Flags.SecretTooOld {
			w = cmp.Or(w+"; ", "") + why("secret older")
		}
		r.Flags = append(r.Flags, flagBadge{"overdue", "rotation overdue", strings.TrimPrefix(w, "; ")})
	}
	if e.Flags.Stale {
		r.Flags = append(r.Flags, flagBadge{"stale", "stale", why("silent since")})
	}
	if e.Flags.Failing {
		var ws []string
		for _, p := range e.Problems {
			if strings.HasPrefix(p, "last verification") || strings.HasPrefix(p, "last delivery") || strings.HasPrefix(p, "recent authentication") {
				ws = append(ws, p)
			}
		}
		r.Flags = append(r.Flags, flagBadge{"failing", "failing", strings.Join(ws, "; ")})
	}
	return r
}

// shortDuration writes a duration as people do: "24h", "1h30m", "90s".
func shortDuration(s string) string {
	d, err := time.ParseDuration(s)
	if err != nil || s == "" {
		return s
	}
	out := d.String()
	if strings.HasSuffix(out, "m0s") {
		out = strings.TrimSuffix(out, "0s")
	}
	if strings.HasSuffix(out, "h0m") {
		out = strings.TrimSuffix(out, "0m")
	}
	return out
}

func registryEntryURL(direction, name string) string {
	return "/ui/registry/" + url.PathEscape(direction) + "/" + url.PathEscape(name)
}

// registryParams are the list's filters and sort, from the query.
type registryParams struct {
	Dir, Q      string
	Show        map[string]bool // any of these conditions
	Sort, Order string
}

func registryQuery(c *gin.Context) (registryParams, error) {
	var p registryParams
	var err error
	if p.Dir, err = directionParam(c); err != nil {
		return p, err
	}
	p.Q = strings.TrimSpace(c.Query("q"))
	p.Show = map[string]bool{}
	for _, v := range c.QueryArray("show") {
		if !slices.ContainsFunc(registryShows, func(s registryShow) bool { return s.key == v }) {
			return p, incidenthub.Errorf(incidenthub.EINVALID, "show %q is not a filter (unowned, overdue, stale or failing)", v)
		}
		p.Show[v] = true
	}
	p.Sort, p.Order = c.Query("sort"), c.Query("order")
	if _, ok := registrySorts[p.Sort]; p.Sort != "" && !ok {
		return p, incidenthub.Errorf(incidenthub.EINVALID, "sort %q is not a column (name, owner, auth, age, rotation, seen, verified, failures or flags)", p.Sort)
	}
	if p.Order == "" {
		p.Order = cmp.Or(registryDefaultOrder[p.Sort], "asc")
	}
	if p.Order != "asc" && p.Order != "desc" {
		return p, incidenthub.Errorf(incidenthub.EINVALID, "order must be asc or desc (got %q)", p.Order)
	}
	return p, nil
}

// registryScoped lists the registry (as GET /api/v1/registry does) in
// the direction and matching the text; all is the whole direction.
func (s *server) registryScoped(c *gin.Context, p registryParams) (all, scoped []registry.Entry, err error) {
	all, err = s.Webhooks.List(c.Request.Context(), registry.ListFilter{Direction: p.Dir})
	if err != nil {
		return nil, nil, err
	}
	q := strings.ToLower(p.Q)
	for i := range all {
		e := &all[i]
		if q == "" || strings.Contains(strings.ToLower(strings.Join([]string{e.Name, e.Kind, e.Owner.Name, e.Owner.Contact, e.Description, e.Endpoint, e.AuthMethod}, "\x00")), q) {
			scoped = append(scoped, *e)
		}
	}
	return all, scoped, nil
}

// showing keeps the entries that meet any of the show conditions (all of
// them when there are none).
func showing(list []registry.Entry, show map[string]bool) []registry.Entry {
	if len(show) == 0 {
		return list
	}
	var out []registry.Entry
	for i := range list {
		if slices.ContainsFunc(registryShows, func(sh registryShow) bool { return show[sh.key] && sh.match(&list[i]) }) {
			out = append(out, list[i])
		}
	}
	return out
}

func (s *server) registryPage(c *gin.Context) {
	v := &registryView{uiPage: uiPage{Title: "Registry", Nav: "registry"}, Running: s.Webhooks != nil}
	if !v.Running {
		s.render(c, "registry", v)
		return
	}
	p, err := registryQuery(c)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	dir, q, show, sortKey, order := p.Dir, p.Q, p.Show, p.Sort, p.Order
	v.Direction, v.Q, v.Show, v.Sort, v.Order = dir, q, show, sortKey, order
	v.SortChoices = registrySortChoices
	v.Filtered = dir != "" || q != "" || len(show) > 0
	all, scoped, err := s.registryScoped(c, p)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	v.Total = len(all)
	for _, e := range showing(scoped, show) {
		v.Rows = append(v.Rows, newRegistryRow(e))
	}
	if sortKey != "" {
		by := registrySorts[sortKey]
		slices.SortStableFunc(v.Rows, func(a, b registryRow) int {
			if order == "desc" {
				return by(&b, &a)
			}
			return by(&a, &b)
		})
	}

	base := url.Values{}
	if dir != "" {
		base.Set("direction", dir)
	}
	if q != "" {
		base.Set("q", q)
	}
	withShow := func(keys ...string) url.Values {
		out := cloneValues(base)
		for _, k := range keys {
			out.Add("show", k)
		}
		return out
	}
	page := func(vals url.Values) string {
		if e := vals.Encode(); e != "" {
			return "/ui/registry?" + e
		}
		return "/ui/registry"
	}
	// Quick filters: counts over the direction and text filters only.
	count := func(keys ...string) int {
		n := 0
		for i := range scoped {
			for _, sh := range registryShows {
				if slices.Contains(keys, sh.key) && sh.match(&scoped[i]) {
					n++
					break
				}
			}
		}
		return n
	}
	showKeys := slices.Sorted(func(yield func(string) bool) {
		for k := range show {
			if !yield(k) {
				return
			}
		}
	})
	same := func(keys ...string) bool {
		slices.Sort(keys)
		return slices.Equal(keys, showKeys)
	}
	v.Quick = append(v.Quick, quickFilter{Label: "All", Count: len(scoped), URL: page(base), Active: len(show) == 0})
	v.Quick = append(v.Quick, quickFilter{Label: "Unowned or overdue", Count: count("unowned", "overdue"),
		URL: page(withShow("unowned", "overdue")), Active: same("unowned", "overdue")})
	for _, sh := range registryShows {
		v.Quick = append(v.Quick, quickFilter{Label: sh.label, Count: count(sh.key), URL: page(withShow(sh.key)), Active: same(sh.key)})
	}

	// Column headers: click to sort, again to reverse.
	current := withShow(showKeys...)
	v.Columns = map[string]sortLink{}
	for key := range registrySorts {
		vals := cloneValues(current)
		vals.Set("sort", key)
		l := sortLink{Aria: "none"}
		if key == sortKey {
			// Again: the other way.
			if order == "asc" {
				vals.Set("order", "desc")
				l.Arrow, l.Aria = "▲", "ascending"
			} else {
				vals.Set("order", "asc")
				l.Arrow, l.Aria = "▼", "descending"
			}
		}
		l.URL = page(vals)
		v.Columns[key] = l
	}
	v.CSVURL = "/ui/registry.csv"
	if e := current.Encode(); e != "" {
		v.CSVURL += "?" + e
	}
	s.render(c, "registry", v)
}

// registryCSV is the export: the listed entries (all of them without
// filters) as registry.WriteCSV writes them, like `registry export
// --format csv`.
func (s *server) registryCSV(c *gin.Context) {
	if s.Webhooks == nil {
		s.uiFail(c, incidenthub.Errorf(incidenthub.EUNAVAILABLE, "The webhook registry is not running on this hub."))
		return
	}
	p, err := registryQuery(c)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	_, scoped, err := s.registryScoped(c, p)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	list := showing(scoped, p.Show)
	name := "incidenthub-registry-" + time.Now().UTC().Format("20060102-150405") + ".csv"
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Status(http.StatusOK)
	if err := registry.WriteCSV(c.Writer, list); err != nil {
		s.Log.Error("ui: registry export", "err", err, "request_id", c.GetString("request_id"))
	}
}

// ---- one entry ----

const entryAuditLimit = 50

type registryEntryView struct {
	uiPage
	registryRow
	Audit     []auditRow
	AuditURL  string // the whole trail of the entry on the Audit screen
	MoreAudit bool
	CanAdmin  bool
	CanVerify bool
	// Overlaps are the rotate form's choices; DefaultOverlap is selected.
	Overlaps       []choice
	DefaultOverlap string
	HasSecret      bool // the auth method has a secret to rotate
}

// registryEntry loads the entry named by the path.
func (s *server) registryEntry(c *gin.Context) (registry.Entry, error) {
	if s.Webhooks == nil {
		return registry.Entry{}, incidenthub.Errorf(incidenthub.EUNAVAILABLE, "The webhook registry is not running on this hub.")
	}
	dir := c.Param("direction")
	if dir != registry.Inbound && dir != registry.Outbound {
		return registry.Entry{}, incidenthub.Errorf(incidenthub.ENOTFOUND, "There is no registry direction %q: entries are inbound or outbound.", dir)
	}
	return s.Webhooks.Get(c.Request.Context(), dir, c.Param("name"))
}

func (s *server) registryEntryPage(c *gin.Context) {
	e, err := s.registryEntry(c)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	ref := e.Direction + "/" + e.Name
	v := &registryEntryView{uiPage: uiPage{Title: e.Name + " · Registry", Nav: "registry"}, registryRow: newRegistryRow(e),
		AuditURL: "/ui/audit?" + url.Values{"type": {"registry"}, "entity": {ref}}.Encode()}
	sess := uiSessionOf(c)
	v.CanAdmin = sess != nil && roleRank[sess.Role] >= roleRank[config.RoleAdmin]
	v.CanVerify = sess != nil && roleRank[sess.Role] >= roleRank[config.RoleOperator]
	v.HasSecret = e.AuthMethod != "" && e.AuthMethod != config.AuthNone
	def := config.DefaultRotationOverlap
	if d, err := time.ParseDuration(e.Rotation.Overlap); err == nil && d > 0 {
		def = d
	}
	v.DefaultOverlap = def.String()
	for _, d := range []time.Duration{0, time.Hour, 24 * time.Hour, 72 * time.Hour, 168 * time.Hour, def} {
		c := choice{Value: d.String(), Label: shortDuration(d.String())}
		if d == 0 {
			c.Label = "no overlap (the old one stops now)"
		}
		if !slices.Contains(v.Overlaps, c) {
			v.Overlaps = append(v.Overlaps, c)
		}
	}
	recs, next, err := audit.List(c.Request.Context(), s.Store.DB, audit.Filter{EntityType: "registry", Entity: ref, Limit: entryAuditLimit})
	if err != nil {
		s.uiFail(c, err)
		return
	}
	v.Audit, v.MoreAudit = auditRows(recs), next > 0
	s.render(c, "registry-entry", v)
}

// registryAct runs an action on the entry and redirects back to it with
// what happened; a refusal (a conflict, a bad form value) is a message on
// the entry's page, anything else the error page.
func (s *server) registryAct(c *gin.Context, do func(e registry.Entry, actor string) (msg string, err error)) {
	e, err := s.registryEntry(c)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	back := registryEntryURL(e.Direction, e.Name)
	msg, err := do(e, uiSessionOf(c).Actor)
	if err != nil {
		if code := incidenthub.ErrorCode(err); code == incidenthub.EINTERNAL || statuses[code] == 0 {
			s.uiFail(c, err)
			return
		}
		redirectFlash(c, back, "error", incidenthub.ErrorMessage(err))
		return
	}
	if msg != "" {
		redirectFlash(c, back, "ok", msg)
	}
}

func (s *server) uiVerifyEntry(c *gin.Context) {
	s.registryAct(c, func(e registry.Entry, actor string) (string, error) {
		_, res, err := s.Webhooks.Verify(c.Request.Context(), actor, e.Direction, e.Name)
		if err != nil {
			return "", err
		}
		if !res.OK {
			return "", incidenthub.Errorf(incidenthub.ECONFLICT, "Verification of %s failed: %s", e.Name, res.Error)
		}
		return fmt.Sprintf("Verified %s: its credentials work.", e.Name), nil
	})
}

func (s *server) uiRevokePrevious(c *gin.Context) {
	s.registryAct(c, func(e registry.Entry, actor string) (string, error) {
		if _, _, err := s.Webhooks.Revoke(c.Request.Context(), actor, e.Direction, e.Name, true); err != nil {
			return "", err
		}
		return fmt.Sprintf("The previous secret of %s no longer works; only the current one (version %d) does.", e.Name, e.Secret.Version), nil
	})
}

func (s *server) uiRotateEntry(c *gin.Context) {
	s.registryAct(c, func(e registry.Entry, actor string) (string, error) {
		raw := strings.TrimSpace(c.Request.PostForm.Get("overlap"))
		var overlap *time.Duration
		if raw != "" {
			d, err := time.ParseDuration(raw)
			if err != nil || d < 0 || d > 30*24*time.Hour {
				return "", incidenthub.Errorf(incidenthub.EINVALID, "Could not rotate: overlap %q is not a duration from 0s to 720h (e.g. 1h, 24h).", raw)
			}
			overlap = &d
		}
		after, secret, err := s.Webhooks.Rotate(c.Request.Context(), actor, e.Direction, e.Name, overlap)
		if err != nil {
			return "", err
		}
		return "", s.handOff(c, after, secret, "rotate")
	})
}

func (s *server) uiRevealEntry(c *gin.Context) {
	s.registryAct(c, func(e registry.Entry, actor string) (string, error) {
		after, secret, err := s.Webhooks.Reveal(c.Request.Context(), actor, e.Direction, e.Name)
		if err != nil {
			return "", err
		}
		return "", s.handOff(c, after, secret, "reveal")
	})
}

// ---- the reveal-once screen ----

const (
	revealCookie = "incidenthub_reveal"
	revealTTL    = 5 * time.Minute
)

// handoff is what the reveal cookie holds, sealed.
type handoff struct {
	Secret  string `json:"s"`
	Version int    `json:"v"`
	Action  string `json:"a"`
	At      int64  `json:"t"`
}

func revealPath(direction, name string) string { return registryEntryURL(direction, name) + "/secret" }

// handoffPurpose binds a hand-off to the session and the entry.
func handoffPurpose(sess *uiSession, direction, name string) string {
	return "ui-reveal/" + sess.idHash + "/" + direction + "/" + name
}

// handOff seals a newly issued secret into the reveal cookie and sends the
// browser to the reveal-once screen.
func (s *server) handOff(c *gin.Context, e registry.Entry, secret, action string) error {
	if secret == "" {
		return incidenthub.Errorf(incidenthub.EINTERNAL, "the registry issued no secret for %s", e.Name)
	}
	b, _ := json.Marshal(handoff{Secret: secret, Version: e.Secret.Version, Action: action, At: time.Now().Unix()})
	sealed, err := s.Webhooks.SealHandoff(string(b), handoffPurpose(uiSessionOf(c), e.Direction, e.Name))
	if err != nil {
		return err
	}
	target := revealPath(e.Direction, e.Name)
	http.SetCookie(c.Writer, &http.Cookie{Name: revealCookie, Value: sealed, Path: target, MaxAge: int(revealTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isTLS(c)})
	c.Redirect(http.StatusSeeOther, target)
	return nil
}

type revealView struct {
	uiPage
	Entry    registry.Entry
	EntryURL string
	Secret   string // "" once shown
	Action   string
	Inbound  bool
	HookPath string
}

// revealPage shows the secret the cookie carries, once: the cookie is
// cleared in the same response, and nothing else holds the secret.
func (s *server) revealPage(c *gin.Context) {
	e, err := s.registryEntry(c)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	v := &revealView{uiPage: uiPage{Title: "New secret · " + e.Name, Nav: "registry"}, Entry: e,
		EntryURL: registryEntryURL(e.Direction, e.Name), Inbound: e.Direction == registry.Inbound, HookPath: e.Endpoint}
	sess := uiSessionOf(c)
	path := revealPath(e.Direction, e.Name)
	if ck, err := c.Request.Cookie(revealCookie); err == nil {
		http.SetCookie(c.Writer, &http.Cookie{Name: revealCookie, Value: "", Path: path, MaxAge: -1,
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isTLS(c)})
		var h handoff
		plain, err := s.Webhooks.OpenHandoff(ck.Value, handoffPurpose(sess, e.Direction, e.Name))
		if err == nil && json.Unmarshal([]byte(plain), &h) == nil &&
			time.Since(time.Unix(h.At, 0)) < revealTTL && h.Version == e.Secret.Version {
			v.Secret, v.Action = h.Secret, h.Action
		}
	}
	c.Header("Pragma", "no-cache")
	c.Header("Referrer-Policy", "no-referrer")
	status := http.StatusOK
	if v.Secret == "" {
		status = http.StatusGone
	}
	s.renderStatus(c, status, "secret", "layout", v)
}

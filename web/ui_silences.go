package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/silence"
)

// The Silences screen: runtime silences by state (active, pending,
// expired, all) with what each matches, who made it and why, how many
// incidents it holds back; for operators, a form to create one (prefilled
// from ?matcher=… links, e.g. from an incident) and buttons to expire or
// extend. The same silence functions as /api/v1/silences.

const silencesPageSize = 50

type silencesView struct {
	uiPage
	State             string // active | pending | expired | all
	Tabs              []eventTab
	Rows              []silenceRow
	Empty             string
	CanAct            bool
	NextURL, FirstURL string
	PageURL           string
	Form              silenceForm
	// FormOpen shows the create form unfolded (prefilled, or after a
	// problem).
	FormOpen bool
}

type silenceRow struct {
	silence.Silence
	What     []string // the matchers as written, and the expr
	Holding  int      // incidents it holds back now
	AuditURL string
}

// silenceForm is the create form's values and its problem, if any.
type silenceForm struct {
	Matchers, Expr, Duration, StartsAt, EndsAt, Comment string
	// Field names the input the problem is about ("matchers", "comment"…).
	Field, Error string
}

var silenceTabs = []struct{ state, label string }{
	{string(silence.Active), "Active"},
	{string(silence.Pending), "Pending"},
	{string(silence.Expired), "Expired"},
	{"all", "All"},
}

func silencesURL(q url.Values) string {
	if e := q.Encode(); e != "" {
		return "/ui/silences?" + e
	}
	return "/ui/silences"
}

func (s *server) silencesPage(c *gin.Context) {
	form := silenceForm{Duration: "2h"}
	if m := c.QueryArray("matcher"); len(m) > 0 {
		form.Matchers = strings.Join(m, "\n")
	}
	s.renderSilences(c, http.StatusOK, form, len(c.QueryArray("matcher")) > 0)
}

// renderSilences gathers the list for ?state= and renders the page with
// form; status is 200, or the form's problem's.
func (s *server) renderSilences(c *gin.Context, status int, form silenceForm, open bool) {
	ctx := c.Request.Context()
	state := c.Query("state")
	if state == "" {
		state = string(silence.Active) // what matters at 3 a.m.
	}
	f := silence.Filter{Limit: silencesPageSize, Cursor: c.Query("cursor")}
	if state != "all" {
		f.State = silence.State(state)
		if !f.State.Valid() {
			s.uiFail(c, incidenthub.Errorf(incidenthub.EINVALID, "state must be active, pending, expired or all (got %q)", state))
			return
		}
	}
	v := &silencesView{uiPage: uiPage{Title: "Silences", Nav: "silences"}, State: state, CanAct: canOperate(c),
		Form: form, FormOpen: open || form.Error != ""}
	counts, err := silence.Counts(ctx, s.Store.DB)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	for _, t := range silenceTabs {
		n, ok := counts[silence.State(t.state)]
		if !ok {
			n = -1
		}
		v.Tabs = append(v.Tabs, eventTab{Status: t.state, Label: t.label, Count: n,
			URL: silencesURL(url.Values{"state": {t.state}}), Active: t.state == state})
	}
	list, next, err := silence.List(ctx, s.Store.DB, f)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	ids := make([]string, len(list))
	for i, sil := range list {
		ids[i] = sil.ID
	}
	holding, err := silence.Holding(ctx, s.Store.DB, ids)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	for _, sil := range list {
		r := silenceRow{Silence: sil, Holding: int(holding[sil.ID]),
			AuditURL: "/ui/audit?" + url.Values{"type": {"silence"}, "entity": {sil.ID}}.Encode()}
		for _, m := range sil.Matchers {
			r.What = append(r.What, m.String())
		}
		if sil.Expr != "" {
			r.What = append(r.What, "expr: "+sil.Expr)
		}
		v.Rows = append(v.Rows, r)
	}
	q := url.Values{"state": {state}}
	v.PageURL = silencesURL(q)
	if next != "" {
		v.NextURL = silencesURL(url.Values{"state": {state}, "cursor": {next}})
	}
	if f.Cursor != "" {
		v.FirstURL = v.PageURL
	}
	if state == "all" {
		v.Empty = "No silences yet."
	} else {
		v.Empty = "No " + state + " silences."
	}
	s.renderStatus(c, status, "silences", "layout", v)
}

// uiCreateSilence creates a silence from the form, as
// POST /api/v1/silences does, by the signed-in actor. A problem shows the
// form again, filled in, with the message beside the field.
func (s *server) uiCreateSilence(c *gin.Context) {
	form := silenceForm{Matchers: c.PostForm("matchers"), Expr: c.PostForm("expr"), Duration: c.PostForm("duration"),
		StartsAt: c.PostForm("starts_at"), EndsAt: c.PostForm("ends_at"), Comment: c.PostForm("comment")}
	n, err := form.parse(uiSessionOf(c).Actor)
	var sil silence.Silence
	if err == nil {
		sil, err = silence.Create(c.Request.Context(), s.Store.DB, n)
	}
	if err != nil {
		code := incidenthub.ErrorCode(err)
		if code != incidenthub.EINVALID && code != incidenthub.EUNPROCESSABLE {
			s.uiFail(c, err)
			return
		}
		form.Error = incidenthub.ErrorMessage(err)
		form.Field = problemField(err)
		s.renderSilences(c, statuses[code], form, true)
		return
	}
	redirectFlash(c, silencesURL(url.Values{"state": {string(sil.State)}}), "ok",
		fmt.Sprintf("Silence %s created: %s until %s.", shortID(sil.ID), strings.Join(matcherStrings(sil), " "), sil.EndsAt.UTC().Format("2006-01-02 15:04 UTC")))
}

func matcherStrings(sil silence.Silence) []string {
	var out []string
	for _, m := range sil.Matchers {
		out = append(out, m.String())
	}
	if sil.Expr != "" {
		out = append(out, sil.Expr)
	}
	return out
}

// problemField is the form input an error is about: the field of a
// silence.FieldError ("matchers[1].value" is the matchers box), else the
// "field:" its message starts with.
func problemField(err error) string {
	field := ""
	var fe *silence.FieldError
	if errors.As(err, &fe) {
		field = fe.Field
	} else if f, _, ok := strings.Cut(incidenthub.ErrorMessage(err), ":"); ok && !strings.Contains(f, " ") {
		field = f
	}
	if i := strings.IndexAny(field, "[."); i >= 0 {
		field = field[:i]
	}
	return field
}

// parse reads the form the way the API reads its body: one matcher per
// line (amtool syntax), an optional expr, a duration or an end.
func (f *silenceForm) parse(actor string) (silence.New, error) {
	n := silence.New{Expr: f.Expr, Comment: f.Comment, CreatedBy: actor}
	i := 0
	for line := range strings.Lines(f.Matchers) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		m, err := silence.ParseMatcher(line)
		if err != nil {
			return n, incidenthub.Errorf(incidenthub.EINVALID, "matchers[%d]: %v", i, err)
		}
		n.Matchers = append(n.Matchers, m)
		i++
	}
	var err error
	if n.StartsAt, err = parseFormTime("starts_at", f.StartsAt); err != nil {
		return n, err
	}
	if n.EndsAt, err = parseFormTime("ends_at", f.EndsAt); err != nil {
		return n, err
	}
	if n.EndsAt.IsZero() {
		if n.Duration, err = parseDuration("duration", strings.TrimSpace(f.Duration)); err != nil {
			return n, err
		}
	}
	return n, nil
}

// parseFormTime reads RFC 3339, or a browser's datetime-local value
// (2026-12-01T14:00) as UTC.
func parseFormTime(field, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return parseTime(field, v)
}

func silenceBack(c *gin.Context) string {
	st := c.PostForm("state")
	if st == "" {
		st = string(silence.Active)
	}
	return silencesURL(url.Values{"state": {st}})
}

// uiExpireSilence expires a silence now, as DELETE /api/v1/silences/{id}.
func (s *server) uiExpireSilence(c *gin.Context) {
	sil, err := silence.Expire(c.Request.Context(), s.Store.DB, c.Param("id"), uiSessionOf(c).Actor)
	if err != nil {
		s.uiActionFailed(c, silenceBack(c), "expire the silence", err)
		return
	}
	redirectFlash(c, silenceBack(c), "ok", fmt.Sprintf("Silence %s expired: what it held back and still fires notifies once.", shortID(sil.ID)))
}

// uiExtendSilence moves a silence's end later, as
// POST /api/v1/silences/{id}/extend {"extend_by": …}.
func (s *server) uiExtendSilence(c *gin.Context) {
	by, err := parseDuration("extend_by", c.PostForm("extend_by"))
	if err == nil && by == 0 {
		err = incidenthub.Errorf(incidenthub.EINVALID, "extend_by: choose how much longer")
	}
	if err != nil {
		s.uiActionFailed(c, silenceBack(c), "extend the silence", err)
		return
	}
	sil, err := silence.ExtendBy(c.Request.Context(), s.Store.DB, c.Param("id"), uiSessionOf(c).Actor, by)
	if err != nil {
		s.uiActionFailed(c, silenceBack(c), "extend the silence", err)
		return
	}
	redirectFlash(c, silenceBack(c), "ok", fmt.Sprintf("Silence %s now ends %s.", shortID(sil.ID), sil.EndsAt.UTC().Format("2006-01-02 15:04 UTC")))
}

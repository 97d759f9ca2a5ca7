package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/store"
)

// The Events screen: every received event, filtered by source and
// processing status, with the unmapped and failed ones per source up top
// (each replayable at once); and one event: the raw request as stored, the
// alerts it became and where they went, its mapping error or warnings,
// and Replay.

// eventBodyLimit caps the body shown on the page; the API has all of it.
const eventBodyLimit = 256 << 10

// eventAlertLimit caps the alerts shown (and looked up) for one event.
const eventAlertLimit = 100

type eventsView struct {
	uiPage
	Filter   store.EventFilter
	Filtered bool // a filter besides the status tab is set
	Tabs     []eventTab
	Rows     []eventRow
	// Attention lists the unmapped and failed events per source.
	Attention []attentionItem
	// Empty is what an empty list says.
	Empty   string
	Sources []string
	CanAct  bool
	// NextURL is the next (older) page; FirstURL the first page when this
	// is a later one.
	NextURL, FirstURL string
	PageURL           string
}

type eventRow struct {
	store.EventSummary
	SizeText string
}

type attentionItem struct {
	store.SourceCount
	Label string // "3 unmapped events"
}

type eventTab struct {
	Status string // "" for all
	Label  string
	Count  int64 // -1: not counted
	URL    string
	Active bool
}

var eventTabs = []struct{ status, label string }{
	{"", "All"},
	{store.EventProcessed, "Processed"},
	{store.EventPending, "Pending"},
	{store.EventUnmapped, "Unmapped"},
	{store.EventFailed, "Failed"},
	{store.EventDuplicate, "Repeated"},
}

// eventsURL is the Events screen with the query q (nil for none).
func eventsURL(q url.Values) string {
	if e := q.Encode(); e != "" {
		return "/ui/events?" + e
	}
	return "/ui/events"
}

func (s *server) eventsPage(c *gin.Context) {
	f, err := eventFilter(c) // the same parameters, and errors, as GET /api/v1/events
	if err != nil {
		s.uiFail(c, err)
		return
	}
	ctx := c.Request.Context()
	v := &eventsView{uiPage: uiPage{Title: "Events", Nav: "events"}, Filter: f}
	v.CanAct = canOperate(c)
	v.Sources = sourceNames(s.Config())

	// The query without status and cursor, for tab and page links.
	q := url.Values{}
	for k, val := range map[string]string{"source": f.Source, "kind": f.Kind, "since": c.Query("since"), "until": c.Query("until")} {
		if val != "" {
			q.Set(k, val)
			v.Filtered = true
		}
	}
	counts, err := s.Store.EventStatusCounts(ctx, f.Source)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	for _, t := range eventTabs {
		tq := cloneValues(q)
		if t.status != "" {
			tq.Set("status", t.status)
		}
		n, ok := counts[t.status]
		if !ok {
			n = -1
		}
		v.Tabs = append(v.Tabs, eventTab{Status: t.status, Label: t.label, Count: n, URL: eventsURL(tq), Active: t.status == f.Status})
	}

	list, next, err := s.Store.ListEvents(ctx, f)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	for _, e := range list {
		v.Rows = append(v.Rows, eventRow{EventSummary: e, SizeText: byteSize(e.Size)})
	}
	v.Empty = emptyEvents(f)
	pq := cloneValues(q)
	if f.Status != "" {
		pq.Set("status", f.Status)
	}
	v.PageURL = eventsURL(pq)
	if next != "" {
		nq := cloneValues(pq)
		nq.Set("cursor", next)
		v.NextURL = eventsURL(nq)
	}
	if f.After != "" {
		v.FirstURL = v.PageURL
	}

	attention, err := s.Store.AttentionBySource(ctx)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	for _, a := range attention {
		if f.Source == "" || a.Source == f.Source {
			v.Attention = append(v.Attention, attentionItem{SourceCount: a, Label: plural(int(a.Count), a.Status+" event", a.Status+" events")})
		}
	}
	s.render(c, "events", v)
}

// emptyEvents is what the list says when no event matches f.
func emptyEvents(f store.EventFilter) string {
	what := "events"
	switch f.Status {
	case "":
	case store.EventDuplicate:
		what = "repeated events"
	default:
		what = f.Status + " events"
	}
	if f.Source != "" {
		what += " from " + f.Source
	}
	if f.Kind != "" {
		what += " of kind " + f.Kind
	}
	if !f.Since.IsZero() || !f.Until.IsZero() {
		what += " in this time range"
	}
	return "No " + what + "."
}

// byteSize renders a size for people: 512 B, 3.4 KiB, 1.2 MiB.
func byteSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// canOperate: the signed-in person may act (operator or admin).
func canOperate(c *gin.Context) bool {
	sess := uiSessionOf(c)
	return sess != nil && roleRank[sess.Role] >= roleRank[config.RoleOperator]
}

// ---- one event ----

type eventPageView struct {
	uiPage
	Event   *store.Event
	Headers []kv
	// Body is the body pretty-printed when it is JSON, as received
	// otherwise; BodyCut says it was cut at eventBodyLimit.
	Body      string
	BodyCut   bool
	BodyBytes int
	Alerts    []eventAlert
	// AlertCount is how many alerts it mapped to (Alerts may be fewer).
	AlertCount int
	// Warnings are what normalization worked around: see eventWarnings.
	Warnings []eventWarning
	// Source is the source's config now, nil when it is gone; CurrentKind
	// is the kind a replay maps it with.
	Source      *config.Source
	CanAct      bool
	Replayable  bool // unmapped or failed
	Live        bool // pending: the status region refreshes itself
	PollSeconds int
}

// eventAlert is one normalized alert and the incident it is in now.
type eventAlert struct {
	incidenthub.Alert
	Incident *store.Incident
	Labels   []kv
}

// eventWarning is one problem normalization worked around (an unreadable
// timestamp, …), as the mapping engine reports it.
type eventWarning struct {
	Field, Path, Value, Message string
}

// eventWarnings returns the event's normalization warnings.
func eventWarnings(ev *store.Event) []eventWarning {
	var out []eventWarning
	for _, w := range ev.Warnings.V {
		out = append(out, eventWarning{w.Field, w.Path, w.Value, w.Message})
	}
	return out
}

func (s *server) eventPage(c *gin.Context) {
	v, err := s.eventData(c)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	s.render(c, "event", v)
}

// eventLive renders the status region only (htmx polls it while pending).
func (s *server) eventLive(c *gin.Context) {
	v, err := s.eventData(c)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	s.renderPartial(c, "event", "event-live", v)
}

// eventData gathers one event through the same store call as
// GET /api/v1/events/{id}.
func (s *server) eventData(c *gin.Context) (*eventPageView, error) {
	ctx := c.Request.Context()
	ev, err := s.Store.GetEvent(ctx, c.Param("id"))
	if err != nil {
		return nil, err
	}
	v := &eventPageView{uiPage: uiPage{Title: "Event from " + ev.Source, Nav: "events"}, Event: ev, PollSeconds: 2}
	v.CanAct = canOperate(c)
	v.Replayable = (ev.Status == store.EventUnmapped || ev.Status == store.EventFailed) && ev.BodyPurgedAt == nil
	v.Live = ev.Status == store.EventPending
	v.Source, _ = s.Config().Source(ev.Source)
	for k, val := range s.shownHeaders(ctx, ev) {
		v.Headers = append(v.Headers, kv{k, val})
	}
	sort.Slice(v.Headers, func(i, j int) bool { return v.Headers[i].K < v.Headers[j].K })
	v.Body, v.BodyCut, v.BodyBytes = prettyBody(ev.Body, eventBodyLimit)
	v.Warnings = eventWarnings(ev)

	alerts := ev.Alerts.V
	v.AlertCount = len(alerts)
	if len(alerts) > eventAlertLimit {
		alerts = alerts[:eventAlertLimit]
	}
	keys := make([]store.AlertKey, 0, len(alerts))
	for _, a := range alerts {
		keys = append(keys, store.AlertKey{Source: a.Source, Fingerprint: a.Fingerprint})
	}
	incs, err := s.Store.AlertIncidents(ctx, keys)
	if err != nil {
		return nil, err
	}
	for _, a := range alerts {
		ea := eventAlert{Alert: a}
		if inc, ok := incs[store.AlertKey{Source: a.Source, Fingerprint: a.Fingerprint}]; ok {
			ea.Incident = &inc
		}
		for k, val := range a.Labels {
			ea.Labels = append(ea.Labels, kv{k, val})
		}
		sort.Slice(ea.Labels, func(i, j int) bool { return ea.Labels[i].K < ea.Labels[j].K })
		v.Alerts = append(v.Alerts, ea)
	}
	return v, nil
}

// prettyBody indents a JSON body (two spaces) and returns it as text, cut
// at limit bytes; a body that is not JSON is returned as it is. The
// template escapes it.
func prettyBody(body []byte, limit int) (text string, cut bool, size int) {
	size = len(body)
	var buf bytes.Buffer
	if json.Valid(body) && json.Indent(&buf, body, "", "  ") == nil {
		body = buf.Bytes()
	}
	if len(body) > limit {
		body, cut = body[:limit], true
	}
	return strings.ToValidUTF8(string(body), "\uFFFD"), cut, size
}

// ---- actions (operator) ----

func eventURL(id string) string { return "/ui/events/" + url.PathEscape(id) }

// uiReplayEvent replays one event (force=true for a processed one), as
// POST /api/v1/events/{id}/replay does, and shows it again.
func (s *server) uiReplayEvent(c *gin.Context) {
	id := c.Param("id")
	force := c.Request.PostForm.Get("force") == "true"
	ev, err := s.replay(c.Request.Context(), id, force, uiSessionOf(c).Actor)
	if err != nil {
		s.uiActionFailed(c, eventURL(id), "replay the event", err)
		return
	}
	redirectFlash(c, eventURL(ev.ID), "ok", fmt.Sprintf("Event queued again: it is mapped with kind %s and correlated in a moment.", ev.Kind))
}

// uiReplaySource replays every unmapped (or, with status=failed, failed)
// event of a source, as POST /api/v1/sources/{name}/replay does.
func (s *server) uiReplaySource(c *gin.Context) {
	name := c.Param("name")
	status := c.Request.PostForm.Get("status")
	if status == "" {
		status = store.EventUnmapped
	}
	back := eventsURL(url.Values{"source": {name}, "status": {status}})
	n, err := s.replayAll(c.Request.Context(), name, status, uiSessionOf(c).Actor)
	if err != nil {
		s.uiActionFailed(c, back, "replay", err)
		return
	}
	if n == 0 {
		redirectFlash(c, back, "ok", fmt.Sprintf("No %s events of %s to replay.", status, name))
		return
	}
	// Show them on their way: the source's pending events.
	redirectFlash(c, eventsURL(url.Values{"source": {name}}), "ok",
		fmt.Sprintf("%s of %s queued again with kind %s.", plural(int(n), status+" event", status+" events"), name, s.currentKind(name)))
}

// uiActionFailed answers a refused or failed action: a page with the
// error for an internal one, else back to where the person was with the
// reason.
func (s *server) uiActionFailed(c *gin.Context, back, what string, err error) {
	if code := incidenthub.ErrorCode(err); code == incidenthub.EINTERNAL || code == incidenthub.ENOTFOUND || statuses[code] == 0 {
		s.uiFail(c, err)
		return
	}
	if wantsJSON(c) {
		s.fail(c, err)
		return
	}
	redirectFlash(c, back, "error", "Could not "+what+": "+incidenthub.ErrorMessage(err))
}

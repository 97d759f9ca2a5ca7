package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
)

// The Incidents screen (the home page): tabs by status with counts,
// filters, newest activity first, keyset pages, and a live region that
// htmx polls every few seconds.

const incidentPageSize = 50

// uiPollSeconds is how often the live regions refresh.
const uiPollSeconds = 3

type incidentsView struct {
	uiPage
	Status   incidenthub.IncidentStatus
	Filter   store.IncidentFilter
	Filtered bool       // any filter besides the tab is set
	Query    url.Values // the filters, without status and cursor: for links
	Tabs     []statusTab
	Rows     []incidentRow
	// NextURL is the next (older) page; FirstURL the first page when this
	// is a later one.
	NextURL, FirstURL string
	LiveURL, PageURL  string
	// LiveBody is the rendered "incidents-live-body"; its hash is in
	// LiveURL (v=).
	LiveBody    template.HTML
	liveVersion string
	PollSeconds int
	LastEvent   *store.LastEvent

	Severities, Sources, Targets, Services []string
}

type statusTab struct {
	Status incidenthub.IncidentStatus
	Label  string
	Count  int64
	URL    string
	Active bool
}

// incidentRow is one incident in the list with its targets' states.
type incidentRow struct {
	incidenthub.Incident
	TargetStates []targetState
}

// targetState is a target an incident is routed to, and how its delivery
// stands: the latest delivery's status, or "queued" before the first.
type targetState struct {
	Name  string
	Type  string
	State string
	URL   string
}

var tabs = []struct {
	status incidenthub.IncidentStatus
	label  string
}{
	{incidenthub.IncidentOpen, "Open"},
	{incidenthub.IncidentAcknowledged, "Acknowledged"},
	{incidenthub.IncidentResolved, "Resolved"},
}

func (s *server) incidentsPage(c *gin.Context) {
	v, err := s.incidentsData(c)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	v.Title, v.Nav = "Incidents", "incidents"
	v.Severities = []string{string(incidenthub.SeverityCritical), string(incidenthub.SeverityHigh), string(incidenthub.SeverityWarning), string(incidenthub.SeverityInfo)}
	cfg := s.Config()
	v.Sources, v.Targets = sourceNames(cfg), targetNames(cfg)
	if v.Services, err = s.Store.Services(c.Request.Context(), 200); err != nil {
		s.uiFail(c, err)
		return
	}
	if err := s.renderLiveBody(v); err != nil {
		s.uiFail(c, err)
		return
	}
	s.render(c, "incidents", v)
}

// renderLiveBody renders the live region's content and versions LiveURL
// with its hash.
func (s *server) renderLiveBody(v *incidentsView) error {
	var buf bytes.Buffer
	if err := s.ui.screens["incidents"].ExecuteTemplate(&buf, "incidents-live-body", v); err != nil {
		return fmt.Errorf("render incidents-live-body: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	v.liveVersion = hex.EncodeToString(sum[:8])
	v.LiveBody = template.HTML(buf.String()) // rendered by html/template: escaped
	v.LiveURL += "&v=" + v.liveVersion
	return nil
}

// incidentsLive renders only the live region: tabs, rows and pager.
func (s *server) incidentsLive(c *gin.Context) {
	v, err := s.incidentsData(c)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	if err := s.renderLiveBody(v); err != nil {
		s.uiFail(c, err)
		return
	}
	if c.Query("v") == v.liveVersion {
		// Unchanged since the browser's copy: htmx swaps nothing on 204.
		c.Header("Cache-Control", "no-store")
		c.Status(http.StatusNoContent)
		return
	}
	s.renderPartial(c, "incidents", "incidents-live", v)
}

// incidentsData gathers the list through the same store calls as
// GET /api/v1/incidents (with order=activity).
func (s *server) incidentsData(c *gin.Context) (*incidentsView, error) {
	f, err := incidentFilter(c.Query)
	if err != nil {
		return nil, err
	}
	if f.Status == "" {
		f.Status = string(incidenthub.IncidentOpen)
	}
	f.Order, f.Limit = store.OrderActivity, incidentPageSize
	ctx := c.Request.Context()

	v := &incidentsView{Status: incidenthub.IncidentStatus(f.Status), Filter: f, PollSeconds: uiPollSeconds}
	v.Query = url.Values{}
	for k, val := range map[string]string{"service": f.Service, "severity": f.Severity, "source": f.Source, "target": f.Target, "q": f.Text} {
		if val != "" {
			v.Query.Set(k, val)
			v.Filtered = true
		}
	}
	counts, err := s.Store.CountIncidents(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, t := range tabs {
		q := cloneValues(v.Query)
		q.Set("status", string(t.status))
		v.Tabs = append(v.Tabs, statusTab{Status: t.status, Label: t.label, Count: counts[t.status],
			URL: "/ui/?" + q.Encode(), Active: t.status == v.Status})
	}
	list, next, err := s.Store.ListIncidents(ctx, f)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(list))
	for i := range list {
		ids[i] = list[i].ID
	}
	states, err := s.Store.TargetStates(ctx, ids)
	if err != nil {
		return nil, err
	}
	v.Rows = make([]incidentRow, len(list))
	for i, inc := range list {
		v.Rows[i] = incidentRow{Incident: inc, TargetStates: targetStates(inc.Targets, states[inc.ID])}
	}
	page := cloneValues(v.Query)
	page.Set("status", f.Status)
	if next != "" {
		q := cloneValues(page)
		q.Set("cursor", next)
		v.NextURL = "/ui/?" + q.Encode()
	}
	if f.Cursor != "" {
		v.FirstURL = "/ui/?" + page.Encode()
		page.Set("cursor", f.Cursor)
	}
	v.LiveURL = "/ui/incidents/live?" + page.Encode()
	v.PageURL = "/ui/?" + page.Encode()
	if len(list) == 0 {
		if v.LastEvent, err = s.Store.LatestEvent(ctx); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// targetStates lists the incident's routed targets (in routing order) with
// their delivery state, then any target delivered to that is no longer
// routed.
func targetStates(routed []string, syncs []incidenthub.TargetSync) []targetState {
	by := map[string]incidenthub.TargetSync{}
	for _, ts := range syncs {
		by[ts.Target] = ts
	}
	out := make([]targetState, 0, len(routed)+len(syncs))
	seen := map[string]bool{}
	add := func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		st := targetState{Name: name, State: "queued"}
		if ts, ok := by[name]; ok {
			st.Type, st.URL = ts.Type, ts.URL
			if ts.LastStatus != "" {
				st.State = ts.LastStatus
			}
		}
		out = append(out, st)
	}
	for _, name := range routed {
		add(name)
	}
	for _, ts := range syncs {
		add(ts.Target)
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vals := range v {
		out[k] = append([]string(nil), vals...)
	}
	return out
}

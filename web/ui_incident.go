package web

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/store"
)

// The Incident detail screen: summary, member alerts, timeline, targets
// with their remote ids and links, deliveries with attempts, and the
// actions an operator may take.

const (
	detailAlertLimit    = 500
	detailTimelineLimit = 100
	detailDeliveryLimit = 25
)

type incidentView struct {
	uiPage
	Incident    incidenthub.Incident
	Alerts      []incidenthub.IncidentAlert
	AlertsShown int
	Timeline    []incidenthub.TimelineEntry
	// OlderURL pages the timeline back; NewestURL returns to its start.
	OlderURL, NewestURL string
	Targets             []targetView
	Deliveries          []deliveryView
	MoreDeliveries      bool
	CanAct              bool
}

// targetView is one target's hold on the incident: its remote ids and a
// link into the vendor where one is known.
type targetView struct {
	targetState
	Refs     []kv
	LinkText string
}

type deliveryView struct {
	incidenthub.Delivery
	AttemptLog []incidenthub.DeliveryAttempt
}

func (s *server) incidentPage(c *gin.Context) {
	id, err := idParam(c)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	ctx := c.Request.Context()
	inc, err := s.Store.Incident(ctx, id)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	v := &incidentView{uiPage: uiPage{Title: fmt.Sprintf("#%d %s", inc.ID, inc.Title), Nav: "incidents"}, Incident: *inc}
	sess := uiSessionOf(c)
	v.CanAct = sess != nil && roleRank[sess.Role] >= roleRank["operator"]

	if v.Alerts, err = s.Store.MemberAlerts(ctx, id, detailAlertLimit); err != nil {
		s.uiFail(c, err)
		return
	}
	v.AlertsShown = len(v.Alerts)
	// Firing first, then the most recently seen.
	sort.SliceStable(v.Alerts, func(i, j int) bool {
		a, b := v.Alerts[i], v.Alerts[j]
		if (a.Status == incidenthub.AlertFiring) != (b.Status == incidenthub.AlertFiring) {
			return a.Status == incidenthub.AlertFiring
		}
		return a.LastSeenAt.After(b.LastSeenAt)
	})

	var before int64
	if b := c.Query("before"); b != "" {
		if before, err = strconv.ParseInt(b, 10, 64); err != nil || before <= 0 {
			s.uiFail(c, incidenthub.Errorf(incidenthub.EINVALID, "before %q is not a timeline position", b))
			return
		}
		v.NewestURL = fmt.Sprintf("/ui/incidents/%d#timeline", id)
	}
	entries, older, err := s.Store.TimelineNewest(ctx, id, before, detailTimelineLimit)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	v.Timeline = entries
	if older > 0 {
		v.OlderURL = fmt.Sprintf("/ui/incidents/%d?before=%d#timeline", id, older)
	}

	syncs, err := s.Store.IncidentTargets(ctx, id)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	bySync := map[string]incidenthub.TargetSync{}
	for _, ts := range syncs {
		bySync[ts.Target] = ts
	}
	for _, st := range targetStates(inc.Targets, syncs) {
		v.Targets = append(v.Targets, targetLink(st, bySync[st.Name]))
	}

	dels, more, err := s.Store.ListDeliveries(ctx, store.DeliveryFilter{IncidentID: id, Limit: detailDeliveryLimit})
	if err != nil {
		s.uiFail(c, err)
		return
	}
	v.MoreDeliveries = more != 0
	ids := make([]int64, len(dels))
	for i := range dels {
		ids[i] = dels[i].ID
	}
	atts, err := s.Store.AttemptsOf(ctx, ids)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	for _, d := range dels {
		v.Deliveries = append(v.Deliveries, deliveryView{Delivery: d, AttemptLog: atts[d.ID]})
	}
	s.render(c, "incident", v)
}

// targetLink adds the remote ids and the vendor link: the link the
// connector stored (Jira browse URL, ServiceNow record, Statuspage
// shortlink), else for Slack the channel.
func targetLink(st targetState, ts incidenthub.TargetSync) targetView {
	tv := targetView{targetState: st}
	for k, val := range ts.Refs {
		if k == "replied" { // Slack bookkeeping, not an id
			continue
		}
		tv.Refs = append(tv.Refs, kv{k, val})
	}
	sort.Slice(tv.Refs, func(i, j int) bool { return tv.Refs[i].K < tv.Refs[j].K })
	// What the vendor calls the object, for the link text.
	name := ""
	switch st.Type {
	case "jira":
		name = ts.Refs["issue_key"]
	case "servicenow":
		name = ts.Refs["number"]
	case "statuspage":
		name = "the incident"
	}
	switch {
	case tv.URL != "" && name != "":
		tv.LinkText = "Open " + name + " in " + vendorName(st.Type)
	case tv.URL != "":
		tv.LinkText = "Open in " + vendorName(st.Type)
	case st.Type == "slack" && ts.Refs["channel"] != "":
		tv.URL, tv.LinkText = slackChannelURL(ts.Refs["channel"]), "Open the channel in Slack"
	}
	return tv
}

func vendorName(typ string) string {
	switch typ {
	case "jira":
		return "Jira"
	case "servicenow":
		return "ServiceNow"
	case "statuspage":
		return "Statuspage"
	case "pagerduty":
		return "PagerDuty"
	case "slack":
		return "Slack"
	case "":
		return "the target"
	}
	return typ
}

// ---- actions (operator) ----

// uiAction runs a manual action through runAction, as the API does, with
// the session's actor, then redirects to the incident show(changes)
// returns with a message.
func (s *server) uiAction(c *gin.Context, name string, fn func(tx *gorm.DB, id int64, note string, act correlation.Action) ([]correlation.Change, error), done func(id int64, changes []correlation.Change) (int64, string)) {
	id, err := idParam(c)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	note := strings.TrimSpace(c.Request.PostForm.Get("note"))
	if len(note) > 2000 {
		redirectFlash(c, incidentURL(id), "error", "The note is longer than 2000 characters.")
		return
	}
	changes, err := s.runAction(c.Request.Context(), uiSessionOf(c).Actor, name, func(tx *gorm.DB, act correlation.Action) ([]correlation.Change, error) {
		act.Note = note
		return fn(tx, id, note, act)
	})
	if err != nil {
		if code := incidenthub.ErrorCode(err); code == incidenthub.EINTERNAL || statuses[code] == 0 {
			s.uiFail(c, err)
			return
		}
		if wantsJSON(c) {
			s.fail(c, err)
			return
		}
		redirectFlash(c, incidentURL(id), "error", "Could not "+name+": "+incidenthub.ErrorMessage(err))
		return
	}
	show, msg := done(id, changes)
	if wantsJSON(c) {
		c.JSON(http.StatusOK, gin.H{"incident_id": show, "message": msg})
		return
	}
	redirectFlash(c, incidentURL(show), "ok", msg)
}

func incidentURL(id int64) string { return "/ui/incidents/" + strconv.FormatInt(id, 10) }

func single(do func(*gorm.DB, int64, correlation.Action) (correlation.Change, error)) func(*gorm.DB, int64, string, correlation.Action) ([]correlation.Change, error) {
	return func(tx *gorm.DB, id int64, _ string, act correlation.Action) ([]correlation.Change, error) {
		ch, err := do(tx, id, act)
		return []correlation.Change{ch}, err
	}
}

func (s *server) uiAcknowledge(c *gin.Context) {
	s.uiAction(c, "acknowledge", single(correlation.Acknowledge), func(id int64, _ []correlation.Change) (int64, string) {
		return id, fmt.Sprintf("Incident #%d acknowledged.", id)
	})
}

func (s *server) uiResolve(c *gin.Context) {
	s.uiAction(c, "resolve", single(correlation.Resolve), func(id int64, _ []correlation.Change) (int64, string) {
		return id, fmt.Sprintf("Incident #%d resolved.", id)
	})
}

func (s *server) uiReopen(c *gin.Context) {
	s.uiAction(c, "reopen", single(correlation.Reopen), func(id int64, _ []correlation.Change) (int64, string) {
		return id, fmt.Sprintf("Incident #%d reopened.", id)
	})
}

// uiMerge merges this incident into the one named in the form's "into".
func (s *server) uiMerge(c *gin.Context) {
	raw := strings.TrimPrefix(strings.TrimSpace(c.Request.PostForm.Get("into")), "#")
	into, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || into <= 0 {
		id, _ := idParam(c)
		redirectFlash(c, incidentURL(id), "error", fmt.Sprintf("Could not merge: %q is not an incident number.", raw))
		return
	}
	s.uiAction(c, "merge", func(tx *gorm.DB, id int64, _ string, act correlation.Action) ([]correlation.Change, error) {
		return correlation.Merge(tx, into, id, act)
	}, func(id int64, _ []correlation.Change) (int64, string) {
		return into, fmt.Sprintf("Incident #%d merged into #%d.", id, into)
	})
}

// uiSplit moves the alert named by the form's source and fingerprint out
// into a new incident, and shows the new one.
func (s *server) uiSplit(c *gin.Context) {
	source, fp := c.Request.PostForm.Get("source"), c.Request.PostForm.Get("fingerprint")
	s.uiAction(c, "split", func(tx *gorm.DB, id int64, _ string, act correlation.Action) ([]correlation.Change, error) {
		if fp == "" {
			return nil, incidenthub.Errorf(incidenthub.EINVALID, "no alert chosen")
		}
		return correlation.SplitAlert(tx, id, source, fp, act)
	}, func(id int64, changes []correlation.Change) (int64, string) {
		nid := changes[0].IncidentID
		return nid, fmt.Sprintf("Alert split out of #%d into the new incident #%d.", id, nid)
	})
}

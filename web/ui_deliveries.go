package web

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
)

// The Deliveries screen: every outbound target with its circuit state and
// what it has not delivered yet (retry all dead, for operators), and the
// deliveries by target and status; and one delivery with its attempt log:
// each request and response as sent and answered (secrets redacted when
// they were recorded), latency, outcome and next retry.

type deliveriesView struct {
	uiPage
	Target, Status string
	Targets        []targetPanel
	TargetNames    []string
	Tabs           []eventTab
	Rows           []incidenthub.Delivery
	Empty          string
	CanAct         bool
	// Running is false when the delivery engine is not running here: no
	// circuit states, and retries answer 503.
	Running           bool
	NextURL, FirstURL string
	PageURL           string
}

// targetPanel is one configured target and how it is doing.
type targetPanel struct {
	Name, Type string
	// Circuit is the breaker's state: closed, open or disabled ("" when
	// the engine is not running).
	Circuit, CircuitText string
	store.DeliveryCounts
	URL string // its deliveries
}

var deliveryTabs = []struct{ status, label string }{
	{"", "All"},
	{incidenthub.DeliveryPending, "Pending"},
	{incidenthub.DeliveryRetrying, "Retrying"},
	{incidenthub.DeliveryDead, "Dead"},
	{incidenthub.DeliveryDelivered, "Delivered"},
}

func deliveriesURL(q url.Values) string {
	if e := q.Encode(); e != "" {
		return "/ui/deliveries?" + e
	}
	return "/ui/deliveries"
}

// circuitText says what a breaker state means for the target.
func circuitText(state string) string {
	switch state {
	case "closed":
		return "Healthy: deliveries go out as they come."
	case "open":
		return "Failing: deliveries wait; one probe goes through every probe interval."
	case "disabled":
		return "Disabled after failing for longer than disable_after: deliveries are kept, and it is probed until it answers."
	}
	return "Unknown: the delivery engine is not running in this process."
}

func (s *server) deliveriesPage(c *gin.Context) {
	f, err := deliveryFilter(c) // the same parameters, and errors, as GET /api/v1/deliveries
	if err != nil {
		s.uiFail(c, err)
		return
	}
	ctx := c.Request.Context()
	v := &deliveriesView{uiPage: uiPage{Title: "Deliveries", Nav: "deliveries"}, Target: f.Target, Status: f.Status,
		CanAct: canOperate(c), Running: s.Deliveries != nil}
	cfg := s.Config()
	v.TargetNames = targetNames(cfg)

	counts, err := s.Store.UndeliveredByTarget(ctx)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	var states map[string]string
	if s.Deliveries != nil {
		states = s.Deliveries.TargetState()
	}
	for _, t := range cfg.Targets {
		p := targetPanel{Name: t.Name, Type: t.Type, Circuit: states[t.Name], DeliveryCounts: counts[t.Name],
			URL: deliveriesURL(url.Values{"target": {t.Name}})}
		p.CircuitText = circuitText(p.Circuit)
		v.Targets = append(v.Targets, p)
	}
	sort.Slice(v.Targets, func(i, j int) bool { return v.Targets[i].Name < v.Targets[j].Name })

	q := url.Values{}
	if f.Target != "" {
		q.Set("target", f.Target)
	}
	var total store.DeliveryCounts
	for name, n := range counts {
		if f.Target == "" || name == f.Target {
			total.Pending += n.Pending
			total.Retrying += n.Retrying
			total.Dead += n.Dead
		}
	}
	tabCount := map[string]int64{incidenthub.DeliveryPending: total.Pending, incidenthub.DeliveryRetrying: total.Retrying, incidenthub.DeliveryDead: total.Dead}
	for _, t := range deliveryTabs {
		tq := cloneValues(q)
		if t.status != "" {
			tq.Set("status", t.status)
		}
		n, ok := tabCount[t.status]
		if !ok {
			n = -1
		}
		v.Tabs = append(v.Tabs, eventTab{Status: t.status, Label: t.label, Count: n, URL: deliveriesURL(tq), Active: t.status == f.Status})
	}

	list, next, err := s.Store.ListDeliveries(ctx, f)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	v.Rows = list
	pq := cloneValues(q)
	if f.Status != "" {
		pq.Set("status", f.Status)
	}
	v.PageURL = deliveriesURL(pq)
	if next > 0 {
		nq := cloneValues(pq)
		nq.Set("cursor", strconv.FormatInt(next, 10))
		v.NextURL = deliveriesURL(nq)
	}
	if f.After > 0 {
		v.FirstURL = v.PageURL
	}
	what := "deliveries"
	if f.Status != "" {
		what = f.Status + " deliveries"
	}
	if f.Target != "" {
		what += " to " + f.Target
	}
	v.Empty = "No " + what + "."
	s.render(c, "deliveries", v)
}

// ---- one delivery ----

type deliveryPageView struct {
	uiPage
	Delivery *incidenthub.Delivery
	Attempts []attemptView
	Circuit  string
	CanAct   bool
	// Retryable: dead or retrying, so an operator may attempt it now.
	Retryable bool
	// Live: pending or retrying, so the page refreshes itself.
	Live        bool
	PollSeconds int
}

// attemptView is one attempt with its headers sorted and bodies indented.
type attemptView struct {
	incidenthub.DeliveryAttempt
	ReqHeaders, RespHeaders []kv
	ReqBody, RespBody       string
}

func (s *server) deliveryPage(c *gin.Context) {
	v, err := s.deliveryData(c)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	s.render(c, "delivery", v)
}

// deliveryLive renders the region below the heading (htmx polls it while
// the delivery is in flight).
func (s *server) deliveryLive(c *gin.Context) {
	v, err := s.deliveryData(c)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	s.renderPartial(c, "delivery", "delivery-live", v)
}

// deliveryData gathers one delivery through the same store call as
// GET /api/v1/deliveries/{id}.
func (s *server) deliveryData(c *gin.Context) (*deliveryPageView, error) {
	id, err := deliveryID(c)
	if err != nil {
		return nil, err
	}
	d, attempts, err := s.Store.GetDelivery(c.Request.Context(), id)
	if err != nil {
		return nil, err
	}
	v := &deliveryPageView{uiPage: uiPage{Title: fmt.Sprintf("Delivery %d to %s", d.ID, d.Target), Nav: "deliveries"}, Delivery: d,
		CanAct: canOperate(c), Retryable: d.Status == incidenthub.DeliveryDead || d.Status == incidenthub.DeliveryRetrying,
		Live: d.Status == incidenthub.DeliveryPending || d.Status == incidenthub.DeliveryRetrying, PollSeconds: 2}
	if s.Deliveries != nil {
		v.Circuit = s.Deliveries.TargetState()[d.Target]
	}
	// Newest attempt first: the one that matters at 3 a.m.
	for i := len(attempts) - 1; i >= 0; i-- {
		a := attempts[i]
		av := attemptView{DeliveryAttempt: a, ReqHeaders: headerList(a.RequestHeaders), RespHeaders: headerList(a.ResponseHeaders)}
		av.ReqBody, _, _ = prettyBody([]byte(a.RequestBody), eventBodyLimit)
		av.RespBody, _, _ = prettyBody([]byte(a.ResponseBody), eventBodyLimit)
		v.Attempts = append(v.Attempts, av)
	}
	return v, nil
}

func headerList(h map[string][]string) []kv {
	out := make([]kv, 0, len(h))
	for k, vals := range h {
		out = append(out, kv{k, strings.Join(vals, ", ")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].K < out[j].K })
	return out
}

// ---- actions (operator) ----

func deliveryURL(id int64) string { return "/ui/deliveries/" + strconv.FormatInt(id, 10) }

// uiRetryDelivery attempts one dead or retrying delivery now, as
// POST /api/v1/deliveries/{id}/retry does.
func (s *server) uiRetryDelivery(c *gin.Context) {
	id, err := deliveryID(c)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	if s.Deliveries == nil {
		s.uiActionFailed(c, deliveryURL(id), "retry", incidenthub.Errorf(incidenthub.EUNAVAILABLE, "outbound delivery is not running"))
		return
	}
	d, err := s.Deliveries.Retry(c.Request.Context(), id)
	if err != nil {
		s.uiActionFailed(c, deliveryURL(id), "retry the delivery", err)
		return
	}
	s.Log.InfoContext(c.Request.Context(), "delivery retried", "delivery_id", id, "target", d.Target, "actor", uiSessionOf(c).Actor)
	redirectFlash(c, deliveryURL(id), "ok", fmt.Sprintf("Delivery %d to %s is being attempted again.", id, d.Target))
}

// uiRetryDead retries every dead delivery of a target, as
// POST /api/v1/targets/{target}/deliveries/retry does.
func (s *server) uiRetryDead(c *gin.Context) {
	target := c.Param("target")
	back := deliveriesURL(url.Values{"target": {target}})
	if s.Deliveries == nil {
		s.uiActionFailed(c, back, "retry", incidenthub.Errorf(incidenthub.EUNAVAILABLE, "outbound delivery is not running"))
		return
	}
	n, err := s.Deliveries.RetryDead(c.Request.Context(), target)
	if err != nil {
		s.uiActionFailed(c, back, "retry", err)
		return
	}
	s.Log.InfoContext(c.Request.Context(), "dead deliveries retried", "target", target, "retried", n, "actor", uiSessionOf(c).Actor)
	if n == 0 {
		redirectFlash(c, back, "ok", "No dead deliveries to "+target+" to retry.")
		return
	}
	redirectFlash(c, back, "ok", fmt.Sprintf("Retrying %s to %s.", plural(n, "dead delivery", "dead deliveries"), target))
}

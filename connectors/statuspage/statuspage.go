// Package statuspage keeps the public Atlassian Statuspage honest about a
// hub incident: it opens a Statuspage incident (status investigating, the
// mapped components degraded as the severity says), posts updates when the
// incident is acknowledged or its severity changes, and resolves it with
// the components back to operational.
//
// A status page is public, so nothing internal reaches it by default: only
// services listed under services are posted, under their public name, with
// generic wording. Hostnames, labels, alert text and the hub's ids never
// appear. Requests are paced by a client-side token bucket shared by every
// client using the same API key (Statuspage allows 1 request per second
// per key, answering 420 or 429 beyond).
package statuspage

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"golang.org/x/time/rate"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/httperr"
	"github.com/incidenthub/incidenthub/internal/remote"
)

// DefaultBaseURL is the Statuspage API.
const DefaultBaseURL = "https://api.statuspage.io"

// DefaultRequestsPerMinute is Statuspage's per-key limit.
const DefaultRequestsPerMinute = 60

// Incident statuses of a realtime incident.
const (
	StatusInvestigating = "investigating"
	StatusIdentified    = "identified"
	StatusMonitoring    = "monitoring"
	StatusResolved      = "resolved"
)

// Component statuses.
const (
	ComponentOperational = "operational"
	ComponentDegraded    = "degraded_performance"
	ComponentPartial     = "partial_outage"
	ComponentMajor       = "major_outage"
)

var (
	componentStatuses = []string{ComponentOperational, ComponentDegraded, ComponentPartial, ComponentMajor, "under_maintenance"}
	impacts           = []string{"none", "minor", "major", "critical"}
	updateStatuses    = []string{StatusInvestigating, StatusIdentified, StatusMonitoring}
)

// DefaultComponentStatus maps hub severities to component statuses.
var DefaultComponentStatus = map[string]string{
	string(incidenthub.SeverityCritical): ComponentMajor,
	string(incidenthub.SeverityHigh):     ComponentPartial,
	string(incidenthub.SeverityWarning):  ComponentDegraded,
	string(incidenthub.SeverityInfo):     ComponentDegraded,
}

// DefaultImpact maps hub severities to impact_override.
var DefaultImpact = map[string]string{
	string(incidenthub.SeverityCritical): "critical",
	string(incidenthub.SeverityHigh):     "major",
	string(incidenthub.SeverityWarning):  "minor",
	string(incidenthub.SeverityInfo):     "none",
}

// Render operations.
const (
	OpCreate  = "create"  // POST .../incidents, body {"incident": {...}}
	OpUpdate  = "update"  // PATCH .../incidents/{id}
	OpResolve = "resolve" // PATCH .../incidents/{id} to resolved
)

// RenderFunc builds a request body: op is OpCreate, OpUpdate or OpResolve,
// body the default {"incident": {...}}, which the function may modify and
// return (the outbound mapping seam). What it returns is public.
type RenderFunc = remote.RenderFunc

// State is what the delivery engine knows when it asks for a sync. Its
// Alert is never published. Remote holds "incident_id" and "shortlink";
// Last holds the "status" and "severity" last published.
type State = remote.State

// Remote is the result of a sync; its URL is the incident's shortlink.
type Remote = remote.Result

// Service is how one hub service appears on the status page.
type Service struct {
	// Name is the public name, e.g. "Checkout".
	Name string `yaml:"name"`
	// Components are the ids of the page components it affects.
	Components []string `yaml:"components"`
}

// Config configures one Statuspage connector.
type Config struct {
	// APIKey is a Statuspage API key (sent as "Authorization: OAuth <key>").
	APIKey remote.Secret `yaml:"api_key"`
	// PageID is the page's id.
	PageID string `yaml:"page_id"`
	// BaseURL is DefaultBaseURL unless testing.
	BaseURL string `yaml:"base_url"`
	// Services maps hub service names to their public face. Incidents of
	// other services are not posted.
	Services map[string]Service `yaml:"services"`
	// UpdateStatus is the status posted when the incident is acknowledged
	// or changes severity: identified (default), monitoring or
	// investigating.
	UpdateStatus string `yaml:"update_status"`
	// ComponentStatus and Impact map hub severities; unset keys use
	// DefaultComponentStatus and DefaultImpact.
	ComponentStatus map[string]string `yaml:"component_status"`
	Impact          map[string]string `yaml:"impact"`
	// Notify sends subscriber notifications (deliver_notifications);
	// default true.
	Notify *bool `yaml:"notify"`
	// RequestsPerMinute paces requests per API key; default 60.
	RequestsPerMinute int `yaml:"requests_per_minute"`

	// Render overrides the default bodies.
	Render RenderFunc `yaml:"-" json:"-"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.UpdateStatus == "" {
		c.UpdateStatus = StatusIdentified
	}
	if c.RequestsPerMinute == 0 {
		c.RequestsPerMinute = DefaultRequestsPerMinute
	}
	if c.Notify == nil {
		t := true
		c.Notify = &t
	}
	cs := maps.Clone(DefaultComponentStatus)
	maps.Copy(cs, c.ComponentStatus)
	c.ComponentStatus = cs
	im := maps.Clone(DefaultImpact)
	maps.Copy(im, c.Impact)
	c.Impact = im
}

var idRe = regexp.MustCompile(`^[a-z0-9]{6,40}$`)

// Validate reports every problem as a *remote.FieldError naming its key.
func (c Config) Validate() error {
	var p remote.Problems
	if c.APIKey == "" {
		p.Add("api_key", "required")
	}
	switch {
	case c.PageID == "":
		p.Add("page_id", "required")
	case !idRe.MatchString(c.PageID):
		p.Add("page_id", "%q is not a Statuspage id", c.PageID)
	}
	p.URL("base_url", c.BaseURL)
	if len(c.Services) == 0 {
		p.Add("services", "required: name at least one hub service and its public name and components")
	}
	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		svc := c.Services[name]
		if strings.TrimSpace(svc.Name) == "" {
			p.Add("services."+name+".name", "required (the public name)")
		}
		if len(svc.Components) == 0 {
			p.Add("services."+name+".components", "required")
		}
		for i, id := range svc.Components {
			if !idRe.MatchString(id) {
				p.Add(fmt.Sprintf("services.%s.components[%d]", name, i), "%q is not a component id", id)
			}
		}
	}
	if !slices.Contains(updateStatuses, c.UpdateStatus) {
		p.Add("update_status", "%q is not one of %s", c.UpdateStatus, strings.Join(updateStatuses, ", "))
	}
	for _, k := range slices.Sorted(maps.Keys(c.ComponentStatus)) {
		if !incidenthub.Severity(k).Valid() {
			p.Add("component_status."+k, "unknown hub severity")
		} else if v := c.ComponentStatus[k]; !slices.Contains(componentStatuses, v) || v == ComponentOperational {
			p.Add("component_status."+k, "%q is not one of degraded_performance, partial_outage, major_outage", v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Impact)) {
		if !incidenthub.Severity(k).Valid() {
			p.Add("impact."+k, "unknown hub severity")
		} else if !slices.Contains(impacts, c.Impact[k]) {
			p.Add("impact."+k, "%q is not one of %s", c.Impact[k], strings.Join(impacts, ", "))
		}
	}
	if c.RequestsPerMinute < 0 || c.RequestsPerMinute > 6000 {
		p.Add("requests_per_minute", "must be between 1 and 6000")
	}
	return p.Err()
}

// Client talks to one status page.
type Client struct {
	cfg Config
	api *remote.API
}

var _ remote.Syncer = (*Client)(nil)

// limiters are shared by every client with the same key and pace, since
// Statuspage counts requests per key.
var limiters sync.Map // string → *rate.Limiter

func limiterFor(key string, perMinute int) *rate.Limiter {
	id := fmt.Sprintf("%x/%d", sha256.Sum256([]byte(key)), perMinute)
	l, _ := limiters.LoadOrStore(id, rate.NewLimiter(rate.Limit(float64(perMinute)/60), 1))
	return l.(*rate.Limiter)
}

// New checks cfg (after Defaults) and returns a client that sends through
// hc, which the delivery engine supplies.
func New(cfg Config, hc *http.Client) (*Client, error) {
	if hc == nil {
		return nil, errors.New("statuspage: nil http client")
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	key := cfg.APIKey.Value()
	api := &remote.API{HTTP: hc, BaseURL: cfg.BaseURL, Secrets: []string{key}, Message: errorMessage,
		Wait: limiterFor(key, cfg.RequestsPerMinute).Wait,
		Auth: func(r *http.Request) { r.Header.Set("Authorization", "OAuth "+key) }}
	return &Client{cfg: cfg, api: api}, nil
}

// Notify brings the page to n's incident (the delivery engine's Notifier),
// keeping the page incident's id and what was published in n.Ref.
func (c *Client) Notify(ctx context.Context, n *incidenthub.Notification) (bool, error) {
	return remote.Notify(ctx, c, n)
}

// Verify reads the page (GET /v1/pages/{page_id}) and its components, and
// checks every configured component id exists. It changes nothing.
func (c *Client) Verify(ctx context.Context) error {
	var page struct {
		ID string `json:"id"`
	}
	if err := c.api.Do(ctx, "statuspage: verify page", http.MethodGet, c.pagePath(), nil, &page); err != nil {
		return err
	}
	var comps []struct {
		ID string `json:"id"`
	}
	if err := c.api.Do(ctx, "statuspage: verify components", http.MethodGet, c.pagePath()+"/components", nil, &comps); err != nil {
		return err
	}
	have := map[string]bool{}
	for _, cp := range comps {
		have[cp.ID] = true
	}
	var missing []string
	for _, name := range slices.Sorted(maps.Keys(c.cfg.Services)) {
		for _, id := range c.cfg.Services[name].Components {
			if !have[id] {
				missing = append(missing, fmt.Sprintf("services.%s: component %s", name, id))
			}
		}
	}
	if len(missing) > 0 {
		return httperr.Permanent("statuspage: verify components", "not on the page: "+strings.Join(missing, ", "))
	}
	return nil
}

func (c *Client) pagePath() string { return "/v1/pages/" + url.PathEscape(c.cfg.PageID) }

// Sync brings the page to the incident's current state: create
// (investigating) when first seen, an update on acknowledge or severity
// change, resolved with components operational on resolve, back to
// investigating if it opens again. Incidents of services not configured,
// and incidents resolved before they were ever posted, publish nothing.
// A sync with nothing new sends nothing.
func (c *Client) Sync(ctx context.Context, s State) (Remote, error) {
	inc := s.Incident
	ids := remote.CloneMap(s.Remote)
	synced := remote.CloneMap(s.Last)
	out := func() Remote { return Remote{IDs: ids, Synced: synced, URL: ids["shortlink"]} }
	svc, ok := c.cfg.Services[inc.Service]
	if !ok {
		return out(), nil
	}
	resolved := inc.Status == incidenthub.IncidentResolved

	if ids["incident_id"] == "" {
		if resolved {
			synced["status"], synced["severity"] = string(inc.Status), string(inc.Severity)
			return out(), nil
		}
		body, err := c.render(OpCreate, s, c.CreateBody(s, svc))
		if err != nil {
			return out(), err
		}
		var res incidentResponse
		if err := c.api.Do(ctx, "statuspage: create incident", http.MethodPost, c.pagePath()+"/incidents", body, &res); err != nil {
			return out(), err
		}
		if res.ID == "" {
			return out(), httperr.Permanent("statuspage: create incident", "no incident id in the answer")
		}
		ids["incident_id"] = res.ID
		if res.Shortlink != "" {
			ids["shortlink"] = res.Shortlink
		}
		synced["status"], synced["severity"] = string(incidenthub.IncidentOpen), string(inc.Severity)
	}

	if synced["status"] == string(inc.Status) && (resolved || synced["severity"] == string(inc.Severity)) {
		return out(), nil
	}
	op, body := OpUpdate, c.UpdateBody(s, svc)
	if resolved {
		op, body = OpResolve, c.ResolveBody(s, svc)
	}
	body, err := c.render(op, s, body)
	if err != nil {
		return out(), err
	}
	var res incidentResponse
	if err := c.api.Do(ctx, "statuspage: "+op+" incident", http.MethodPatch, c.pagePath()+"/incidents/"+url.PathEscape(ids["incident_id"]), body, &res); err != nil {
		return out(), err
	}
	synced["status"], synced["severity"] = string(inc.Status), string(inc.Severity)
	return out(), nil
}

type incidentResponse struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Shortlink string `json:"shortlink"`
}

func (c *Client) components(svc Service, status string) map[string]any {
	m := map[string]any{}
	for _, id := range svc.Components {
		m[id] = status
	}
	return m
}

func (c *Client) componentStatus(sev incidenthub.Severity) string {
	if v := c.cfg.ComponentStatus[string(sev)]; v != "" {
		return v
	}
	return ComponentDegraded
}

// CreateBody is the default, conservative create body: the service's public
// name and generic wording only.
func (c *Client) CreateBody(s State, svc Service) map[string]any {
	sev := s.Incident.Severity
	cs := c.componentStatus(sev)
	return map[string]any{"incident": map[string]any{
		"name":                  Name(svc, cs),
		"status":                StatusInvestigating,
		"body":                  fmt.Sprintf("We are investigating reports of %s affecting %s. We will post an update as soon as we know more.", phrase(cs), svc.Name),
		"impact_override":       c.impact(sev),
		"component_ids":         slices.Clone(svc.Components),
		"components":            c.components(svc, cs),
		"deliver_notifications": *c.cfg.Notify,
	}}
}

// UpdateBody is the default update: UpdateStatus (or investigating again
// after a resolve) with the components at the current severity.
func (c *Client) UpdateBody(s State, svc Service) map[string]any {
	sev := s.Incident.Severity
	cs := c.componentStatus(sev)
	status, text := c.cfg.UpdateStatus, ""
	switch {
	case s.Last["status"] == string(incidenthub.IncidentResolved):
		status, text = StatusInvestigating, fmt.Sprintf("We are seeing %s affecting %s again and are investigating.", phrase(cs), svc.Name)
	case status == StatusIdentified:
		text = "The issue has been identified and a fix is being worked on."
	case status == StatusMonitoring:
		text = "A fix has been implemented and we are monitoring the results."
	default:
		text = "We are continuing to investigate this issue."
	}
	if s.Last["severity"] != "" && s.Last["severity"] != string(sev) && s.Last["status"] != string(incidenthub.IncidentResolved) {
		text += fmt.Sprintf(" %s is currently experiencing %s.", svc.Name, phrase(cs))
	}
	return map[string]any{"incident": map[string]any{
		"status":                status,
		"body":                  text,
		"impact_override":       c.impact(sev),
		"component_ids":         slices.Clone(svc.Components),
		"components":            c.components(svc, cs),
		"deliver_notifications": *c.cfg.Notify,
	}}
}

// ResolveBody resolves the incident and sets the components operational.
func (c *Client) ResolveBody(s State, svc Service) map[string]any {
	return map[string]any{"incident": map[string]any{
		"status":                StatusResolved,
		"body":                  "This incident has been resolved.",
		"component_ids":         slices.Clone(svc.Components),
		"components":            c.components(svc, ComponentOperational),
		"deliver_notifications": *c.cfg.Notify,
	}}
}

func (c *Client) impact(sev incidenthub.Severity) string {
	if v := c.cfg.Impact[string(sev)]; v != "" {
		return v
	}
	return "minor"
}

// Name is the public incident name for a service at a component status.
func Name(svc Service, componentStatus string) string {
	switch componentStatus {
	case ComponentMajor:
		return "Outage affecting " + svc.Name
	case ComponentPartial:
		return "Partial outage affecting " + svc.Name
	}
	return "Degraded performance of " + svc.Name
}

func phrase(componentStatus string) string {
	switch componentStatus {
	case ComponentMajor:
		return "an outage"
	case ComponentPartial:
		return "a partial outage"
	}
	return "degraded performance"
}

func (c *Client) render(op string, s State, body map[string]any) (map[string]any, error) {
	if c.cfg.Render == nil {
		return body, nil
	}
	out, err := c.cfg.Render(op, s, body)
	if err != nil {
		return nil, httperr.Permanent("statuspage: render "+op, err.Error())
	}
	return out, nil
}

// errorMessage extracts {"error": "..."} or {"error": ["..."]} or
// {"message": "..."}.
func errorMessage(resp *http.Response, b []byte) string {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if !remote.IsJSON(resp.Header.Get("Content-Type")) || json.Unmarshal(b, &e) != nil {
		return httperr.Body(b)
	}
	var one string
	var many []string
	switch {
	case json.Unmarshal(e.Error, &one) == nil && one != "":
		return one
	case json.Unmarshal(e.Error, &many) == nil && len(many) > 0:
		return strings.Join(many, "; ")
	case e.Message != "":
		return e.Message
	}
	return httperr.Body(b)
}

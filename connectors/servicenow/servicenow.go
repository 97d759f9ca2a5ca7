// Package servicenow keeps one ServiceNow incident per hub incident through
// the Table API (/api/now/table/incident): it creates the record with
// urgency and impact mapped from severity and correlation_id set to the
// hub's incident, adds work notes on changes, and resolves it (state 6,
// close_code, close_notes). Auth is Basic or an OAuth bearer token.
package servicenow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/httperr"
	"github.com/incidenthub/incidenthub/internal/remote"
)

// TablePath is the incident table's path.
const TablePath = "/api/now/table/incident"

// MaxShortDescription is the length of incident.short_description.
const MaxShortDescription = 160

// Incident states of the default state model.
const (
	StateNew        = "1"
	StateInProgress = "2"
	StateOnHold     = "3"
	StateResolved   = "6"
	StateClosed     = "7"
)

// Level is an urgency or impact: 1 High, 2 Medium, 3 Low.
type Level struct {
	Urgency int `yaml:"urgency"`
	Impact  int `yaml:"impact"`
}

// DefaultLevels maps hub severities to urgency and impact; with the default
// priority lookup they give P1, P2, P3 and P5.
var DefaultLevels = map[string]Level{
	string(incidenthub.SeverityCritical): {1, 1},
	string(incidenthub.SeverityHigh):     {2, 1},
	string(incidenthub.SeverityWarning):  {2, 2},
	string(incidenthub.SeverityInfo):     {3, 3},
}

// Render operations.
const (
	OpCreate = "create" // POST body
	OpUpdate = "update" // PATCH body (work notes, levels, state, close fields)
)

// RenderFunc builds a request body: op is OpCreate or OpUpdate, body the
// default record fields, which the function may modify and return (the
// outbound mapping seam).
type RenderFunc = remote.RenderFunc

// State is what the delivery engine knows when it asks for a sync. Remote
// holds "sys_id" and "number"; Last holds "status", "severity" and
// "alert_count". The Table API has no idempotent insert: the record is
// looked up by correlation_id instead.
type State = remote.State

// Remote is the result of a sync; its URL is the record's form.
type Remote = remote.Result

// Config configures one ServiceNow connector.
type Config struct {
	// InstanceURL is e.g. https://example.service-now.com.
	InstanceURL string `yaml:"instance_url"`
	// Username and Password for Basic auth, or Token for an OAuth bearer
	// access token; exactly one of the two.
	Username string        `yaml:"username"`
	Password remote.Secret `yaml:"password"`
	Token    remote.Secret `yaml:"token"`
	// AssignmentGroup is the sys_id of the group.
	AssignmentGroup string `yaml:"assignment_group"`
	// CallerID is the caller's sys_id; optional.
	CallerID string `yaml:"caller_id"`
	// Category, optional, e.g. "software".
	Category string `yaml:"category"`
	// Levels maps hub severities to urgency and impact (1-3); unset keys
	// use DefaultLevels.
	Levels map[string]Level `yaml:"levels"`
	// CloseCode is the resolution code; default "Solution provided" (use
	// e.g. "Solved (Permanently)" on instances with the older choices).
	CloseCode string `yaml:"close_code"`
	// IncidentURL, when set, links the record to the hub: "{id}" is
	// replaced by the incident id.
	IncidentURL string `yaml:"incident_url"`

	// Render overrides the default bodies.
	Render RenderFunc `yaml:"-" json:"-"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	c.InstanceURL = strings.TrimRight(c.InstanceURL, "/")
	if c.CloseCode == "" {
		c.CloseCode = "Solution provided"
	}
	l := maps.Clone(DefaultLevels)
	maps.Copy(l, c.Levels)
	c.Levels = l
}

// Validate reports every problem as a *remote.FieldError naming its key.
func (c Config) Validate() error {
	var p remote.Problems
	p.URL("instance_url", c.InstanceURL)
	basic := c.Username != "" || c.Password != ""
	switch {
	case basic && c.Token != "":
		p.Add("token", "set either username and password or token, not both")
	case c.Token != "":
	case c.Username == "":
		p.Add("username", "required (or token)")
	case c.Password == "":
		p.Add("password", "required with username")
	}
	if c.AssignmentGroup == "" {
		p.Add("assignment_group", "required")
	}
	if c.CloseCode == "" {
		p.Add("close_code", "required")
	}
	for _, k := range slices.Sorted(maps.Keys(c.Levels)) {
		l := c.Levels[k]
		if !incidenthub.Severity(k).Valid() {
			p.Add("levels."+k, "unknown hub severity (want critical, high, warning or info)")
		}
		if l.Urgency < 1 || l.Urgency > 3 {
			p.Add("levels."+k+".urgency", "must be 1, 2 or 3")
		}
		if l.Impact < 1 || l.Impact > 3 {
			p.Add("levels."+k+".impact", "must be 1, 2 or 3")
		}
	}
	if c.IncidentURL != "" {
		p.URL("incident_url", c.IncidentURL)
	}
	return p.Err()
}

// Client talks to one ServiceNow instance.
type Client struct {
	cfg Config
	api *remote.API
}

var _ remote.Syncer = (*Client)(nil)

// New checks cfg (after Defaults) and returns a client that sends through
// hc, which the delivery engine supplies.
func New(cfg Config, hc *http.Client) (*Client, error) {
	if hc == nil {
		return nil, errors.New("servicenow: nil http client")
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	api := &remote.API{HTTP: hc, BaseURL: cfg.InstanceURL, Message: errorMessage,
		Secrets: []string{cfg.Password.Value(), cfg.Token.Value()},
		// A hibernating developer instance answers 200 with an HTML page.
		NotJSON: "instance hibernating or behind a login page?",
		Auth: func(r *http.Request) {
			if cfg.Token != "" {
				r.Header.Set("Authorization", "Bearer "+cfg.Token.Value())
			} else {
				r.SetBasicAuth(cfg.Username, cfg.Password.Value())
			}
		}}
	return &Client{cfg: cfg, api: api}, nil
}

// Notify syncs the record to n's incident (the delivery engine's Notifier),
// keeping its sys_id and what was synced in n.Ref.
func (c *Client) Notify(ctx context.Context, n *incidenthub.Notification) (bool, error) {
	return remote.Notify(ctx, c, n)
}

// Verify checks the credentials by reading at most one incident (GET
// /api/now/table/incident?sysparm_limit=1). It changes nothing; it cannot
// prove the account may write (itil role), only that it may sign in.
func (c *Client) Verify(ctx context.Context) error {
	q := url.Values{"sysparm_limit": {"1"}, "sysparm_fields": {"sys_id"}}
	var res struct {
		Result []map[string]any `json:"result"`
	}
	return c.api.Do(ctx, "servicenow: verify", http.MethodGet, TablePath+"?"+q.Encode(), nil, &res)
}

// CorrelationID is the correlation_id the hub sets: "incidenthub-<id>". The
// prefix keeps it apart from other integrations' ids in the same field.
func CorrelationID(inc incidenthub.Incident) string {
	return "incidenthub-" + strconv.FormatInt(inc.ID, 10)
}

// Sync brings the ServiceNow incident to the hub incident's current state
// with at most one write: without a stored sys_id it looks the record up
// by correlation_id (a create whose answer was lost) and otherwise creates
// it; later, one PATCH carries the work note for what changed, new urgency
// and impact on a severity change, state 2 when acknowledged or open again,
// and state 6 with close_code and close_notes on resolve. A sync with
// nothing new sends nothing.
func (c *Client) Sync(ctx context.Context, s State) (Remote, error) {
	inc := s.Incident
	ids := remote.CloneMap(s.Remote)
	synced := remote.CloneMap(s.Last)
	current := map[string]string{
		"status":      string(inc.Status),
		"severity":    string(inc.Severity),
		"alert_count": strconv.Itoa(inc.AlertCount),
	}
	out := func() Remote {
		r := Remote{IDs: ids, Synced: synced}
		if id := ids["sys_id"]; id != "" {
			r.URL = c.cfg.InstanceURL + "/incident.do?sys_id=" + url.QueryEscape(id)
		}
		return r
	}

	if ids["sys_id"] == "" {
		rec, err := c.find(ctx, inc)
		if err != nil {
			return out(), err
		}
		if rec.SysID == "" {
			body, err := c.render(OpCreate, s, c.CreateBody(s))
			if err != nil {
				return out(), err
			}
			if err := c.api.Do(ctx, "servicenow: create incident", http.MethodPost, TablePath+"?"+fieldsQuery(), body, &result{&rec}); err != nil {
				return out(), err
			}
			if rec.SysID == "" {
				return out(), httperr.Permanent("servicenow: create incident", "no sys_id in the answer")
			}
			ids["sys_id"], ids["number"] = rec.SysID, rec.Number
			maps.Copy(synced, current)
			return out(), nil
		}
		// Found the record of a lost answer: bring it up to date from
		// scratch below.
		ids["sys_id"], ids["number"] = rec.SysID, rec.Number
		if len(synced) == 0 {
			maps.Copy(synced, current)
			synced["status"] = string(incidenthub.IncidentOpen)
		}
	}

	changes := changed(synced, current)
	if len(changes) == 0 {
		return out(), nil
	}
	body, err := c.render(OpUpdate, s, c.UpdateBody(s, changes))
	if err != nil {
		return out(), err
	}
	var rec record
	path := TablePath + "/" + url.PathEscape(ids["sys_id"]) + "?" + fieldsQuery()
	if err := c.api.Do(ctx, "servicenow: update incident", http.MethodPatch, path, body, &result{&rec}); err != nil {
		return out(), err
	}
	maps.Copy(synced, current)
	return out(), nil
}

type record struct {
	SysID  string `json:"sys_id"`
	Number string `json:"number"`
	State  string `json:"state"`
}

// result unwraps the Table API's {"result": ...} envelope.
type result struct {
	Result any `json:"result"`
}

func fieldsQuery() string {
	return url.Values{"sysparm_fields": {"sys_id,number,state"}, "sysparm_exclude_reference_link": {"true"}}.Encode()
}

func (c *Client) find(ctx context.Context, inc incidenthub.Incident) (record, error) {
	q := url.Values{
		"sysparm_query":  {"correlation_id=" + CorrelationID(inc)},
		"sysparm_fields": {"sys_id,number,state"},
		"sysparm_limit":  {"1"},
	}
	var recs []record
	if err := c.api.Do(ctx, "servicenow: find incident", http.MethodGet, TablePath+"?"+q.Encode(), nil, &result{&recs}); err != nil {
		return record{}, err
	}
	if len(recs) == 0 {
		return record{}, nil
	}
	return recs[0], nil
}

func changed(last, cur map[string]string) []string {
	var out []string
	for _, k := range []string{"status", "severity", "alert_count"} {
		if last[k] != cur[k] {
			out = append(out, k)
		}
	}
	return out
}

// CreateBody is the default body of the POST.
func (c *Client) CreateBody(s State) map[string]any {
	inc := s.Incident
	lv := c.level(inc.Severity)
	body := map[string]any{
		"short_description":   ShortDescription(inc),
		"description":         c.description(s),
		"urgency":             strconv.Itoa(lv.Urgency),
		"impact":              strconv.Itoa(lv.Impact),
		"assignment_group":    c.cfg.AssignmentGroup,
		"correlation_id":      CorrelationID(inc),
		"correlation_display": "Incident Hub",
		"contact_type":        "monitoring",
	}
	if c.cfg.CallerID != "" {
		body["caller_id"] = c.cfg.CallerID
	}
	if c.cfg.Category != "" {
		body["category"] = c.cfg.Category
	}
	if inc.Status == incidenthub.IncidentAcknowledged {
		body["state"] = StateInProgress
	}
	if inc.Status == incidenthub.IncidentResolved {
		maps.Copy(body, c.resolveFields(inc))
	}
	return body
}

// UpdateBody is the default body of the PATCH for the given changes
// (status, severity, alert_count).
func (c *Client) UpdateBody(s State, changes []string) map[string]any {
	inc := s.Incident
	body := map[string]any{}
	var notes []string
	for _, ch := range changes {
		switch ch {
		case "status":
			switch inc.Status {
			case incidenthub.IncidentResolved:
				notes = append(notes, "Incident Hub resolved this incident: all alerts have cleared.")
				maps.Copy(body, c.resolveFields(inc))
			case incidenthub.IncidentAcknowledged:
				notes = append(notes, "The incident was acknowledged in Incident Hub.")
				body["state"] = StateInProgress
			default:
				if s.Last["status"] == string(incidenthub.IncidentResolved) {
					notes = append(notes, "The incident is open again: alerts are firing.")
					body["state"] = StateInProgress
				}
			}
		case "severity":
			notes = append(notes, fmt.Sprintf("Severity changed from %s to %s.", orUnknown(s.Last["severity"]), inc.Severity))
			lv := c.level(inc.Severity)
			body["urgency"], body["impact"] = strconv.Itoa(lv.Urgency), strconv.Itoa(lv.Impact)
		case "alert_count":
			n := fmt.Sprintf("Alerts: %d (%d firing), previously %s.", inc.AlertCount, inc.FiringCount, orUnknown(s.Last["alert_count"]))
			if len(inc.Hosts) > 0 {
				n += " Hosts: " + strings.Join(inc.Hosts, ", ") + "."
			}
			notes = append(notes, n)
		}
	}
	if len(notes) > 0 {
		body["work_notes"] = strings.Join(notes, "\n")
	}
	return body
}

func (c *Client) resolveFields(inc incidenthub.Incident) map[string]any {
	notes := fmt.Sprintf("Resolved automatically by Incident Hub: all %d alert(s) of incident #%d cleared.", inc.AlertCount, inc.ID)
	if inc.ResolvedAt != nil {
		notes += " Resolved at " + inc.ResolvedAt.UTC().Format("2006-01-02 15:04:05 MST") + "."
	}
	return map[string]any{"state": StateResolved, "close_code": c.cfg.CloseCode, "close_notes": notes}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func (c *Client) level(sev incidenthub.Severity) Level {
	if l, ok := c.cfg.Levels[string(sev)]; ok {
		return l
	}
	return Level{2, 2}
}

// ShortDescription is the incident title on one line, at most 160
// characters.
func ShortDescription(inc incidenthub.Incident) string {
	s := strings.Join(strings.Fields(inc.Title), " ")
	if s == "" {
		s = fmt.Sprintf("%s incident #%d", inc.Service, inc.ID)
	}
	if utf8.RuneCountInString(s) > MaxShortDescription {
		s = string([]rune(s)[:MaxShortDescription-1]) + "…"
	}
	return s
}

func (c *Client) description(s State) string {
	inc := s.Incident
	var b strings.Builder
	fmt.Fprintf(&b, "Opened by Incident Hub from correlated alerts (incident #%d).\n", inc.ID)
	if c.cfg.IncidentURL != "" {
		fmt.Fprintf(&b, "Incident Hub: %s\n", strings.ReplaceAll(c.cfg.IncidentURL, "{id}", strconv.FormatInt(inc.ID, 10)))
	}
	b.WriteString("\n")
	for _, f := range [][2]string{
		{"Service", inc.Service}, {"Alert type", inc.AlertType}, {"Severity", string(inc.Severity)},
		{"Environment", inc.Environment}, {"Alerts", fmt.Sprintf("%d (%d firing)", inc.AlertCount, inc.FiringCount)},
		{"Hosts", strings.Join(inc.Hosts, ", ")}, {"Correlation key", inc.CorrelationKey},
	} {
		if f[1] != "" {
			fmt.Fprintf(&b, "%s: %s\n", f[0], f[1])
		}
	}
	if a := s.Alert; a != nil && strings.TrimSpace(a.Description) != "" {
		fmt.Fprintf(&b, "\nLatest alert: %s\n%s\n", a.Title, a.Description)
	}
	return b.String()
}

func (c *Client) render(op string, s State, body map[string]any) (map[string]any, error) {
	if c.cfg.Render == nil {
		return body, nil
	}
	out, err := c.cfg.Render(op, s, body)
	if err != nil {
		return nil, httperr.Permanent("servicenow: render "+op, err.Error())
	}
	return out, nil
}

// errorMessage extracts {"error":{"message","detail"},"status":"failure"}.
func errorMessage(resp *http.Response, b []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
			Detail  string `json:"detail"`
		} `json:"error"`
	}
	if !remote.IsJSON(resp.Header.Get("Content-Type")) || json.Unmarshal(b, &e) != nil || e.Error.Message == "" {
		return httperr.Body(b)
	}
	msg := e.Error.Message
	if d := strings.TrimSpace(e.Error.Detail); d != "" {
		msg += " (" + strings.Join(strings.Fields(d), " ") + ")"
	}
	return msg
}

// Package jira keeps one Jira Cloud issue per hub incident through the
// REST API v3: it creates the issue (summary, ADF description, priority
// mapped from severity, labels), comments on significant changes, and
// transitions it to the configured done status on resolve (and back with a
// configured reopen transition). Auth is Basic with email and API token.
package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/httperr"
	"github.com/incidenthub/incidenthub/internal/remote"
)

// MaxSummary is the longest summary Jira accepts.
const MaxSummary = 255

// DefaultPriority maps hub severities to the names of Jira's default
// priority scheme.
var DefaultPriority = map[string]string{
	string(incidenthub.SeverityCritical): "Highest",
	string(incidenthub.SeverityHigh):     "High",
	string(incidenthub.SeverityWarning):  "Medium",
	string(incidenthub.SeverityInfo):     "Low",
}

// Render operations.
const (
	OpCreate  = "create"  // body: {"fields": {...}} for POST /rest/api/3/issue
	OpComment = "comment" // body: {"body": ADF} for POST .../comment
)

// RenderFunc builds a request body: op is OpCreate or OpComment, body the
// default, which the function may modify and return (the outbound mapping
// seam).
type RenderFunc = remote.RenderFunc

// State is what the delivery engine knows when it asks for a sync. Remote
// holds "issue_key" and "issue_id"; Last holds "status", "severity",
// "alert_count" and "workflow" (open or done). Jira has no idempotent
// create: the hub's label is searched for before creating.
type State = remote.State

// Remote is the result of a sync; its URL is the issue's browse link.
type Remote = remote.Result

// Config configures one Jira connector.
type Config struct {
	// BaseURL is the site, e.g. https://example.atlassian.net.
	BaseURL string `yaml:"base_url"`
	// Email and APIToken are the Basic auth credentials of the account
	// the hub acts as.
	Email    string        `yaml:"email"`
	APIToken remote.Secret `yaml:"api_token"`
	// Project is the project key, e.g. OPS.
	Project string `yaml:"project"`
	// IssueType is the issue type name; default "Task".
	IssueType string `yaml:"issue_type"`
	// Priority maps hub severities to priority names; unset keys use
	// DefaultPriority, and "" leaves priority unset (for projects whose
	// create screen has no priority field).
	Priority map[string]string `yaml:"priority"`
	// Labels are added to every issue (spaces become "_"). The hub also
	// adds "incidenthub-<id>" to find its issue again.
	Labels []string `yaml:"labels"`
	// DoneTransition names the transition (or its target status) used on
	// resolve; default "Done".
	DoneTransition string `yaml:"done_transition"`
	// ReopenTransition, when set, names the transition used if a resolved
	// incident opens again; otherwise the issue stays done and a comment
	// says so.
	ReopenTransition string `yaml:"reopen_transition"`
	// IncidentURL, when set, links the issue to the hub: "{id}" is replaced
	// by the incident id.
	IncidentURL string `yaml:"incident_url"`

	// Render overrides the default bodies.
	Render RenderFunc `yaml:"-" json:"-"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.IssueType == "" {
		c.IssueType = "Task"
	}
	if c.DoneTransition == "" {
		c.DoneTransition = "Done"
	}
	p := maps.Clone(DefaultPriority)
	maps.Copy(p, c.Priority)
	c.Priority = p
}

var projectKeyRe = regexp.MustCompile(`^[A-Z][A-Z0-9_]{1,9}$`)

// Validate reports every problem as a *remote.FieldError naming its key.
func (c Config) Validate() error {
	var p remote.Problems
	p.URL("base_url", c.BaseURL)
	if c.Email == "" {
		p.Add("email", "required")
	} else if !strings.Contains(c.Email, "@") {
		p.Add("email", "must be the Atlassian account's email address")
	}
	if c.APIToken == "" {
		p.Add("api_token", "required")
	}
	switch {
	case c.Project == "":
		p.Add("project", "required")
	case !projectKeyRe.MatchString(c.Project):
		p.Add("project", "%q is not a project key (e.g. OPS)", c.Project)
	}
	if c.IssueType == "" {
		p.Add("issue_type", "required")
	}
	if c.DoneTransition == "" {
		p.Add("done_transition", "required")
	}
	for _, k := range slices.Sorted(maps.Keys(c.Priority)) {
		if !incidenthub.Severity(k).Valid() {
			p.Add("priority."+k, "unknown hub severity (want critical, high, warning or info)")
		}
	}
	for i, l := range c.Labels {
		if strings.TrimSpace(l) == "" || len(l) > 255 {
			p.Add(fmt.Sprintf("labels[%d]", i), "must be 1 to 255 characters")
		}
	}
	if c.IncidentURL != "" {
		p.URL("incident_url", c.IncidentURL)
	}
	return p.Err()
}

// Client talks to one Jira site and project.
type Client struct {
	cfg Config
	api *remote.API
}

var _ remote.Syncer = (*Client)(nil)

// New checks cfg (after Defaults) and returns a client that sends through
// hc, which the delivery engine supplies.
func New(cfg Config, hc *http.Client) (*Client, error) {
	if hc == nil {
		return nil, errors.New("jira: nil http client")
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	secret := cfg.APIToken.Value()
	api := &remote.API{HTTP: hc, BaseURL: cfg.BaseURL, Secrets: []string{secret}, Message: errorMessage,
		Auth: func(r *http.Request) { r.SetBasicAuth(cfg.Email, secret) }}
	return &Client{cfg: cfg, api: api}, nil
}

// Notify syncs the issue to n's incident (the delivery engine's Notifier),
// keeping the issue key and what was synced in n.Ref.
func (c *Client) Notify(ctx context.Context, n *incidenthub.Notification) (bool, error) {
	return remote.Notify(ctx, c, n)
}

// Verify checks the credentials (GET /rest/api/3/myself) and that the
// account can see the project (GET /rest/api/3/project/{key}); neither
// changes anything.
func (c *Client) Verify(ctx context.Context) error {
	var me struct {
		AccountID string `json:"accountId"`
		Active    bool   `json:"active"`
	}
	if err := c.api.Do(ctx, "jira: verify credentials", http.MethodGet, "/rest/api/3/myself", nil, &me); err != nil {
		return err
	}
	if me.AccountID == "" {
		return httperr.Permanent("jira: verify credentials", "no account in the answer to /myself")
	}
	var p struct {
		Key string `json:"key"`
	}
	return c.api.Do(ctx, "jira: verify project", http.MethodGet, "/rest/api/3/project/"+url.PathEscape(c.cfg.Project), nil, &p)
}

// Label is the label the hub puts on an incident's issue.
func Label(inc incidenthub.Incident) string { return "incidenthub-" + strconv.FormatInt(inc.ID, 10) }

// Sync brings the issue to the incident's current state. Without a stored
// issue key it first searches the project for the hub's label (a create
// whose answer was lost), else creates the issue. A change of status,
// severity or alert count adds one comment; resolving transitions the issue
// to DoneTransition, an incident open again after resolve uses
// ReopenTransition if set. A sync with nothing new sends nothing.
//
// On error the returned Remote still carries what was done before the
// failing call, so the engine can store it and the retry does not repeat it.
func (c *Client) Sync(ctx context.Context, s State) (Remote, error) {
	inc := s.Incident
	ids := remote.CloneMap(s.Remote)
	synced := remote.CloneMap(s.Last)
	out := func() Remote {
		r := Remote{IDs: ids, Synced: synced}
		if k := ids["issue_key"]; k != "" {
			r.URL = c.cfg.BaseURL + "/browse/" + k
		}
		return r
	}
	current := map[string]string{
		"status":      string(inc.Status),
		"severity":    string(inc.Severity),
		"alert_count": strconv.Itoa(inc.AlertCount),
	}

	if ids["issue_key"] == "" {
		key, id, err := c.findIssue(ctx, inc)
		if err != nil {
			return out(), err
		}
		if key == "" {
			if key, id, err = c.createIssue(ctx, s); err != nil {
				return out(), err
			}
		}
		ids["issue_key"], ids["issue_id"] = key, id
		maps.Copy(synced, current)
		synced["workflow"] = "open"
	} else if changes := diff(synced, current); len(changes) > 0 {
		if err := c.comment(ctx, ids["issue_key"], s, changes); err != nil {
			return out(), err
		}
		maps.Copy(synced, current)
	}

	want := "open"
	if inc.Status == incidenthub.IncidentResolved {
		want = "done"
	}
	have := synced["workflow"]
	if have == "" {
		have = "open"
	}
	if want != have {
		name := c.cfg.DoneTransition
		if want == "open" {
			name = c.cfg.ReopenTransition
		}
		if name != "" {
			if err := c.transition(ctx, ids["issue_key"], name, want == "done"); err != nil {
				return out(), err
			}
		}
		synced["workflow"] = want
	}
	return out(), nil
}

// diff lists what changed, in a fixed order, as "key: old → new".
func diff(last, cur map[string]string) []string {
	var out []string
	for _, k := range []string{"status", "severity", "alert_count"} {
		if last[k] != cur[k] {
			out = append(out, k)
		}
	}
	return out
}

func (c *Client) findIssue(ctx context.Context, inc incidenthub.Incident) (key, id string, err error) {
	jql := fmt.Sprintf(`project = "%s" AND labels = "%s"`, c.cfg.Project, Label(inc))
	q := url.Values{"jql": {jql}, "fields": {"summary"}, "maxResults": {"1"}}
	var res struct {
		Issues []struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		} `json:"issues"`
	}
	if err := c.api.Do(ctx, "jira: search issue", http.MethodGet, "/rest/api/3/search/jql?"+q.Encode(), nil, &res); err != nil {
		return "", "", err
	}
	if len(res.Issues) == 0 {
		return "", "", nil
	}
	return res.Issues[0].Key, res.Issues[0].ID, nil
}

// CreateBody is the default body of POST /rest/api/3/issue.
func (c *Client) CreateBody(s State) map[string]any {
	inc := s.Incident
	labels := []string{"incidenthub", Label(inc)}
	for _, l := range c.cfg.Labels {
		l = labelRe.ReplaceAllString(strings.TrimSpace(l), "_")
		if !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
	}
	fields := map[string]any{
		"project":     map[string]any{"key": c.cfg.Project},
		"issuetype":   map[string]any{"name": c.cfg.IssueType},
		"summary":     Summary(inc),
		"description": c.description(s),
		"labels":      labels,
	}
	if p := c.cfg.Priority[string(inc.Severity)]; p != "" {
		fields["priority"] = map[string]any{"name": p}
	}
	return map[string]any{"fields": fields}
}

var labelRe = regexp.MustCompile(`\s+`)

// Summary is the issue summary: the incident title on one line, at most
// MaxSummary characters.
func Summary(inc incidenthub.Incident) string {
	s := strings.Join(strings.Fields(inc.Title), " ")
	if s == "" {
		s = fmt.Sprintf("%s incident #%d", inc.Service, inc.ID)
	}
	return truncate(s, MaxSummary)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func (c *Client) description(s State) map[string]any {
	inc := s.Incident
	var blocks []map[string]any
	intro := []map[string]any{text(fmt.Sprintf("Opened by Incident Hub from correlated alerts (incident #%d).", inc.ID))}
	if u := c.incidentURL(inc); u != "" {
		intro = append(intro, text(" "), link("View in Incident Hub", u))
	}
	blocks = append(blocks, paragraph(intro...))
	facts := [][2]string{
		{"Service", inc.Service},
		{"Alert type", inc.AlertType},
		{"Severity", string(inc.Severity)},
		{"Environment", inc.Environment},
		{"Alerts", fmt.Sprintf("%d (%d firing)", inc.AlertCount, inc.FiringCount)},
		{"Hosts", strings.Join(inc.Hosts, ", ")},
		{"Correlation key", inc.CorrelationKey},
	}
	if !inc.OpenedAt.IsZero() {
		facts = append(facts, [2]string{"Opened", inc.OpenedAt.UTC().Format("2006-01-02 15:04:05 MST")})
	}
	var items []map[string]any
	for _, f := range facts {
		if f[1] != "" {
			items = append(items, map[string]any{"type": "listItem", "content": []any{paragraph(strong(f[0]+": "), text(f[1]))}})
		}
	}
	blocks = append(blocks, map[string]any{"type": "bulletList", "content": items})
	if a := s.Alert; a != nil && strings.TrimSpace(a.Description) != "" {
		blocks = append(blocks, paragraph(strong("Latest alert: "), text(a.Title)))
		blocks = append(blocks, map[string]any{"type": "codeBlock", "content": []any{text(a.Description)}})
	}
	return doc(blocks...)
}

func (c *Client) incidentURL(inc incidenthub.Incident) string {
	if c.cfg.IncidentURL == "" {
		return ""
	}
	return strings.ReplaceAll(c.cfg.IncidentURL, "{id}", strconv.FormatInt(inc.ID, 10))
}

// ADF building blocks. Text nodes must not be empty.
func doc(blocks ...map[string]any) map[string]any {
	content := make([]any, len(blocks))
	for i, b := range blocks {
		content[i] = b
	}
	return map[string]any{"type": "doc", "version": 1, "content": content}
}

func paragraph(nodes ...map[string]any) map[string]any {
	content := make([]any, 0, len(nodes))
	for _, n := range nodes {
		if t, _ := n["text"].(string); t != "" {
			content = append(content, n)
		}
	}
	return map[string]any{"type": "paragraph", "content": content}
}

func text(s string) map[string]any { return map[string]any{"type": "text", "text": s} }

func strong(s string) map[string]any {
	return map[string]any{"type": "text", "text": s, "marks": []any{map[string]any{"type": "strong"}}}
}

func link(s, href string) map[string]any {
	return map[string]any{"type": "text", "text": s, "marks": []any{map[string]any{"type": "link", "attrs": map[string]any{"href": href}}}}
}

func (c *Client) createIssue(ctx context.Context, s State) (key, id string, err error) {
	body, err := c.render(OpCreate, s, c.CreateBody(s))
	if err != nil {
		return "", "", err
	}
	keepLabel(body, Label(s.Incident))
	var res struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	if err := c.api.Do(ctx, "jira: create issue", http.MethodPost, "/rest/api/3/issue", body, &res); err != nil {
		return "", "", err
	}
	if res.Key == "" {
		return "", "", httperr.Permanent("jira: create issue", "no issue key in the answer")
	}
	return res.Key, res.ID, nil
}

// keepLabel makes sure a rendered create body still carries the hub's
// label, by which a create whose answer was lost is found again.
func keepLabel(body map[string]any, label string) {
	fields, ok := body["fields"].(map[string]any)
	if !ok {
		return
	}
	var labels []any
	switch l := fields["labels"].(type) {
	case []any:
		labels = l
	case []string:
		for _, x := range l {
			labels = append(labels, x)
		}
	}
	if !slices.Contains(labels, any(label)) {
		fields["labels"] = append(labels, label)
	}
}

// CommentBody is the default body of a change comment.
func (c *Client) CommentBody(s State, changes []string) map[string]any {
	inc := s.Incident
	last := s.Last
	var lines []map[string]any
	for _, ch := range changes {
		switch ch {
		case "status":
			switch inc.Status {
			case incidenthub.IncidentResolved:
				lines = append(lines, paragraph(text("Incident Hub resolved this incident: all alerts have cleared.")))
			case incidenthub.IncidentAcknowledged:
				lines = append(lines, paragraph(text("The incident was acknowledged in Incident Hub.")))
			default:
				if last["status"] == string(incidenthub.IncidentResolved) {
					lines = append(lines, paragraph(text("The incident is open again: alerts are firing.")))
				} else {
					lines = append(lines, paragraph(text(fmt.Sprintf("Status changed from %s to %s.", last["status"], inc.Status))))
				}
			}
		case "severity":
			lines = append(lines, paragraph(text(fmt.Sprintf("Severity changed from %s to %s.", orUnknown(last["severity"]), inc.Severity))))
		case "alert_count":
			lines = append(lines, paragraph(text(fmt.Sprintf("Alerts: %d (%d firing), previously %s.", inc.AlertCount, inc.FiringCount, orUnknown(last["alert_count"])))))
		}
	}
	if len(inc.Hosts) > 0 && slices.Contains(changes, "alert_count") {
		lines = append(lines, paragraph(strong("Hosts: "), text(strings.Join(inc.Hosts, ", "))))
	}
	return map[string]any{"body": doc(lines...)}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func (c *Client) comment(ctx context.Context, key string, s State, changes []string) error {
	body, err := c.render(OpComment, s, c.CommentBody(s, changes))
	if err != nil {
		return err
	}
	var res struct {
		ID string `json:"id"`
	}
	return c.api.Do(ctx, "jira: add comment", http.MethodPost, "/rest/api/3/issue/"+url.PathEscape(key)+"/comment", body, &res)
}

type transitionsResponse struct {
	Transitions []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		To   struct {
			Name string `json:"name"`
		} `json:"to"`
	} `json:"transitions"`
}

// transition moves the issue by the transition named name (or leading to
// the status named name). It does nothing when the issue is already in the
// wanted status category (done when toDone, else not done), e.g. closed by
// hand.
func (c *Client) transition(ctx context.Context, key, name string, toDone bool) error {
	path := "/rest/api/3/issue/" + url.PathEscape(key)
	var issue struct {
		Fields struct {
			Status struct {
				Name           string `json:"name"`
				StatusCategory struct {
					Key string `json:"key"`
				} `json:"statusCategory"`
			} `json:"status"`
		} `json:"fields"`
	}
	if err := c.api.Do(ctx, "jira: get issue status", http.MethodGet, path+"?fields=status", nil, &issue); err != nil {
		return err
	}
	if (issue.Fields.Status.StatusCategory.Key == "done") == toDone {
		return nil
	}
	var tr transitionsResponse
	if err := c.api.Do(ctx, "jira: list transitions", http.MethodGet, path+"/transitions", nil, &tr); err != nil {
		return err
	}
	id := ""
	var names []string
	for _, t := range tr.Transitions {
		names = append(names, strconv.Quote(t.Name))
		if id == "" && (strings.EqualFold(t.Name, name) || strings.EqualFold(t.To.Name, name)) {
			id = t.ID
		}
	}
	if id == "" {
		return httperr.Permanent("jira: transition issue", fmt.Sprintf("no transition named %q from status %q of %s (available: %s)",
			name, issue.Fields.Status.Name, key, strings.Join(names, ", ")))
	}
	body := map[string]any{"transition": map[string]any{"id": id}}
	return c.api.Do(ctx, "jira: transition issue", http.MethodPost, path+"/transitions", body, nil)
}

func (c *Client) render(op string, s State, body map[string]any) (map[string]any, error) {
	if c.cfg.Render == nil {
		return body, nil
	}
	out, err := c.cfg.Render(op, s, body)
	if err != nil {
		return nil, httperr.Permanent("jira: render "+op, err.Error())
	}
	return out, nil
}

// errorMessage extracts Jira's {"errorMessages":[...],"errors":{field:msg}}.
func errorMessage(resp *http.Response, b []byte) string {
	var e struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
	}
	if !remote.IsJSON(resp.Header.Get("Content-Type")) || json.Unmarshal(b, &e) != nil || (len(e.ErrorMessages) == 0 && len(e.Errors) == 0) {
		return httperr.Body(b)
	}
	parts := slices.Clone(e.ErrorMessages)
	for _, k := range slices.Sorted(maps.Keys(e.Errors)) {
		parts = append(parts, k+": "+e.Errors[k])
	}
	return strings.Join(parts, "; ")
}

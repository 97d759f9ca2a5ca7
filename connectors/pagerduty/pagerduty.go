// Package pagerduty pages through the PagerDuty Events API v2: it triggers
// an alert when a hub incident opens, acknowledges it when the incident is
// acknowledged, and resolves it when the incident resolves, all with one
// dedup_key per hub incident.
//
// The Events API authenticates by the routing key inside the event body and
// has no side-effect-free credential check, so Verify only validates the
// key's format; a wrong but well-formed key shows up on the first event.
package pagerduty

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/httperr"
	"github.com/incidenthub/incidenthub/internal/remote"
)

// DefaultURL is the Events API v2 endpoint.
const DefaultURL = "https://events.pagerduty.com/v2/enqueue"

// MaxSummary is the longest payload.summary PagerDuty accepts.
const MaxSummary = 1024

// MaxDedupKey is the longest dedup_key PagerDuty accepts.
const MaxDedupKey = 255

// Event actions.
const (
	ActionTrigger     = "trigger"
	ActionAcknowledge = "acknowledge"
	ActionResolve     = "resolve"
)

// PagerDuty severities.
var severities = []string{"critical", "error", "warning", "info"}

// DefaultSeverity maps hub severities to PagerDuty's.
var DefaultSeverity = map[string]string{
	string(incidenthub.SeverityCritical): "critical",
	string(incidenthub.SeverityHigh):     "error",
	string(incidenthub.SeverityWarning):  "warning",
	string(incidenthub.SeverityInfo):     "info",
}

// routingKeyRe is the shape of an Events API v2 integration or
// orchestration routing key: 32 letters and digits.
var routingKeyRe = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)

// RenderFunc builds the event body to send. action is the event_action
// ("trigger", "acknowledge", "resolve"); body is the default event, which
// the function may modify and return. The result is sent as JSON.
type RenderFunc = remote.RenderFunc

// State is what the delivery engine knows when it asks for a sync. Remote
// holds "dedup_key"; Last holds the "status" and "severity" last sent.
// The dedup_key already makes events idempotent.
type State = remote.State

// Remote is the result of a sync.
type Remote = remote.Result

// Config configures one PagerDuty connector.
type Config struct {
	// RoutingKey is the Events API v2 integration key of the service (or
	// an event orchestration's routing key).
	RoutingKey remote.Secret `yaml:"routing_key"`
	// URL is the enqueue endpoint; DefaultURL unless testing.
	URL string `yaml:"url"`
	// Severity maps hub severities (critical, high, warning, info) to
	// PagerDuty's (critical, error, warning, info); unset keys use
	// DefaultSeverity.
	Severity map[string]string `yaml:"severity"`
	// Client is shown in PagerDuty as the event's sender.
	Client string `yaml:"client"`
	// IncidentURL, when set, links the alert back to the hub: "{id}" is
	// replaced by the incident id, e.g. https://hub.example.com/incidents/{id}.
	IncidentURL string `yaml:"incident_url"`

	// Render, when set, replaces the default event body (the outbound
	// mapping seam).
	Render RenderFunc `yaml:"-" json:"-"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.Client == "" {
		c.Client = "Incident Hub"
	}
	sev := maps.Clone(DefaultSeverity)
	maps.Copy(sev, c.Severity)
	c.Severity = sev
}

// Validate reports every problem as a *remote.FieldError naming its key.
func (c Config) Validate() error {
	var p remote.Problems
	switch {
	case c.RoutingKey == "":
		p.Add("routing_key", "required")
	case !routingKeyRe.MatchString(c.RoutingKey.Value()):
		p.Add("routing_key", "must be the 32-character integration key of an Events API v2 integration")
	}
	p.URL("url", c.URL)
	for _, k := range slices.Sorted(maps.Keys(c.Severity)) {
		if !incidenthub.Severity(k).Valid() {
			p.Add("severity."+k, "unknown hub severity (want critical, high, warning or info)")
		} else if !slices.Contains(severities, c.Severity[k]) {
			p.Add("severity."+k, "%q is not a PagerDuty severity (want one of %s)", c.Severity[k], strings.Join(severities, ", "))
		}
	}
	if c.IncidentURL != "" {
		p.URL("incident_url", c.IncidentURL)
	}
	return p.Err()
}

// Client sends events for one configured PagerDuty service.
type Client struct {
	cfg Config
	hc  *http.Client
}

// New checks cfg (after Defaults) and returns a client that sends through
// hc, which the delivery engine supplies.
func New(cfg Config, hc *http.Client) (*Client, error) {
	if hc == nil {
		return nil, errors.New("pagerduty: nil http client")
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, hc: hc}, nil
}

var _ remote.Syncer = (*Client)(nil)

// Notify sends the events that bring the alert to n's incident (the
// delivery engine's Notifier), keeping the dedup_key in n.Ref.
func (c *Client) Notify(ctx context.Context, n *incidenthub.Notification) (bool, error) {
	return remote.Notify(ctx, c, n)
}

// Verify validates the routing key's format. The Events API offers no
// credential check without sending an event, so nothing is sent.
func (c *Client) Verify(ctx context.Context) error {
	if !routingKeyRe.MatchString(c.cfg.RoutingKey.Value()) {
		return httperr.Permanent("pagerduty: verify", "routing_key is not a 32-character Events API v2 key")
	}
	return nil
}

// DedupKey is the dedup_key used for an incident: "incidenthub-<id>". It is
// per hub incident, not per correlation key, so a late resolve for an old
// incident can never resolve the page of a newer incident with the same key.
func DedupKey(inc incidenthub.Incident) string {
	return "incidenthub-" + strconv.FormatInt(inc.ID, 10)
}

// Sync brings the PagerDuty alert to the incident's current state:
// trigger when first seen open (or on a severity change, which PagerDuty
// de-duplicates into the same alert), acknowledge when acknowledged,
// resolve when resolved. An incident resolved before it was ever triggered
// pages nobody. A sync with nothing new sends nothing.
//
// On error the returned Remote still carries what was done before the
// failing call (IDs and Synced), so the engine can store it and the retry
// does not repeat it.
func (c *Client) Sync(ctx context.Context, s State) (Remote, error) {
	key := s.Remote["dedup_key"]
	triggered := key != ""
	if !triggered {
		key = DedupKey(s.Incident)
	}
	inc := s.Incident
	lastStatus, lastSev := s.Last["status"], s.Last["severity"]
	var actions []string
	switch inc.Status {
	case incidenthub.IncidentResolved:
		if triggered && lastStatus != string(incidenthub.IncidentResolved) {
			actions = []string{ActionResolve}
		}
	case incidenthub.IncidentAcknowledged:
		if !triggered || lastStatus == string(incidenthub.IncidentResolved) || lastSev != string(inc.Severity) {
			actions = append(actions, ActionTrigger)
		}
		if !triggered || lastStatus != string(incidenthub.IncidentAcknowledged) {
			actions = append(actions, ActionAcknowledge)
		}
	default:
		if !triggered || lastStatus == string(incidenthub.IncidentResolved) || lastSev != string(inc.Severity) {
			actions = []string{ActionTrigger}
		}
	}

	ids := maps.Clone(s.Remote)
	if ids == nil {
		ids = map[string]string{}
	}
	synced := maps.Clone(s.Last)
	if synced == nil {
		synced = map[string]string{}
	}
	for _, action := range actions {
		got, err := c.send(ctx, action, key, s)
		if err != nil {
			return Remote{IDs: ids, Synced: synced}, err
		}
		if got != "" {
			key = got
		}
		ids["dedup_key"] = key
		if action == ActionTrigger {
			synced["severity"] = string(inc.Severity)
			synced["status"] = string(incidenthub.IncidentOpen)
		} else {
			synced["status"] = string(inc.Status)
		}
	}
	synced["status"] = string(inc.Status)
	synced["severity"] = string(inc.Severity)
	return Remote{IDs: ids, Synced: synced}, nil
}

// Event builds the default event body for action.
func (c *Client) Event(action, dedupKey string, s State) map[string]any {
	ev := map[string]any{
		"routing_key":  c.cfg.RoutingKey.Value(),
		"event_action": action,
		"dedup_key":    dedupKey,
	}
	if action != ActionTrigger {
		return ev
	}
	inc := s.Incident
	ev["client"] = c.cfg.Client
	if u := c.incidentURL(inc); u != "" {
		ev["client_url"] = u
		ev["links"] = []map[string]any{{"href": u, "text": fmt.Sprintf("Incident Hub incident #%d", inc.ID)}}
	}
	payload := map[string]any{
		"summary":  truncate(summary(inc), MaxSummary),
		"source":   source(inc),
		"severity": c.cfg.Severity[string(inc.Severity)],
	}
	if payload["severity"] == "" {
		payload["severity"] = "error"
	}
	if !inc.OpenedAt.IsZero() {
		payload["timestamp"] = inc.OpenedAt.UTC().Format(time.RFC3339)
	}
	if inc.Service != "" {
		payload["component"] = inc.Service
	}
	if inc.Environment != "" {
		payload["group"] = inc.Environment
	}
	if inc.AlertType != "" {
		payload["class"] = inc.AlertType
	}
	details := map[string]any{
		"incident_id":     inc.ID,
		"correlation_key": inc.CorrelationKey,
		"status":          string(inc.Status),
		"hub_severity":    string(inc.Severity),
		"alert_count":     inc.AlertCount,
		"firing_count":    inc.FiringCount,
		"event_count":     inc.EventCount,
	}
	if len(inc.Hosts) > 0 {
		details["hosts"] = inc.Hosts
	}
	if len(inc.Targets) > 0 {
		details["targets"] = inc.Targets
	}
	if a := s.Alert; a != nil {
		latest := map[string]any{"title": a.Title, "source": a.Source, "status": string(a.Status)}
		if a.Description != "" {
			latest["description"] = a.Description
		}
		if a.URL != "" {
			latest["url"] = a.URL
		}
		if len(a.Labels) > 0 {
			latest["labels"] = a.Labels
		}
		details["latest_alert"] = latest
	}
	payload["custom_details"] = details
	ev["payload"] = payload
	return ev
}

func summary(inc incidenthub.Incident) string {
	if inc.Title != "" {
		return inc.Title
	}
	if inc.Service != "" {
		return inc.Service + ": incident"
	}
	return fmt.Sprintf("Incident Hub incident #%d", inc.ID)
}

// source is the affected system: the single host when there is one, else
// the service.
func source(inc incidenthub.Incident) string {
	if len(inc.Hosts) == 1 && inc.Hosts[0] != "" {
		return inc.Hosts[0]
	}
	if inc.Service != "" {
		return inc.Service
	}
	return "incidenthub"
}

func (c *Client) incidentURL(inc incidenthub.Incident) string {
	if c.cfg.IncidentURL == "" {
		return ""
	}
	return strings.ReplaceAll(c.cfg.IncidentURL, "{id}", strconv.FormatInt(inc.ID, 10))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n-len("…")]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// response is the Events API's answer, success or error.
type response struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key"`
	Errors   []string `json:"errors"`
}

// send posts one event and returns the dedup_key PagerDuty confirmed.
func (c *Client) send(ctx context.Context, action, key string, s State) (string, error) {
	op := "pagerduty: " + action
	body := c.Event(action, key, s)
	if c.cfg.Render != nil {
		var err error
		if body, err = c.cfg.Render(action, s, body); err != nil {
			return "", httperr.Permanent(op, "render: "+err.Error())
		}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return "", httperr.Permanent(op, "encode: "+err.Error())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(raw))
	if err != nil {
		return "", httperr.Permanent(op, err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	secret := c.cfg.RoutingKey.Value()
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", httperr.Transport(op, err, secret)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var r response
	isJSON := remote.IsJSON(resp.Header.Get("Content-Type")) && json.Unmarshal(b, &r) == nil
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := httperr.Body(b)
		if isJSON && (r.Message != "" || len(r.Errors) > 0) {
			msg = strings.TrimSpace(r.Status + ": " + r.Message)
			if len(r.Errors) > 0 {
				msg += " (" + strings.Join(r.Errors, "; ") + ")"
			}
		}
		return "", httperr.FromResponse(op, resp, msg, secret)
	}
	if !isJSON || r.Status != "success" {
		return "", httperr.Temporary(op, fmt.Sprintf("unexpected answer to HTTP %d: %s", resp.StatusCode, httperr.Redact(httperr.Body(b), secret)))
	}
	return r.DedupKey, nil
}

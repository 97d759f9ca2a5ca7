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
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/httperr"
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

// Secret is a credential from config: it prints and marshals as "<secret>".
type Secret string

// Value returns the real text.
func (s Secret) Value() string { return string(s) }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<secret>"
}

// GoString hides the value from %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalJSON hides the value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML hides the value.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText hides the value from slog and other text encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// RenderFunc builds the event body to send. action is the event_action
// ("trigger", "acknowledge", "resolve"); body is the default event, which
// the function may modify and return. The result is sent as JSON.
type RenderFunc func(action string, s State, body map[string]any) (map[string]any, error)

// Config configures one PagerDuty connector.
type Config struct {
	// RoutingKey is the Events API v2 integration key of the service (or
	// an event orchestration's routing key).
	RoutingKey Secret `yaml:"routing_key"`
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
	Render RenderFunc `yaml:"-"`
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

// Validate reports the first problem, naming the key.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.RoutingKey == "":
		errs = append(errs, errors.New("routing_key: required"))
	case !routingKeyRe.MatchString(c.RoutingKey.Value()):
		errs = append(errs, errors.New("routing_key: must be the 32-character integration key of an Events API v2 integration"))
	}
	if err := validURL(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("url: %w", err))
	}
	for _, k := range slices.Sorted(maps.Keys(c.Severity)) {
		if !incidenthub.Severity(k).Valid() {
			errs = append(errs, fmt.Errorf("severity.%s: unknown hub severity (want critical, high, warning or info)", k))
		} else if !slices.Contains(severities, c.Severity[k]) {
			errs = append(errs, fmt.Errorf("severity.%s: %q is not a PagerDuty severity (want one of %s)", k, c.Severity[k], strings.Join(severities, ", ")))
		}
	}
	if c.IncidentURL != "" {
		if err := validURL(c.IncidentURL); err != nil {
			errs = append(errs, fmt.Errorf("incident_url: %w", err))
		}
	}
	return errors.Join(errs...)
}

func validURL(s string) error {
	if s == "" {
		return errors.New("required")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("must be an http(s) URL")
	}
	return nil
}

// State is what the delivery engine knows when it asks for a sync.
type State struct {
	Incident incidenthub.Incident
	// Alert is the incident's latest alert, if known.
	Alert *incidenthub.Alert
	// Remote holds ids stored from earlier syncs: "dedup_key".
	Remote map[string]string
	// Last is what the previous successful sync sent: "status", "severity".
	Last map[string]string
	// IdempotencyKey identifies this delivery; PagerDuty's dedup_key
	// already makes events idempotent, so it is unused.
	IdempotencyKey string
	// Event is what happened: "incident.opened", "incident.updated", ...
	Event string
}

// Remote is the result of a sync: ids to store on the incident, what was
// synced (the next sync's State.Last), and a link to the remote object.
type Remote struct {
	IDs    map[string]string
	Synced map[string]string
	URL    string
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
	isJSON := jsonContent(resp.Header.Get("Content-Type")) && json.Unmarshal(b, &r) == nil
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

func jsonContent(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

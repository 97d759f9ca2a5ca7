// Package slack posts incidents to a Slack channel with slack-go: one
// message per incident, posted when the target first hears of it and
// updated in place (chat.update with the stored ts) as the incident
// changes, with a short thread reply for significant changes.
package slack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/httperr"
)

// Ref keys this connector keeps in Notification.Ref.
const (
	RefChannel = "channel"
	RefTS      = "ts"
	// RefReplied holds the id of the last notification whose thread reply
	// was posted, so a retry does not reply twice.
	RefReplied = "replied"
	// RefUnsure holds the id of the notification whose post or reply may
	// have reached Slack unanswered (no answer, a 5xx, a lookup that failed):
	// its next attempt looks for it before posting (recover.go).
	RefUnsure = "unsure"
)

// Action ids of an incident message's buttons (in the block
// ActionsBlockID); each button's value is the incident id.
const (
	ActionAcknowledge = "incident_acknowledge"
	ActionResolve     = "incident_resolve"
	ActionReopen      = "incident_reopen"
	ActionSilence     = "incident_silence_1h"
	ActionsBlockID    = "incident_actions"
)

// Client notifies one Slack channel.
type Client struct {
	api         *slackapi.Client
	channel     string
	publicURL   string
	interactive bool
	rec         recovery
}

// New returns a client for cfg that sends with hc (which carries the
// timeout and the SSRF guard).
func New(cfg Config, hc *http.Client) (*Client, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	api := slackapi.New(cfg.Token, slackapi.OptionAPIURL(cfg.APIURL), slackapi.OptionHTTPClient(cappedRetryAfter(hc)))
	return &Client{api: api, channel: cfg.Channel, publicURL: strings.TrimRight(cfg.PublicURL, "/"), interactive: cfg.Interactive}, nil
}

// Verify checks the token with auth.test, which changes nothing. (Whether
// the bot may post to the channel shows on the first message: checking it
// needs scopes beyond chat:write.)
func (c *Client) Verify(ctx context.Context) error {
	if _, err := c.api.AuthTestContext(ctx); err != nil {
		_, err := classify(err)
		return err
	}
	return nil
}

// SendEvent posts an operational event's text to the channel as a
// message of its own (chat.postMessage).
func (c *Client) SendEvent(ctx context.Context, ev *incidenthub.Event) error {
	if ev.Text == "" {
		return fmt.Errorf("%s event: no text to post", ev.Type)
	}
	md := slackapi.MsgOptionMetadata(slackapi.SlackMetadata{EventType: MetadataEventTypeEvent, EventPayload: map[string]any{"event_id": ev.ID}})
	if _, _, err := c.api.PostMessageContext(ctx, c.channel, slackapi.MsgOptionText(ev.Text, false), md); err != nil {
		_, err := classify(err)
		return fmt.Errorf("%s event: %w", ev.Type, err)
	}
	return nil
}

// Error is a failed Slack call: whether retrying may help, and how long
// Slack asked us to wait.
type Error struct {
	Retry  bool
	After  time.Duration
	Status int
	Err    error
}

func (e *Error) Error() string { return "slack: " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// RetryAfter is the wait Slack asked for (429 Retry-After); 0 if none.
func (e *Error) RetryAfter() time.Duration { return e.After }

// StatusCode is the HTTP status Slack answered with, when it was not 200.
func (e *Error) StatusCode() int { return e.Status }

// Notify brings the channel's message for the incident to n's state.
func (c *Client) Notify(ctx context.Context, n *incidenthub.Notification) (bool, error) {
	if n.Ref == nil {
		n.Ref = map[string]string{}
	}
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(Fallback(n), false), slackapi.MsgOptionBlocks(Blocks(n, c.publicURL, c.interactive)...)}
	channel, ts := n.Ref[RefChannel], n.Ref[RefTS]
	if ts != "" {
		_, _, _, err := c.api.UpdateMessageContext(ctx, channel, ts, opts...)
		var se slackapi.SlackErrorResponse
		if errors.As(err, &se) && (se.Err == "message_not_found" || se.Err == "channel_not_found") {
			ts = "" // deleted by someone: post a fresh message
		} else if err != nil {
			return classify(err)
		}
	}
	unsure := n.Uncertain || n.Ref[RefUnsure] == n.ID
	if ts == "" {
		if unsure {
			// An earlier attempt may have posted it: adopt that message.
			found, err := c.findPosted(ctx, n, c.channel, "")
			if err != nil {
				n.Ref[RefUnsure] = n.ID // look again next time
				return true, err
			}
			if found != "" {
				n.Ref[RefChannel], n.Ref[RefTS] = c.channel, found
				delete(n.Ref, RefUnsure)
				return false, nil
			}
		}
		ch, newTS, err := c.api.PostMessageContext(ctx, c.channel, append(opts, metadata(n))...)
		if err != nil {
			unsureAfter(n, err)
			return classify(err)
		}
		n.Ref[RefChannel], n.Ref[RefTS] = ch, newTS
		delete(n.Ref, RefUnsure)
		return false, nil // a new message shows the whole state: no reply needed
	}
	if reply := Reply(n); reply != "" && n.Ref[RefReplied] != n.ID {
		if unsure {
			found, err := c.findPosted(ctx, n, channel, ts)
			if err != nil {
				n.Ref[RefUnsure] = n.ID
				return true, err
			}
			if found != "" {
				n.Ref[RefReplied] = n.ID
				delete(n.Ref, RefUnsure)
				return false, nil
			}
		}
		if _, _, err := c.api.PostMessageContext(ctx, channel, slackapi.MsgOptionText(reply, false), slackapi.MsgOptionTS(ts), metadata(n)); err != nil {
			unsureAfter(n, err)
			return classify(err)
		}
		n.Ref[RefReplied] = n.ID
	}
	delete(n.Ref, RefUnsure)
	return false, nil
}

// retryableAPIErrors are Web API error codes that mean "try again later".
var retryableAPIErrors = map[string]bool{
	"ratelimited": true, "internal_error": true, "fatal_error": true, "service_unavailable": true,
	"request_timeout": true, "team_added_to_org": true,
}

func classify(err error) (bool, error) {
	var (
		rl  *slackapi.RateLimitedError
		sc  slackapi.StatusCodeError
		se  slackapi.SlackErrorResponse
		ne  net.Error
		out = &Error{Err: err}
	)
	switch {
	case errors.As(err, &rl):
		out.Retry, out.After, out.Status = true, httperr.CapRetryAfter(rl.RetryAfter), http.StatusTooManyRequests
	case errors.As(err, &sc):
		out.Retry, out.Status = sc.Code >= 500 || sc.Code == http.StatusRequestTimeout || sc.Code == http.StatusTooManyRequests, sc.Code
	case errors.As(err, &se):
		out.Retry = retryableAPIErrors[se.Err]
	case isRefused(err):
		out.Retry = false
	case errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		out.Retry = true
	default:
		// Transport errors (reset, EOF, DNS) are worth another try.
		out.Retry = true
	}
	return out.Retry, out
}

func isRefused(err error) bool {
	var r interface{ Refused() bool }
	return errors.As(err, &r) && r.Refused()
}

// Significant reports whether a change earns a thread reply.
func significant(n *incidenthub.Notification) bool {
	switch n.Event {
	case incidenthub.EventAcknowledged, incidenthub.EventResolved, incidenthub.EventReopened:
		return true
	}
	for _, c := range n.Changes {
		if c == incidenthub.ChangeSeverityRaised {
			return true
		}
	}
	return false
}

// Reply is the thread reply for a significant change, "" for others.
func Reply(n *incidenthub.Notification) string {
	if !significant(n) {
		return ""
	}
	inc := n.Incident
	switch n.Event {
	case incidenthub.EventResolved:
		by := ""
		if inc.ResolvedBy != "" {
			by = " by " + mention(inc.ResolvedBy)
		}
		return fmt.Sprintf(":white_check_mark: Resolved%s after %s.", by, inc.LastSeenAt.Sub(inc.OpenedAt).Round(time.Second))
	case incidenthub.EventAcknowledged:
		if inc.AcknowledgedBy != "" {
			return ":eyes: Acknowledged by " + mention(inc.AcknowledgedBy) + "."
		}
		return ":eyes: Acknowledged."
	case incidenthub.EventReopened:
		return ":rotating_light: Reopened: firing again."
	}
	return fmt.Sprintf(":arrow_up: Severity raised to *%s*.", inc.Severity)
}

var statusEmoji = map[incidenthub.IncidentStatus]string{
	incidenthub.IncidentOpen: ":red_circle:", incidenthub.IncidentAcknowledged: ":large_yellow_circle:",
	incidenthub.IncidentResolved: ":large_green_circle:",
}

// Fallback is the plain text shown in notifications and by clients that
// cannot render blocks.
func Fallback(n *incidenthub.Notification) string {
	inc := n.Incident
	return fmt.Sprintf("[%s] %s — %s (%s)", strings.ToUpper(string(inc.Severity)), inc.Title, inc.Service, inc.Status)
}

// Blocks renders the incident as Block Kit: title, severity, service,
// status, alert count, who acknowledged or resolved it and when, links,
// and, when interactive, the buttons that act on it.
func Blocks(n *incidenthub.Notification, publicURL string, interactive bool) []slackapi.Block {
	inc := n.Incident
	title := inc.Title
	if len(title) > 140 {
		title = title[:140]
	}
	field := func(k, v string) *slackapi.TextBlockObject {
		return slackapi.NewTextBlockObject(slackapi.MarkdownType, "*"+k+"*\n"+v, false, false)
	}
	blocks := []slackapi.Block{
		slackapi.NewHeaderBlock(slackapi.NewTextBlockObject(slackapi.PlainTextType, statusEmoji[inc.Status]+" "+title, true, false)),
		slackapi.NewSectionBlock(nil, []*slackapi.TextBlockObject{
			field("Severity", string(inc.Severity)),
			field("Service", orDash(inc.Service)),
			field("Status", string(inc.Status)),
			field("Alerts", strconv.Itoa(inc.FiringCount)+" firing of "+strconv.Itoa(inc.AlertCount)),
		}, nil),
	}
	var links []string
	if publicURL != "" {
		links = append(links, fmt.Sprintf("<%s/ui/incidents/%d|Incident #%d>", publicURL, inc.ID, inc.ID))
	} else {
		links = append(links, fmt.Sprintf("Incident #%d", inc.ID))
	}
	if n.LatestAlert != nil && n.LatestAlert.URL != "" {
		links = append(links, fmt.Sprintf("<%s|Latest alert (%s)>", n.LatestAlert.URL, n.LatestAlert.Source))
	}
	links = append(links, "opened "+inc.OpenedAt.UTC().Format("2006-01-02 15:04 MST"))
	if who := byWhom(inc); who != "" {
		blocks = append(blocks, slackapi.NewContextBlock("by",
			slackapi.NewTextBlockObject(slackapi.MarkdownType, who, false, false)))
	}
	blocks = append(blocks, slackapi.NewContextBlock("links",
		slackapi.NewTextBlockObject(slackapi.MarkdownType, strings.Join(links, " · "), false, false)))
	if interactive {
		if b := buttons(inc); b != nil {
			blocks = append(blocks, b)
		}
	}
	return blocks
}

// byWhom says who acknowledged or resolved the incident and when, or "".
func byWhom(inc incidenthub.Incident) string {
	switch {
	case inc.Status == incidenthub.IncidentAcknowledged && inc.AcknowledgedAt != nil:
		return ":eyes: Acknowledged by " + mention(orName(inc.AcknowledgedBy)) + " " + slackDate(*inc.AcknowledgedAt)
	case inc.Status == incidenthub.IncidentResolved && inc.ResolvedAt != nil:
		if inc.ResolvedBy == "" {
			return ":white_check_mark: Resolved " + slackDate(*inc.ResolvedAt) + ": every alert resolved"
		}
		return ":white_check_mark: Resolved by " + mention(inc.ResolvedBy) + " " + slackDate(*inc.ResolvedAt)
	}
	return ""
}

func orName(actor string) string {
	if actor == "" {
		return "someone"
	}
	return actor
}

// slackDate is a time Slack shows in each reader's own time zone, with a
// UTC fallback for clients that cannot.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} at {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 MST"))
}

// buttons are the actions an incident in its status allows: Acknowledge,
// Resolve and Silence 1h while unresolved (Acknowledge only while open),
// Reopen once resolved (not once merged into another incident).
func buttons(inc incidenthub.Incident) slackapi.Block {
	id := strconv.FormatInt(inc.ID, 10)
	button := func(action, label string, style slackapi.Style) *slackapi.ButtonBlockElement {
		b := slackapi.NewButtonBlockElement(action, id, slackapi.NewTextBlockObject(slackapi.PlainTextType, label, false, false))
		if style != "" {
			b.WithStyle(style)
		}
		return b
	}
	var els []slackapi.BlockElement
	switch inc.Status {
	case incidenthub.IncidentOpen:
		els = append(els, button(ActionAcknowledge, "Acknowledge", slackapi.StylePrimary))
		fallthrough
	case incidenthub.IncidentAcknowledged:
		resolve := button(ActionResolve, "Resolve", "")
		resolve.WithConfirm(slackapi.NewConfirmationBlockObject(
			slackapi.NewTextBlockObject(slackapi.PlainTextType, "Resolve incident #"+id+"?", false, false),
			slackapi.NewTextBlockObject(slackapi.PlainTextType, "Its alerts keep their state; the next firing opens it again.", false, false),
			slackapi.NewTextBlockObject(slackapi.PlainTextType, "Resolve", false, false),
			slackapi.NewTextBlockObject(slackapi.PlainTextType, "Cancel", false, false)))
		els = append(els, resolve, button(ActionSilence, "Silence 1h", ""))
	case incidenthub.IncidentResolved:
		if inc.MergedInto != nil {
			return nil
		}
		els = append(els, button(ActionReopen, "Reopen", slackapi.StyleDanger))
	}
	if len(els) == 0 {
		return nil
	}
	return slackapi.NewActionBlock(ActionsBlockID, els...)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// Status says where an incident stands, for an answer only the asking
// user sees: status, who acknowledged or resolved it and when, severity,
// service and alert counts, with a link to the hub when publicURL is set.
func Status(inc incidenthub.Incident, publicURL string) string {
	name := fmt.Sprintf("Incident #%d", inc.ID)
	if publicURL = strings.TrimRight(publicURL, "/"); publicURL != "" {
		name = fmt.Sprintf("<%s/ui/incidents/%d|Incident #%d>", publicURL, inc.ID, inc.ID)
	}
	lines := []string{fmt.Sprintf("%s %s %s: *%s*", statusEmoji[inc.Status], name, Escape(inc.Title), inc.Status)}
	if inc.MergedInto != nil {
		lines = append(lines, fmt.Sprintf("Merged into incident #%d.", *inc.MergedInto))
	}
	if who := byWhom(inc); who != "" {
		lines = append(lines, who)
	}
	lines = append(lines, fmt.Sprintf("Severity *%s* · service %s · %d firing of %d alerts",
		inc.Severity, Escape(orDash(inc.Service)), inc.FiringCount, inc.AlertCount))
	return strings.Join(lines, "\n")
}

// cappedRetryAfter returns hc with a transport that rewrites every
// response's Retry-After to the delay-seconds httperr.ParseRetryAfter
// reads from it (capped at httperr.MaxRetryAfter), before slack-go sees
// it: slack-go multiplies the raw seconds into a time.Duration, which
// overflows (a huge value came out negative or as a few hundred
// milliseconds), and it cannot read the HTTP-date form. The attempt log
// (recorded by hc's own transport) keeps what Slack sent.
func cappedRetryAfter(hc *http.Client) *http.Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	c := *hc
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = retryAfterCap{base: base}
	return &c
}

type retryAfterCap struct{ base http.RoundTripper }

func (t retryAfterCap) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	if v := resp.Header.Get("Retry-After"); v != "" {
		wait := httperr.ParseRetryAfter(v, time.Now())
		resp.Header.Set("Retry-After", strconv.FormatInt(int64(wait/time.Second), 10))
	}
	return resp, nil
}

package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	slackapi "github.com/slack-go/slack"
)

// What a click or a slash command asks for.
const (
	VerbAcknowledge = "acknowledge"
	VerbResolve     = "resolve"
	VerbReopen      = "reopen"
	VerbSilence     = "silence"
	VerbStatus      = "status"
	VerbHelp        = "help"
)

// Kinds of interaction.
const (
	KindButton  = "block_actions" // a click on a message's button
	KindCommand = "command"       // a slash command
)

// Interaction is one click on an incident message's button or one slash
// command, as Slack sent it to the request URL.
type Interaction struct {
	// Kind is KindButton, KindCommand, or another payload type the hub
	// does not act on (shortcuts, view submissions).
	Kind string
	// Verb is what the user asks for; "" for a button the hub does not
	// know.
	Verb string
	// IncidentID is the incident acted on; 0 when the command named none.
	IncidentID int64
	// Problem, when set, is what is wrong with what the user typed (an
	// unknown verb, a missing or malformed incident id): shown to them.
	Problem string

	UserID, UserName, TeamID string
	// ChannelID is where the user acted; MessageTS the message clicked.
	ChannelID, MessageTS string
	// ResponseURL answers the user later (ephemeral messages).
	ResponseURL string
	// ActionID is the button's (buttons); Command and Text the command's.
	ActionID, Command, Text string
}

var buttonVerbs = map[string]string{
	ActionAcknowledge: VerbAcknowledge, ActionResolve: VerbResolve, ActionReopen: VerbReopen, ActionSilence: VerbSilence,
}

var commandVerbs = map[string]string{
	"ack": VerbAcknowledge, "acknowledge": VerbAcknowledge, "resolve": VerbResolve, "reopen": VerbReopen,
	"silence": VerbSilence, "status": VerbStatus, "show": VerbStatus, "help": VerbHelp,
}

// Usage is the slash command's help, for command (e.g. "/incident").
func Usage(command string) string {
	if command == "" {
		command = "/incident"
	}
	return fmt.Sprintf("`%[1]s ack <id>` acknowledges an incident, `%[1]s resolve <id>` resolves it, "+
		"`%[1]s reopen <id>` reopens it, `%[1]s silence <id>` silences its alerts for 1h, "+
		"`%[1]s status <id>` shows where it stands.", command)
}

// ParseError is a request body that is not what Slack sends.
type ParseError struct{ Msg string }

func (e *ParseError) Error() string { return e.Msg }

// Parse reads what Slack posted to the request URL (form-encoded): an
// interaction payload (payload= JSON) or a slash command's fields. A body
// that is neither is a *ParseError.
func Parse(body []byte) (*Interaction, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, &ParseError{"the body is not form-encoded: " + err.Error()}
	}
	if p := form.Get("payload"); p != "" {
		return parsePayload(p)
	}
	if form.Get("command") != "" {
		return parseCommand(form), nil
	}
	return nil, &ParseError{"the body has neither payload= (an interaction) nor command= (a slash command)"}
}

func parsePayload(p string) (*Interaction, error) {
	var cb slackapi.InteractionCallback
	if err := json.Unmarshal([]byte(p), &cb); err != nil {
		return nil, &ParseError{"payload is not an interaction payload: " + err.Error()}
	}
	in := &Interaction{Kind: string(cb.Type), UserID: cb.User.ID, UserName: firstOf(cb.User.Name, cb.User.Username),
		TeamID: firstOf(cb.Team.ID, cb.User.TeamID), ChannelID: firstOf(cb.Container.ChannelID, cb.Channel.ID),
		MessageTS: firstOf(cb.Container.MessageTs, cb.Message.Timestamp), ResponseURL: cb.ResponseURL}
	if cb.Type != slackapi.InteractionTypeBlockActions {
		return in, nil
	}
	if in.UserID == "" {
		return nil, &ParseError{"block_actions payload without user.id"}
	}
	if len(cb.ActionCallback.BlockActions) == 0 {
		return nil, &ParseError{"block_actions payload without actions"}
	}
	a := cb.ActionCallback.BlockActions[0]
	in.ActionID, in.Verb = a.ActionID, buttonVerbs[a.ActionID]
	if in.Verb != "" {
		id, err := strconv.ParseInt(a.Value, 10, 64)
		if err != nil || id <= 0 {
			in.Problem = fmt.Sprintf("the button's value %q is not an incident id", a.Value)
		}
		in.IncidentID = id
	}
	return in, nil
}

func parseCommand(form url.Values) *Interaction {
	in := &Interaction{Kind: KindCommand, UserID: form.Get("user_id"), UserName: form.Get("user_name"),
		TeamID: form.Get("team_id"), ChannelID: form.Get("channel_id"), ResponseURL: form.Get("response_url"),
		Command: form.Get("command"), Text: form.Get("text")}
	fields := strings.Fields(in.Text)
	if len(fields) == 0 {
		in.Verb = VerbHelp
		return in
	}
	verb, ok := commandVerbs[strings.ToLower(fields[0])]
	switch {
	case !ok:
		in.Problem = fmt.Sprintf("unknown command %q. %s", fields[0], Usage(in.Command))
		return in
	case verb == VerbHelp:
		in.Verb = verb
		return in
	case len(fields) != 2:
		in.Problem = fmt.Sprintf("`%s %s` takes one incident id, e.g. `%s %s 42`.", in.Command, fields[0], in.Command, fields[0])
		return in
	}
	in.Verb = verb
	id, err := strconv.ParseInt(strings.TrimPrefix(fields[1], "#"), 10, 64)
	if err != nil || id <= 0 {
		in.Problem = fmt.Sprintf("%q is not an incident id (a number, as in `%s %s 42`).", fields[1], in.Command, fields[0])
		return in
	}
	in.IncidentID = id
	return in
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// SignatureError is a request whose Slack signature does not verify.
type SignatureError struct{ Msg string }

func (e *SignatureError) Error() string { return e.Msg }

// Verify checks Slack's signature of a request (X-Slack-Signature: v0=
// the hex HMAC-SHA256 of "v0:{X-Slack-Request-Timestamp}:{body}") with
// each of secrets, the app's signing secrets valid now (the current one,
// and the previous one during a rotation's overlap), and that the
// timestamp is within five minutes of now. A failure is a
// *SignatureError naming what is wrong, never a secret.
func Verify(h http.Header, body []byte, secrets []string) error {
	tried := 0
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		tried++
		sv, err := slackapi.NewSecretsVerifier(h, secret)
		switch {
		case errors.Is(err, slackapi.ErrMissingHeaders):
			return &SignatureError{"missing X-Slack-Signature or X-Slack-Request-Timestamp: requests must come from Slack, signed with the app's signing secret"}
		case errors.Is(err, slackapi.ErrExpiredTimestamp):
			return &SignatureError{"X-Slack-Request-Timestamp is more than 5 minutes from the hub's clock: a replayed request, or a clock that is off"}
		case err != nil:
			return &SignatureError{"malformed X-Slack-Signature or X-Slack-Request-Timestamp (want v0=<64 hex digits> and Unix seconds)"}
		}
		if _, err := sv.Write(body); err != nil {
			return err
		}
		if sv.Ensure() == nil {
			return nil
		}
	}
	if tried == 0 {
		return &SignatureError{"no Slack signing secret is configured (slack.signing_secret)"}
	}
	return &SignatureError{"X-Slack-Signature does not match the body: not signed with the app's signing secret (slack.signing_secret, or the one the registry rotated to)"}
}

// Ephemeral is a message only the user who acted sees; it leaves the
// incident message as it is.
func Ephemeral(text string) *slackapi.WebhookMessage {
	return &slackapi.WebhookMessage{ResponseType: slackapi.ResponseTypeEphemeral, Text: text}
}

// ResponseURLAllowed reports whether an interaction's response_url may be
// posted to: https on slack.com or a subdomain (hooks.slack.com), or
// Slack GovSlack's, or an origin in also (scheme://host of a configured
// api_url, for a proxy or a test fake). The payload is signed, so this
// only guards against a signing secret in the wrong hands.
func ResponseURLAllowed(raw string, also []string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	for _, o := range also {
		if ou, err := url.Parse(o); err == nil && ou.Scheme == u.Scheme && ou.Host == u.Host {
			return true
		}
	}
	h := strings.ToLower(u.Hostname())
	return u.Scheme == "https" && u.Port() == "" && (h == "slack.com" || strings.HasSuffix(h, ".slack.com") ||
		h == "slack-gov.com" || strings.HasSuffix(h, ".slack-gov.com"))
}

// Respond posts msg to an interaction's response_url with hc.
func Respond(ctx context.Context, hc *http.Client, responseURL string, msg *slackapi.WebhookMessage) error {
	// slackapi.PostWebhookCustomHTTPContext does this too, but puts the
	// URL (a bearer capability) into its errors; these errors are logged.
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(b))
	if err != nil {
		return errors.New("respond to slack: bad response_url")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("respond to slack: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("respond to slack: HTTP %d", resp.StatusCode)
	}
	return nil
}

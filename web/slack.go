package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/slack"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/registry"
)

// Slack interactivity: POST /slack/interactions takes the clicks on
// incident messages' buttons (block_actions) and the slash command, both
// signed by Slack with the app's signing secret. A click acts exactly as
// the API's acknowledge, resolve and reopen do (runAction: one
// transaction with the timeline, the audit record and the outbound sync
// that updates the message), with the Slack user as the actor. The answer
// goes out within Slack's three seconds: the change is committed first,
// then a button gets an empty 200 and, when there is something to say
// (a refusal, an incident that changed meanwhile), an ephemeral message on
// the interaction's response_url; a command gets its ephemeral answer in
// the 200 itself.

// SlackMembers says whether a Slack user is a member of a channel the hub
// posts to (slack.channel_members); connectors/slack.Members implements it.
type SlackMembers interface {
	IsMember(ctx context.Context, channel, user string) (member, known bool, err error)
}

const (
	// slackBudget is how long the work of one interaction may take, so the
	// answer is out within Slack's 3 seconds even when the store is slow
	// (the work then fails, and the user is told to try again).
	slackBudget = 2500 * time.Millisecond
	// slackMembersTimeout bounds a membership lookup, inside Slack's 3 s.
	slackMembersTimeout = 1500 * time.Millisecond
	// slackRespondTimeout bounds an answer on the response_url (after the
	// 200, so outside Slack's 3 s).
	slackRespondTimeout = 10 * time.Second
	// maxSlackBody bounds a request: block_actions payloads carry the
	// whole message, far below this.
	maxSlackBody = 1 << 20
)

// Levels of what a Slack user may do.
const (
	slackNobody = iota
	slackStatus
	slackAcknowledge
	slackOperate
)

var slackNeeds = map[string]int{
	slack.VerbStatus: slackStatus, slack.VerbAcknowledge: slackAcknowledge,
	slack.VerbResolve: slackOperate, slack.VerbReopen: slackOperate, slack.VerbSilence: slackOperate,
}

var slackRoleLevels = map[string]int{
	config.RoleViewer: slackStatus, config.RoleOperator: slackOperate, config.RoleAdmin: slackOperate,
}

var slackChannelLevels = map[string]int{
	config.ChannelMembersNone: slackNobody, config.ChannelMembersViewer: slackStatus,
	config.ChannelMembersAcknowledge: slackAcknowledge, config.ChannelMembersOperator: slackOperate,
}

var slackNeedNames = map[int]string{slackStatus: "viewer", slackAcknowledge: "operator (or slack.channel_members: acknowledge)", slackOperate: "operator"}

func (s *server) slackInteractions(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), slackBudget)
	defer cancel()
	cfg := s.Config()
	if !cfg.Slack.Enabled() {
		s.fail(c, incidenthub.Errorf(incidenthub.ENOTFOUND, "Slack interactivity is not configured: set slack.signing_secret"))
		return
	}
	if ct := strings.ToLower(c.ContentType()); ct != "application/x-www-form-urlencoded" {
		s.fail(c, incidenthub.Errorf(incidenthub.EUNSUPPORTED, "content type %q is not what Slack sends: application/x-www-form-urlencoded", c.GetHeader("Content-Type")))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxSlackBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.fail(c, incidenthub.Errorf(incidenthub.ETOOLARGE, "body exceeds %d bytes", maxSlackBody))
			return
		}
		s.fail(c, incidenthub.Errorf(incidenthub.EINVALID, "read body: %v", err))
		return
	}
	secrets, err := s.slackSecrets(ctx, cfg)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := slack.Verify(c.Request.Header, body, secrets); err != nil {
		if s.Webhooks != nil {
			s.Webhooks.AuthFailed(ctx, config.SlackRegistryName, s.clientIP(c))
		}
		var se *slack.SignatureError
		if errors.As(err, &se) {
			err = incidenthub.Errorf(incidenthub.EUNAUTHORIZED, "%s", se.Msg)
		}
		s.fail(c, err)
		return
	}
	in, err := slack.Parse(body)
	if err != nil {
		s.fail(c, incidenthub.Errorf(incidenthub.EINVALID, "%v", err))
		return
	}
	if s.Webhooks != nil {
		if err := s.Webhooks.RecordDelivery(ctx, registry.Inbound, config.SlackRegistryName, nil); err != nil {
			s.Log.Warn("registry: record slack interaction", "err", err)
		}
	}
	switch in.Kind {
	case slack.KindCommand:
		c.JSON(http.StatusOK, slack.Ephemeral(s.slackAct(ctx, cfg, in, c.GetString("request_id"))))
	case slack.KindButton:
		text := s.slackAct(ctx, cfg, in, c.GetString("request_id"))
		// The change is committed: answer Slack now (a complete, empty
		// response), then tell the user what there is to tell.
		c.Header("Content-Length", "0")
		c.Status(http.StatusOK)
		c.Writer.WriteHeaderNow()
		c.Writer.Flush()
		if text != "" {
			s.slackRespond(ctx, cfg, in, text)
		}
	default:
		// Shortcuts, view submissions: nothing the hub offers.
		c.Status(http.StatusOK)
	}
}

// slackSecrets returns the signing secrets valid now: the registry's once
// it has rotated slack-app (the current one, and the previous one during
// the overlap), the config's before.
func (s *server) slackSecrets(ctx context.Context, cfg *config.Config) ([]string, error) {
	initial := cfg.Slack.SigningSecret.Value()
	if s.Webhooks == nil {
		return []string{initial}, nil
	}
	secrets, rotated, err := s.Webhooks.Secrets(ctx, registry.Inbound, config.SlackRegistryName)
	if errors.Is(err, registry.ErrUndecryptable) { // flagged and logged once by the registry
		return nil, incidenthub.Errorf(incidenthub.EUNAVAILABLE, "cannot check Slack's signature: the stored signing secret cannot be decrypted with this hub's keys (see /readyz); retry later")
	}
	if err != nil {
		s.Log.Error("look up the slack signing secret", "err", err)
		return nil, incidenthub.Errorf(incidenthub.EUNAVAILABLE, "cannot check Slack's signature right now; retry later")
	}
	if !rotated {
		return []string{initial}, nil
	}
	return secrets, nil
}

// slackRespond posts text, ephemeral, to the interaction's response_url.
func (s *server) slackRespond(ctx context.Context, cfg *config.Config, in *slack.Interaction, text string) {
	var origins []string
	for _, t := range cfg.Targets {
		if t.Type == config.TargetSlack && t.APIURL != "" {
			origins = append(origins, t.APIURL)
		}
	}
	if !slack.ResponseURLAllowed(in.ResponseURL, origins) {
		s.Log.Warn("slack: response_url is not Slack's; not answered", "user", in.UserID)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), slackRespondTimeout)
	defer cancel()
	if err := slack.Respond(ctx, s.slackHTTP, in.ResponseURL, slack.Ephemeral(text)); err != nil {
		s.Log.Warn("slack: answer on response_url", "user", in.UserID, "err", err)
	}
}

// slackAct does what the interaction asks, if its user may, and returns
// what to tell them ("" for a click that did what it said: the message
// itself shows that, once its update is delivered).
func (s *server) slackAct(ctx context.Context, cfg *config.Config, in *slack.Interaction, requestID string) string {
	if in.Problem != "" {
		return in.Problem
	}
	switch in.Verb {
	case slack.VerbHelp:
		return slack.Usage(cfg.Slack.Command)
	case "":
		return "That button is not one of Incident Hub's; nothing changed."
	}
	actor, refusal := s.slackAllowed(ctx, cfg, in)
	if refusal != "" {
		s.Log.Info("slack: refused", "user", in.UserID, "verb", in.Verb, "incident_id", in.IncidentID)
		if err := audit.Record(s.Store.DB.WithContext(ctx), audit.Entry{Actor: actor, Action: "slack.refused",
			EntityType: "incident", Entity: strconv.FormatInt(in.IncidentID, 10), Detail: in.Verb + ": " + refusal}); err != nil {
			s.Log.Error("audit slack refusal", "err", err)
		}
		return refusal + " Nothing changed."
	}
	id := in.IncidentID
	var do func(*gorm.DB, int64, correlation.Action) (correlation.Change, error)
	switch in.Verb {
	case slack.VerbStatus:
		inc, err := s.Store.Incident(ctx, id)
		if err != nil {
			return s.slackFailure(ctx, err, id, requestID)
		}
		return slack.Status(*inc, cfg.Delivery.PublicURL)
	case slack.VerbSilence:
		return s.slackSilence(ctx, cfg, actor, id, requestID)
	case slack.VerbAcknowledge:
		do = correlation.Acknowledge
	case slack.VerbResolve:
		do = correlation.Resolve
	case slack.VerbReopen:
		do = correlation.Reopen
	}
	_, err := s.runAction(ctx, actor, in.Verb, func(tx *gorm.DB, act correlation.Action) ([]correlation.Change, error) {
		ch, err := do(tx, id, act)
		return []correlation.Change{ch}, err
	})
	if err != nil {
		return s.slackFailure(ctx, err, id, requestID)
	}
	if in.Kind == slack.KindButton {
		return ""
	}
	inc, err := s.Store.Incident(ctx, id)
	if err != nil {
		return fmt.Sprintf("Done: incident #%d %s.", id, pastTense[in.Verb])
	}
	return fmt.Sprintf("Done: you %s incident #%d.\n%s", pastTense[in.Verb], id, slack.Status(*inc, cfg.Delivery.PublicURL))
}

var pastTense = map[string]string{slack.VerbAcknowledge: "acknowledged", slack.VerbResolve: "resolved", slack.VerbReopen: "reopened"}

// slackFailure tells the user why nothing changed: the incident changed
// meanwhile (its current state), it does not exist, or the hub failed.
func (s *server) slackFailure(ctx context.Context, err error, id int64, requestID string) string {
	switch incidenthub.ErrorCode(err) {
	case incidenthub.ECONFLICT:
		msg := "Nothing changed: " + incidenthub.ErrorMessage(err) + "."
		if inc, ierr := s.Store.Incident(ctx, id); ierr == nil {
			msg += "\n" + slack.Status(*inc, s.Config().Delivery.PublicURL)
		}
		return msg
	case incidenthub.ENOTFOUND:
		return fmt.Sprintf("Incident #%d does not exist; nothing changed.", id)
	}
	s.Log.Error("slack: action failed", "incident_id", id, "err", err, "request_id", requestID)
	return fmt.Sprintf("The hub could not do that right now (request id %s); nothing changed. Try again.", requestID)
}

// slackAllowed returns the actor for the interaction's user and, when they
// may not do what they asked, why: their role from slack.users, else what
// slack.channel_members grants a member of a channel the hub posts to.
func (s *server) slackAllowed(ctx context.Context, cfg *config.Config, in *slack.Interaction) (actor, refusal string) {
	need := slackNeeds[in.Verb]
	u, known := cfg.Slack.User(in.UserID)
	name := u.Name
	if name == "" {
		name = in.UserName
	}
	actor = slack.Actor(in.UserID, name)
	level := slackRoleLevels[u.Role]
	if level >= need {
		return actor, ""
	}
	grant := slackChannelLevels[cfg.Slack.ChannelMembers]
	what := in.Verb
	if in.Verb == slack.VerbStatus {
		what = "see the status of"
	}
	if grant >= need && s.SlackMembers != nil && in.ChannelID != "" {
		mctx, cancel := context.WithTimeout(ctx, slackMembersTimeout)
		member, inHubChannel, err := s.SlackMembers.IsMember(mctx, in.ChannelID, in.UserID)
		cancel()
		switch {
		case err != nil:
			s.Log.Warn("slack: membership check", "channel", in.ChannelID, "err", err)
			return actor, fmt.Sprintf("The hub could not check that you are a member of this channel (%v); try again.", err)
		case member:
			return actor, ""
		case !inHubChannel:
			return actor, fmt.Sprintf("Here you may not %s incidents: members may act only in the channels the hub posts to.", what)
		}
	}
	if !known {
		return actor, fmt.Sprintf("You may not %s incidents from Slack: the hub does not know your Slack user %s. Ask a hub admin to add you to slack.users.", what, in.UserID)
	}
	return actor, fmt.Sprintf("You may not %s incidents from Slack: your role is %s, and that needs %s.", what, u.Role, slackNeedNames[need])
}

// slackHTTPClient answers on response_urls (Slack's hooks.slack.com).
func slackHTTPClient() *http.Client { return &http.Client{Timeout: slackRespondTimeout} }

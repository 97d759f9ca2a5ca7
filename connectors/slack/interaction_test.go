package slack_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/slack"
	"github.com/incidenthub/incidenthub/connectors/slack/slackfake"
)

func interactiveClient(t *testing.T, fake *slackfake.Server) *slack.Client {
	t.Helper()
	c, err := slack.New(slack.Config{Token: token, Channel: "C0INCIDENTS", APIURL: fake.APIURL(),
		PublicURL: "https://hub.example.com", Interactive: true}, fake.Client())
	require.NoError(t, err)
	return c
}

// buttonsOf lists the action ids of a message's buttons.
func buttonsOf(m slackfake.Message) []string {
	var out []string
	for _, b := range m.Blocks {
		if b["type"] != "actions" {
			continue
		}
		for _, e := range b["elements"].([]any) {
			out = append(out, e.(map[string]any)["action_id"].(string))
		}
	}
	return out
}

// An interactive message carries the buttons its incident's status
// allows (checked against Slack's Block Kit limits by the fake), says who
// acknowledged or resolved it and when, and the thread reply names them.
func TestButtons(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(token)
	t.Cleanup(fake.Close)
	c := interactiveClient(t, fake)
	ctx := context.Background()

	n := note(incidenthub.EventOpened, incidenthub.IncidentOpen, 1)
	_, err := c.Notify(ctx, n)
	require.NoError(t, err)
	ref := n.Ref
	msg, ok := fake.Message(ref[slack.RefTS])
	require.True(t, ok)
	require.Equal(t, []string{slack.ActionAcknowledge, slack.ActionResolve, slack.ActionSilence}, buttonsOf(msg))
	require.NotContains(t, blockText(msg.Blocks), "Acknowledged by")

	at := time.Date(2026, 3, 1, 12, 4, 0, 0, time.UTC)
	n = note(incidenthub.EventAcknowledged, incidenthub.IncidentAcknowledged, 1, incidenthub.ChangeStatus)
	n.Incident.AcknowledgedAt, n.Incident.AcknowledgedBy = &at, slack.Actor("U0ALICE", "alice")
	n.Ref = ref
	_, err = c.Notify(ctx, n)
	require.NoError(t, err)
	msg, _ = fake.Message(ref[slack.RefTS])
	require.Equal(t, []string{slack.ActionResolve, slack.ActionSilence}, buttonsOf(msg))
	text := blockText(msg.Blocks)
	require.Contains(t, text, "Acknowledged by <@U0ALICE> <!date^"+strconv.FormatInt(at.Unix(), 10)+"^")
	require.Contains(t, text, "|2026-03-01 12:04 UTC>")
	require.Equal(t, ":eyes: Acknowledged by <@U0ALICE>.", fake.Replies(ref[slack.RefTS])[0].Text)

	n = note(incidenthub.EventResolved, incidenthub.IncidentResolved, 1, incidenthub.ChangeStatus)
	n.Incident.ResolvedAt, n.Incident.ResolvedBy = &at, "ops <bot> & co"
	n.Ref = ref
	_, err = c.Notify(ctx, n)
	require.NoError(t, err)
	msg, _ = fake.Message(ref[slack.RefTS])
	require.Equal(t, []string{slack.ActionReopen}, buttonsOf(msg))
	require.Contains(t, blockText(msg.Blocks), "Resolved by ops &lt;bot&gt; &amp; co <!date^", "a name is escaped, not read as a link")
	require.Equal(t, ":white_check_mark: Resolved by ops &lt;bot&gt; &amp; co after 5m0s.", fake.Replies(ref[slack.RefTS])[1].Text)

	// Merged away: nothing to act on.
	into := int64(7)
	n.Incident.MergedInto = &into
	n.ID += "-merged"
	_, err = c.Notify(ctx, n)
	require.NoError(t, err)
	msg, _ = fake.Message(ref[slack.RefTS])
	require.Empty(t, buttonsOf(msg))

	// Without interactivity, no buttons.
	plain := note(incidenthub.EventOpened, incidenthub.IncidentOpen, 1)
	_, err = newClient(t, fake).Notify(ctx, plain)
	require.NoError(t, err)
	msg, _ = fake.Message(plain.Ref[slack.RefTS])
	require.Empty(t, buttonsOf(msg))
}

func TestActor(t *testing.T) {
	t.Parallel()
	a := slack.Actor("U0ALICE", "alice")
	require.Equal(t, "slack:U0ALICE (alice)", a)
	id, name, ok := slack.UserOf(a)
	require.True(t, ok)
	require.Equal(t, "U0ALICE", id)
	require.Equal(t, "alice", name)
	require.Equal(t, "slack:W0BOB", slack.Actor("W0BOB", ""))
	_, _, ok = slack.UserOf("alice")
	require.False(t, ok)
}

// Slack's own block_actions payload (the documented shape) parses into
// the click it is.
func TestParseBlockActions(t *testing.T) {
	t.Parallel()
	payload, err := os.ReadFile("testdata/block_actions.json")
	require.NoError(t, err)
	in, err := slack.Parse([]byte(url.Values{"payload": {string(payload)}}.Encode()))
	require.NoError(t, err)
	require.Equal(t, &slack.Interaction{Kind: slack.KindButton, Verb: slack.VerbAcknowledge, IncidentID: 42,
		UserID: "U01AZ88AQQ4", UserName: "phoebe.ng", TeamID: "T01B5M3VC1X", ChannelID: "C0INCIDENTS",
		MessageTS:   "1600857119.015400",
		ResponseURL: "https://hooks.slack.com/actions/T01B5M3VC1X/1393453658608/9u1iPn7fDYLCpaxKQcL0HI9e",
		ActionID:    slack.ActionAcknowledge}, in)

	// The fake's clicks have the same shape.
	fake := slackfake.New(token)
	t.Cleanup(fake.Close)
	n := note(incidenthub.EventOpened, incidenthub.IncidentOpen, 1)
	_, err = interactiveClient(t, fake).Notify(context.Background(), n)
	require.NoError(t, err)
	msg, _ := fake.Message(n.Ref[slack.RefTS])
	form, err := fake.BlockActions(slackfake.User{ID: "U0ALICE", Name: "alice"}, msg, slack.ActionSilence)
	require.NoError(t, err)
	in, err = slack.Parse([]byte(form.Encode()))
	require.NoError(t, err)
	require.Equal(t, slack.VerbSilence, in.Verb)
	require.Equal(t, int64(42), in.IncidentID)
	require.Equal(t, "C0INCIDENTS", in.ChannelID)
	require.Equal(t, msg.TS, in.MessageTS)
	_, err = fake.BlockActions(slackfake.User{ID: "U0ALICE"}, msg, slack.ActionReopen)
	require.ErrorContains(t, err, "no button", "an open incident's message has no Reopen")
}

func TestParseCommand(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(token)
	t.Cleanup(fake.Close)
	u := slackfake.User{ID: "U0ALICE", Name: "alice"}
	cases := []struct {
		text, verb string
		id         int64
		problem    string
	}{
		{"ack 42", slack.VerbAcknowledge, 42, ""},
		{"ACKNOWLEDGE #42", slack.VerbAcknowledge, 42, ""},
		{"resolve 7", slack.VerbResolve, 7, ""},
		{"status 7", slack.VerbStatus, 7, ""},
		{"reopen 7", slack.VerbReopen, 7, ""},
		{"silence 7", slack.VerbSilence, 7, ""},
		{"", slack.VerbHelp, 0, ""},
		{"help", slack.VerbHelp, 0, ""},
		{"ack", "", 0, "takes one incident id"},
		{"ack 1 2", "", 0, "takes one incident id"},
		{"ack abc", slack.VerbAcknowledge, 0, `"abc" is not an incident id`},
		{"ack -3", slack.VerbAcknowledge, 0, `"-3" is not an incident id`},
		{"page bob", "", 0, `unknown command "page"`},
	}
	for _, tc := range cases {
		in, err := slack.Parse([]byte(fake.CommandForm(u, "C0INCIDENTS", "/incident", tc.text).Encode()))
		require.NoError(t, err, tc.text)
		require.Equal(t, slack.KindCommand, in.Kind)
		require.Equal(t, tc.verb, in.Verb, tc.text)
		require.Equal(t, tc.id, in.IncidentID, tc.text)
		if tc.problem == "" {
			require.Empty(t, in.Problem, tc.text)
		} else {
			require.Contains(t, in.Problem, tc.problem, tc.text)
		}
		require.Equal(t, "U0ALICE", in.UserID)
		require.Equal(t, "alice", in.UserName)
		require.Equal(t, "C0INCIDENTS", in.ChannelID)
		require.Equal(t, "/incident", in.Command)
		require.Contains(t, in.ResponseURL, fake.URL)
	}
	for _, body := range []string{"%zz", "a=b", "payload=not-json"} {
		_, err := slack.Parse([]byte(body))
		var pe *slack.ParseError
		require.ErrorAs(t, err, &pe, body)
	}
	// A payload type the hub does not act on parses, with no verb.
	in, err := slack.Parse([]byte(url.Values{"payload": {`{"type":"shortcut","user":{"id":"U1"}}`}}.Encode()))
	require.NoError(t, err)
	require.Equal(t, "shortcut", in.Kind)
	require.Empty(t, in.Verb)
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	const secret, old = "8f742231b10e8888abcd99yyyzzz85a5", "0ld5ecret0ld5ecret0ld5ecret0ld5e"
	body := []byte("token=x&command=%2Fincident&text=ack+42")
	signed := func(secret string, at time.Time, body []byte) http.Header {
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(at.Unix(), 10))
		h.Set("X-Slack-Signature", slackfake.Sign(secret, at.Unix(), body))
		return h
	}
	now := time.Now()
	require.NoError(t, slack.Verify(signed(secret, now, body), body, []string{secret}))
	require.NoError(t, slack.Verify(signed(old, now, body), body, []string{secret, old}), "the previous secret during the overlap")
	require.NoError(t, slack.Verify(signed(secret, now.Add(-4*time.Minute), body), body, []string{secret}))

	fails := []struct {
		name    string
		h       http.Header
		body    []byte
		secrets []string
		want    string
	}{
		{"old secret after the overlap", signed(old, now, body), body, []string{secret}, "does not match"},
		{"tampered body", signed(secret, now, body), []byte("token=x&command=%2Fincident&text=resolve+42"), []string{secret}, "does not match"},
		{"stale", signed(secret, now.Add(-6*time.Minute), body), body, []string{secret}, "more than 5 minutes"},
		{"future", signed(secret, now.Add(6*time.Minute), body), body, []string{secret}, "more than 5 minutes"},
		{"unsigned", http.Header{}, body, []string{secret}, "missing X-Slack-Signature"},
		{"v1", func() http.Header {
			h := signed(secret, now, body)
			h.Set("X-Slack-Signature", "v1="+h.Get("X-Slack-Signature")[3:])
			return h
		}(), body, []string{secret}, "malformed"},
		{"no secret", signed(secret, now, body), body, nil, "no Slack signing secret"},
	}
	for _, tc := range fails {
		err := slack.Verify(tc.h, tc.body, tc.secrets)
		var se *slack.SignatureError
		require.ErrorAs(t, err, &se, tc.name)
		require.Contains(t, err.Error(), tc.want, tc.name)
		require.NotContains(t, err.Error(), secret, tc.name)
	}
}

func TestResponseURLAllowed(t *testing.T) {
	t.Parallel()
	also := []string{"http://127.0.0.1:4321/api/"}
	for u, ok := range map[string]bool{
		"https://hooks.slack.com/actions/T1/2/abc":    true,
		"https://hooks.slack-gov.com/commands/T1/2/a": true,
		"http://hooks.slack.com/actions/T1/2/abc":     false,
		"https://hooks.slack.com:8443/actions/x":      false,
		"https://evilslack.com/actions":               false,
		"https://hooks.slack.com.evil.example/x":      false,
		"http://127.0.0.1:4321/response/x":            true,
		"http://127.0.0.1:9999/response/x":            false,
		"http://169.254.169.254/latest/meta-data":     false,
		"not a url": false,
	} {
		require.Equal(t, ok, slack.ResponseURLAllowed(u, also), u)
	}
}

// An ephemeral answer reaches the response_url as Slack expects it; the
// URL takes five answers.
func TestRespond(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(token)
	t.Cleanup(fake.Close)
	form := fake.CommandForm(slackfake.User{ID: "U0ALICE", Name: "alice"}, "C0INCIDENTS", "/incident", "status 42")
	ctx := context.Background()
	for i := range slackfake.ResponseURLUses {
		require.NoError(t, slack.Respond(ctx, http.DefaultClient, form.Get("response_url"), slack.Ephemeral(fmt.Sprint("answer ", i))))
	}
	err := slack.Respond(ctx, http.DefaultClient, form.Get("response_url"), slack.Ephemeral("one too many"))
	require.ErrorContains(t, err, "HTTP 404")
	require.NotContains(t, err.Error(), form.Get("response_url"), "the URL is a capability: not in errors")
	rs := fake.Responses()
	require.Len(t, rs, slackfake.ResponseURLUses)
	require.Equal(t, "ephemeral", rs[0].ResponseType)
	require.False(t, rs[0].ReplaceOriginal)
	require.Contains(t, rs[0].Raw, `"replace_original":false`)
	require.Equal(t, "answer 0", rs[0].Text)
	require.Equal(t, "U0ALICE", rs[0].User)
	require.Equal(t, "application/json", rs[0].ContentType)
}

// Membership comes from conversations.members, every page of it, and is
// cached: a burst of checks costs one walk.
func TestMembers(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(token)
	t.Cleanup(fake.Close)
	users := make([]string, 2500)
	for i := range users {
		users[i] = fmt.Sprintf("U%06d", i)
	}
	fake.SetMembers("C0INCIDENTS", users...)
	m := slack.NewMembers(interactiveClient(t, fake))
	require.Equal(t, []string{"C0INCIDENTS"}, m.Channels())
	ctx := context.Background()
	for _, u := range []string{"U000000", "U002499", "U001234"} {
		member, known, err := m.IsMember(ctx, "C0INCIDENTS", u)
		require.NoError(t, err)
		require.True(t, known)
		require.True(t, member, u)
	}
	member, _, err := m.IsMember(ctx, "C0INCIDENTS", "U0STRANGER")
	require.NoError(t, err)
	require.False(t, member)
	require.Equal(t, 3, fake.MemberCalls(), "one walk of three pages")

	_, known, err := m.IsMember(ctx, "C0ELSEWHERE", "U000000")
	require.NoError(t, err)
	require.False(t, known, "not a channel the hub posts to")
	require.Equal(t, 3, fake.MemberCalls())

	other := slackfake.New(token)
	t.Cleanup(other.Close)
	_, _, err = slack.NewMembers(interactiveClient(t, other)).IsMember(ctx, "C0INCIDENTS", "U000000")
	require.ErrorContains(t, err, "channel_not_found")
}

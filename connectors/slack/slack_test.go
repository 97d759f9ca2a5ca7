package slack_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/slack"
	"github.com/incidenthub/incidenthub/connectors/slack/slackfake"
	"github.com/incidenthub/incidenthub/internal/httperr"
)

const token = "xoxb-test-token"

func newClient(t *testing.T, fake *slackfake.Server) *slack.Client {
	t.Helper()
	c, err := slack.New(slack.Config{Token: token, Channel: "C0INCIDENTS", APIURL: fake.APIURL(), PublicURL: "https://hub.example.com"}, fake.Client())
	require.NoError(t, err)
	return c
}

func note(event string, status incidenthub.IncidentStatus, alerts int, changes ...string) *incidenthub.Notification {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return &incidenthub.Notification{ID: "msg_" + event + string(status), Event: event, Changes: changes, Time: at,
		Incident: incidenthub.Incident{ID: 42, Title: "Checkout latency", Service: "checkout", Severity: incidenthub.SeverityHigh,
			Status: status, AlertCount: alerts, FiringCount: alerts, OpenedAt: at, LastSeenAt: at.Add(5 * time.Minute)},
		LatestAlert: &incidenthub.Alert{Source: "am", URL: "https://grafana.example.com/a/1"}}
}

// Open posts one message; a join updates it in place with no reply; a
// resolve updates it and replies in its thread.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(token)
	defer fake.Close()
	c := newClient(t, fake)
	ctx := context.Background()

	n := note(incidenthub.EventOpened, incidenthub.IncidentOpen, 1)
	retry, err := c.Notify(ctx, n)
	require.NoError(t, err)
	require.False(t, retry)
	ref := n.Ref
	require.Equal(t, "C0INCIDENTS", ref[slack.RefChannel])
	require.NotEmpty(t, ref[slack.RefTS])

	n = note(incidenthub.EventUpdated, incidenthub.IncidentOpen, 7, incidenthub.ChangeAlertCount)
	n.Ref = ref
	_, err = c.Notify(ctx, n)
	require.NoError(t, err)

	n = note(incidenthub.EventResolved, incidenthub.IncidentResolved, 7, incidenthub.ChangeStatus)
	n.Ref = ref
	_, err = c.Notify(ctx, n)
	require.NoError(t, err)
	// A retry of the same notification does not reply twice.
	_, err = c.Notify(ctx, n)
	require.NoError(t, err)

	top := fake.TopLevel()
	require.Len(t, top, 1, "one message per incident")
	require.Equal(t, 3, top[0].Updates)
	require.Contains(t, top[0].Text, "resolved")
	require.Contains(t, blockText(top[0].Blocks), "7 firing of 7")
	require.Contains(t, blockText(top[0].Blocks), "https://hub.example.com/ui/incidents/42")
	replies := fake.Replies(ref[slack.RefTS])
	require.Len(t, replies, 1)
	require.Contains(t, replies[0].Text, "Resolved after 5m0s")
	var methods []string
	for _, call := range fake.Calls() {
		methods = append(methods, call.Method)
	}
	require.Equal(t, []string{"chat.postMessage", "chat.update", "chat.update", "chat.postMessage", "chat.update"}, methods)
}

func blockText(blocks []map[string]any) string {
	var out string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if s, ok := v["text"].(string); ok {
				out += s + "\n"
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, b := range blocks {
		walk(b)
	}
	return out
}

func TestErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		status     int
		code       string
		retry      bool
		after      time.Duration
		retryAfter int // seconds Slack sends; default 3
	}{
		{"rate limited", 429, "", true, 3 * time.Second, 0},
		// Overflowing waits are capped (slack-go's own parse made them
		// negative, or 290 ms).
		{"rate limited, overflowing wait", 429, "", true, httperr.MaxRetryAfter, 9227000000},
		{"rate limited, wrapping wait", 429, "", true, httperr.MaxRetryAfter, 18446744074},
		{"server error", 503, "", true, 0, 0},
		{"channel not found", 0, "channel_not_found", false, 0, 0},
		{"not in channel", 0, "not_in_channel", false, 0, 0},
		{"invalid auth", 0, "invalid_auth", false, 0, 0},
		{"internal error", 0, "internal_error", true, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := slackfake.New(token)
			defer fake.Close()
			fake.RetryAfter = 3
			if tc.retryAfter != 0 {
				fake.RetryAfter = tc.retryAfter
			}
			fake.Fail = func(slackfake.Call) (int, string) { return tc.status, tc.code }
			retry, err := newClient(t, fake).Notify(context.Background(), note(incidenthub.EventOpened, incidenthub.IncidentOpen, 1))
			require.Error(t, err)
			require.Equal(t, tc.retry, retry)
			var se *slack.Error
			require.ErrorAs(t, err, &se)
			require.Equal(t, tc.after, se.RetryAfter())
		})
	}
}

func TestWrongTokenIsPermanent(t *testing.T) {
	t.Parallel()
	fake := slackfake.New("xoxb-other")
	defer fake.Close()
	retry, err := newClient(t, fake).Notify(context.Background(), note(incidenthub.EventOpened, incidenthub.IncidentOpen, 1))
	require.ErrorContains(t, err, "invalid_auth")
	require.False(t, retry)
}

// A message someone deleted is posted again rather than failing forever.
func TestDeletedMessageIsReposted(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(token)
	defer fake.Close()
	n := note(incidenthub.EventUpdated, incidenthub.IncidentOpen, 2, incidenthub.ChangeAlertCount)
	n.Ref = map[string]string{slack.RefChannel: "C0INCIDENTS", slack.RefTS: "1.000001"}
	_, err := newClient(t, fake).Notify(context.Background(), n)
	require.NoError(t, err)
	require.NotEqual(t, "1.000001", n.Ref[slack.RefTS])
	require.Len(t, fake.TopLevel(), 1)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, slack.Config{Token: "xoxb-1", Channel: "C1"}.Validate())
	err := slack.Config{Token: "abc", APIURL: "slack"}.Validate()
	require.ErrorContains(t, err, "token: must be a Slack token")
	require.ErrorContains(t, err, "channel: required")
	require.ErrorContains(t, err, "api_url:")
	_ = http.StatusOK
}

func TestVerify(t *testing.T) {
	t.Parallel()
	fake := slackfake.New("xoxb-verify-token")
	defer fake.Close()
	c, err := slack.New(slack.Config{Token: "xoxb-verify-token", Channel: "C1", APIURL: fake.APIURL()}, http.DefaultClient)
	require.NoError(t, err)
	require.NoError(t, c.Verify(context.Background()))
	require.Empty(t, fake.Calls(), "verify posts nothing")
	bad, err := slack.New(slack.Config{Token: "xoxb-wrong", Channel: "C1", APIURL: fake.APIURL()}, http.DefaultClient)
	require.NoError(t, err)
	err = bad.Verify(context.Background())
	require.ErrorContains(t, err, "invalid_auth")
	require.NotContains(t, err.Error(), "xoxb-wrong")
}

// SendEvent posts the event's text to the target's channel as a new
// message.
func TestSendEvent(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(token)
	t.Cleanup(fake.Close)
	c := newClient(t, fake)
	require.NoError(t, c.SendEvent(context.Background(), &incidenthub.Event{ID: "msg_1", Type: "registry.secret_rotated",
		Text: "secret of am rotated"}))
	calls := fake.Calls()
	require.Len(t, calls, 1)
	require.Equal(t, "chat.postMessage", calls[0].Method)
	require.Equal(t, "C0INCIDENTS", calls[0].Channel)
	require.Equal(t, "secret of am rotated", calls[0].Text)
	require.Empty(t, calls[0].ThreadTS)

	fake.Fail = func(slackfake.Call) (int, string) { return 0, "channel_not_found" }
	err := c.SendEvent(context.Background(), &incidenthub.Event{Type: "registry.secret_rotated", Text: "x"})
	require.ErrorContains(t, err, "channel_not_found")
}

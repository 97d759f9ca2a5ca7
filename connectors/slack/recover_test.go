package slack_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/slack"
	"github.com/incidenthub/incidenthub/connectors/slack/slackfake"
)

// dropFirst makes the fake store the first call of method (a top-level
// post, or a thread reply when reply) and then close the connection
// without answering, as when the hub dies or the network breaks between
// Slack storing the message and the hub reading the ts.
func dropFirst(fake *slackfake.Server, reply bool) *atomic.Int32 {
	var dropped atomic.Int32
	fake.AfterStore = func(c slackfake.Call, _ slackfake.Message) slackfake.Answering {
		if c.Method == "chat.postMessage" && (c.ThreadTS != "") == reply && dropped.CompareAndSwap(0, 1) {
			return slackfake.DropAnswer
		}
		return slackfake.SendAnswer
	}
	return &dropped
}

// A post whose answer is lost, retried as uncertain, adopts the message
// the lost attempt stored: one message, found by its metadata in
// conversations.history, and later changes update it.
func TestLostPostIsAdopted(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(token)
	t.Cleanup(fake.Close)
	dropped := dropFirst(fake, false)
	c := newClient(t, fake)
	ctx := context.Background()

	n := note(incidenthub.EventOpened, incidenthub.IncidentOpen, 1)
	retry, err := c.Notify(ctx, n)
	require.Error(t, err, "the answer was lost")
	require.True(t, retry)
	require.Equal(t, int32(1), dropped.Load())
	require.Empty(t, n.Ref[slack.RefTS])
	top := fake.TopLevel()
	require.Len(t, top, 1, "Slack stored it all the same")
	require.Equal(t, map[string]any{"event_type": slack.MetadataEventType,
		"event_payload": map[string]any{"incident_id": float64(42), "notification_id": n.ID}}, top[0].Metadata)

	n.Uncertain = true // what the delivery worker says of the retry
	retry, err = c.Notify(ctx, n)
	require.NoError(t, err)
	require.False(t, retry)
	require.Len(t, fake.TopLevel(), 1, "adopted, not posted again")
	require.Equal(t, top[0].TS, n.Ref[slack.RefTS])
	require.Equal(t, "C0INCIDENTS", n.Ref[slack.RefChannel])
	calls := fake.HistoryCalls()
	require.Len(t, calls, 1)
	require.Equal(t, "1", calls[0].Get("include_all_metadata"))
	require.Equal(t, "C0INCIDENTS", calls[0].Get("channel"))
	oldest, err := strconv.ParseFloat(calls[0].Get("oldest"), 64)
	require.NoError(t, err)
	require.InDelta(t, float64(n.Time.Add(-5*time.Minute).Unix()), oldest, 1, "from the notification's time minus the margin")

	up := note(incidenthub.EventUpdated, incidenthub.IncidentOpen, 3, incidenthub.ChangeAlertCount)
	up.Ref = n.Ref
	_, err = c.Notify(ctx, up)
	require.NoError(t, err)
	m, ok := fake.Message(top[0].TS)
	require.True(t, ok)
	require.Equal(t, 1, m.Updates, "the later change updates the adopted message")
	require.Contains(t, blockText(m.Blocks), "3 firing of 3")
	require.Equal(t, top[0].Metadata, m.Metadata, "chat.update keeps the metadata")
	require.Len(t, fake.HistoryCalls(), 1, "a certain attempt looks nothing up")
}

// Uncertain but never stored (the attempt died before Slack saw it): the
// lookup finds nothing of this notification (a message of another hub for
// an incident with the same id is not it) and posts once.
func TestUncertainButNotPosted(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(token)
	t.Cleanup(fake.Close)
	c := newClient(t, fake)
	ctx := context.Background()
	other := note(incidenthub.EventOpened, incidenthub.IncidentOpen, 1)
	other.ID = "msg_other_hub"
	_, err := c.Notify(ctx, other)
	require.NoError(t, err)

	n := note(incidenthub.EventOpened, incidenthub.IncidentOpen, 1)
	n.Uncertain = true
	_, err = c.Notify(ctx, n)
	require.NoError(t, err)
	require.Len(t, fake.TopLevel(), 2)
	require.NotEqual(t, other.Ref[slack.RefTS], n.Ref[slack.RefTS])
	require.Len(t, fake.HistoryCalls(), 1)
}

// The lost message lies behind a page of newer ones: the lookup follows
// the cursor.
func TestLostPostFoundOnALaterPage(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(token)
	t.Cleanup(fake.Close)
	dropFirst(fake, false)
	c := newClient(t, fake)
	ctx := context.Background()
	n := note(incidenthub.EventOpened, incidenthub.IncidentOpen, 1)
	_, err := c.Notify(ctx, n)
	require.Error(t, err)
	for i := range 130 {
		require.NoError(t, c.SendEvent(ctx, &incidenthub.Event{ID: fmt.Sprint("msg_ev", i), Type: "registry.secret_rotated", Text: "chatter"}))
	}
	n.Uncertain = true
	_, err = c.Notify(ctx, n)
	require.NoError(t, err)
	require.Len(t, fake.TopLevel(), 131)
	calls := fake.HistoryCalls()
	require.Len(t, calls, 2, "two pages of 100")
	require.NotEmpty(t, calls[1].Get("cursor"))
	m, ok := fake.Message(n.Ref[slack.RefTS])
	require.True(t, ok)
	require.Contains(t, m.Text, "Checkout latency")
	// Event messages carry metadata of their own kind.
	for _, m := range fake.TopLevel() {
		require.NotNil(t, m.Metadata, "every top-level message carries metadata")
		if m.TS != n.Ref[slack.RefTS] {
			require.Equal(t, slack.MetadataEventTypeEvent, m.Metadata["event_type"])
		}
	}
}

// A thread reply whose answer is lost is found in conversations.replies
// and not posted twice.
func TestLostReplyIsAdopted(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(token)
	t.Cleanup(fake.Close)
	dropFirst(fake, true)
	c := newClient(t, fake)
	ctx := context.Background()
	n := note(incidenthub.EventOpened, incidenthub.IncidentOpen, 1)
	_, err := c.Notify(ctx, n)
	require.NoError(t, err)
	ts := n.Ref[slack.RefTS]

	res := note(incidenthub.EventResolved, incidenthub.IncidentResolved, 1, incidenthub.ChangeStatus)
	res.Ref = n.Ref
	_, err = c.Notify(ctx, res)
	require.Error(t, err, "the reply's answer was lost")
	require.Len(t, fake.Replies(ts), 1)
	res.Uncertain = true
	_, err = c.Notify(ctx, res)
	require.NoError(t, err)
	require.Len(t, fake.Replies(ts), 1, "not replied twice")
	require.Equal(t, res.ID, res.Ref[slack.RefReplied])
	calls := fake.HistoryCalls()
	require.Len(t, calls, 1)
	require.Equal(t, ts, calls[0].Get("ts"), "conversations.replies of the incident's thread")
	require.Equal(t, "1", calls[0].Get("include_all_metadata"))
}

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Without channels:history the lookup cannot run: the connector posts
// (the message shows twice, as before) and says why, once.
func TestNoHistoryScopeFallsBackToPosting(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(token)
	t.Cleanup(fake.Close)
	fake.NoHistoryScope = true
	c := newClient(t, fake)
	var logs logBuffer
	c.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	ctx := context.Background()
	for i := range 2 {
		n := note(incidenthub.EventOpened, incidenthub.IncidentOpen, 1)
		n.ID = fmt.Sprint("msg_", i)
		n.Uncertain = true
		_, err := c.Notify(ctx, n)
		require.NoError(t, err)
	}
	require.Len(t, fake.TopLevel(), 2, "posted: nothing could be looked up")
	require.Len(t, fake.HistoryCalls(), 2)
	out := logs.String()
	require.Equal(t, 1, strings.Count(out, "level=WARN"), "logged once: %s", out)
	require.Contains(t, out, "channels:history")
	require.Contains(t, out, "groups:history")
	require.Contains(t, out, "missing_scope")
	require.NotContains(t, out, token)
}

// The connector keeps its own doubt in the ref (saved whatever the
// attempt's outcome): a retry of a post that got no answer looks first
// even when nothing else says the outcome was unknown.
func TestLostPostIsAdoptedFromTheRef(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(token)
	t.Cleanup(fake.Close)
	dropFirst(fake, false)
	c := newClient(t, fake)
	n := note(incidenthub.EventOpened, incidenthub.IncidentOpen, 1)
	_, err := c.Notify(context.Background(), n)
	require.Error(t, err)
	require.Equal(t, n.ID, n.Ref[slack.RefUnsure])
	_, err = c.Notify(context.Background(), n) // same ref, Uncertain unset
	require.NoError(t, err)
	require.Len(t, fake.TopLevel(), 1)
	require.Equal(t, fake.TopLevel()[0].TS, n.Ref[slack.RefTS])
	require.NotContains(t, n.Ref, slack.RefUnsure, "settled")
}

// A rate-limited lookup neither posts nor forgets: the delivery retries
// after Slack's wait, and the next attempt looks again.
func TestRateLimitedLookupLooksAgain(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(token)
	t.Cleanup(fake.Close)
	fake.RetryAfter = 60
	dropFirst(fake, false)
	var limited atomic.Bool
	limited.Store(true)
	fake.Fail = func(c slackfake.Call) (int, string) {
		if c.Method == "conversations.history" && limited.Load() {
			return 429, ""
		}
		return 0, ""
	}
	c := newClient(t, fake)
	ctx := context.Background()
	n := note(incidenthub.EventOpened, incidenthub.IncidentOpen, 1)
	_, err := c.Notify(ctx, n)
	require.Error(t, err)

	n.Uncertain = true
	retry, err := c.Notify(ctx, n)
	require.Error(t, err)
	require.True(t, retry)
	var se *slack.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, time.Minute, se.RetryAfter())
	require.Len(t, fake.TopLevel(), 1, "not posted while the lookup could not run")

	limited.Store(false)
	n.Uncertain = false // the last attempt had an answer (429): only the ref remembers
	_, err = c.Notify(ctx, n)
	require.NoError(t, err)
	require.Len(t, fake.TopLevel(), 1)
	require.Equal(t, fake.TopLevel()[0].TS, n.Ref[slack.RefTS])
	require.Len(t, fake.HistoryCalls(), 2)
}

// A post Slack refused outright (429, ok:false) stored nothing: its retry
// posts without looking.
func TestRefusedPostIsNotUnsure(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(token)
	t.Cleanup(fake.Close)
	var once atomic.Bool
	fake.Fail = func(c slackfake.Call) (int, string) {
		if c.Method == "chat.postMessage" && once.CompareAndSwap(false, true) {
			return 429, ""
		}
		return 0, ""
	}
	c := newClient(t, fake)
	n := note(incidenthub.EventOpened, incidenthub.IncidentOpen, 1)
	_, err := c.Notify(context.Background(), n)
	require.Error(t, err)
	require.NotContains(t, n.Ref, slack.RefUnsure)
	_, err = c.Notify(context.Background(), n)
	require.NoError(t, err)
	require.Len(t, fake.TopLevel(), 1)
	require.Empty(t, fake.HistoryCalls())
}

package delivery_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/slack/slackfake"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// Slack stores the incident's message but the answer never arrives (the
// connection drops): the attempt's outcome is unknown, so the retry looks
// the message up by its metadata and adopts it. One message, delivered on
// the second attempt, whose log shows the lookup; the resolve then updates
// that message and replies in its thread.
func TestSlackLostAnswerIsNotPostedTwice(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		wh := newReceiver(t)
		sl := slackfake.New(slackToken)
		t.Cleanup(sl.Close)
		var dropped atomic.Bool
		sl.AfterStore = func(c slackfake.Call, _ slackfake.Message) slackfake.Answering {
			if c.Method == "chat.postMessage" && c.ThreadTS == "" && dropped.CompareAndSwap(false, true) {
				return slackfake.DropAnswer
			}
			return slackfake.SendAnswer
		}
		h := newHub(t, dialect, hubConfig(wh, sl, ""))
		h.start(h.eng)
		h.alert("a", "firing")
		h.drain()

		var chat []incidenthub.Delivery
		require.Eventually(t, func() bool {
			chat = nil
			for _, d := range h.deliveries(incidenthub.DeliveryDelivered) {
				if d.Target == "chat" {
					chat = append(chat, d)
				}
			}
			return len(chat) == 1
		}, 20*time.Second, 10*time.Millisecond)
		require.True(t, dropped.Load())
		top := sl.TopLevel()
		require.Len(t, top, 1, "adopted, not posted again")
		require.Equal(t, 2, chat[0].Attempts)
		_, atts, err := h.st.GetDelivery(context.Background(), chat[0].ID)
		require.NoError(t, err)
		require.Len(t, atts, 2, "the lost post, then the lookup")
		require.Contains(t, atts[0].URL, "chat.postMessage")
		require.Zero(t, atts[0].ResponseStatus, "no answer")
		require.Equal(t, "retry", atts[0].Outcome)
		require.Contains(t, atts[1].URL, "conversations.history")
		require.Equal(t, "delivered", atts[1].Outcome)
		require.Contains(t, atts[1].RequestBody, "include_all_metadata=1")
		require.NotContains(t, atts[1].RequestBody, slackToken)

		h.alert("a", "resolved")
		h.drain()
		require.Eventually(t, func() bool {
			m, _ := sl.Message(top[0].TS)
			return strings.Contains(m.Text, "resolved") && len(sl.Replies(top[0].TS)) == 1
		}, 20*time.Second, 10*time.Millisecond)
		require.Len(t, sl.TopLevel(), 1)
		require.Len(t, sl.HistoryCalls(), 1, "only the uncertain attempt looked anything up")
	})
}

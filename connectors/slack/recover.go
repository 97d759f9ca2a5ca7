package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/incidenthub/incidenthub"
)

// Every message the connector posts carries Slack message metadata naming
// the incident and the notification that posted it, so that after an
// attempt whose outcome is unknown (the hub died between chat.postMessage
// and saving the ts, or the answer was lost) the retry finds the message
// in conversations.history (or the reply in conversations.replies) and
// adopts its ts instead of posting a second one.
const (
	// MetadataEventType is the event_type of incident messages and their
	// thread replies; event_payload holds incident_id and notification_id.
	MetadataEventType = "incidenthub_incident"
	// MetadataEventTypeEvent is the event_type of operational event
	// messages (SendEvent); event_payload holds event_id.
	MetadataEventTypeEvent = "incidenthub_event"

	// lookupMargin reaches back before the notification was recorded, for
	// clock skew between the hub and Slack.
	lookupMargin = 5 * time.Minute
	// lookupPages bounds the pages (of lookupPageSize messages) read.
	lookupPages    = 5
	lookupPageSize = 100
)

// recovery holds what the lookup needs besides the API client.
type recovery struct {
	mu   sync.Mutex
	log  *slog.Logger
	once sync.Once
}

// SetLogger sets where the client logs (once) that it cannot read the
// channel's history.
func (c *Client) SetLogger(l *slog.Logger) {
	c.rec.mu.Lock()
	defer c.rec.mu.Unlock()
	c.rec.log = l
}

func (c *Client) logger() *slog.Logger {
	c.rec.mu.Lock()
	defer c.rec.mu.Unlock()
	if c.rec.log == nil {
		return slog.Default()
	}
	return c.rec.log
}

// metadata is what an incident message or reply carries.
func metadata(n *incidenthub.Notification) slackapi.MsgOption {
	return slackapi.MsgOptionMetadata(slackapi.SlackMetadata{EventType: MetadataEventType,
		EventPayload: map[string]any{"incident_id": n.Incident.ID, "notification_id": n.ID}})
}

// ours reports whether a message's metadata says n posted it.
func ours(md slackapi.SlackMetadata, n *incidenthub.Notification) bool {
	if md.EventType != MetadataEventType {
		return false
	}
	id, _ := md.EventPayload["notification_id"].(string)
	if id != n.ID {
		return false
	}
	switch v := md.EventPayload["incident_id"].(type) {
	case float64: // JSON numbers
		return int64(v) == n.Incident.ID
	case string:
		return v == strconv.FormatInt(n.Incident.ID, 10)
	}
	return false
}

// findPosted looks for the message n posted in an earlier attempt: a
// top-level message in the channel's history (thread == ""), or a reply
// in thread's replies, not older than n's creation minus lookupMargin, in
// at most lookupPages pages. It returns the message's ts, or "" when none
// is found or the history cannot be read for a reason retrying will not
// fix (missing_scope: the bot lacks channels:history or groups:history;
// not_in_channel; …), which it logs once: the caller then posts. A
// lookup failure worth retrying is returned as an error.
func (c *Client) findPosted(ctx context.Context, n *incidenthub.Notification, channel, thread string) (string, error) {
	oldest := ""
	if !n.Time.IsZero() {
		oldest = slackTS(n.Time.Add(-lookupMargin))
	}
	cursor := ""
	for range lookupPages {
		var (
			msgs []slackapi.Message
			more bool
			next string
			err  error
		)
		if thread == "" {
			var resp *slackapi.GetConversationHistoryResponse
			resp, err = c.api.GetConversationHistoryContext(ctx, &slackapi.GetConversationHistoryParameters{ChannelID: channel,
				Cursor: cursor, Oldest: oldest, Inclusive: true, Limit: lookupPageSize, IncludeAllMetadata: true})
			if resp != nil {
				msgs, more, next = resp.Messages, resp.HasMore, resp.ResponseMetaData.NextCursor
			}
		} else {
			msgs, more, next, err = c.api.GetConversationRepliesContext(ctx, &slackapi.GetConversationRepliesParameters{ChannelID: channel,
				Timestamp: thread, Cursor: cursor, Oldest: oldest, Inclusive: true, Limit: lookupPageSize, IncludeAllMetadata: true})
		}
		if err != nil {
			if retry, cerr := classify(err); retry {
				return "", cerr
			}
			c.noHistory(channel, err)
			return "", nil
		}
		for _, m := range msgs {
			if m.Timestamp != thread && ours(m.Metadata, n) {
				return m.Timestamp, nil
			}
		}
		if !more || next == "" {
			return "", nil
		}
		cursor = next
	}
	return "", nil
}

// noHistory logs, once per client, that the channel's history cannot be
// read, so a message an interrupted attempt posted may show twice.
func (c *Client) noHistory(channel string, err error) {
	c.rec.once.Do(func() {
		attrs := []any{"channel", channel, "err", err}
		var se slackapi.SlackErrorResponse
		if errors.As(err, &se) && se.Needed != "" {
			attrs = append(attrs, "needed", se.Needed)
		}
		c.logger().Warn("slack: cannot read the channel's history to find a message an interrupted attempt may have posted; "+
			"posting again instead (the message may show twice). Give the bot the channels:history scope (groups:history for a private channel)", attrs...)
	})
}

// unsureAfter records, after a failed post, whether Slack may have stored
// the message all the same: unless Slack answered with an error of its
// own (ok:false, or 429), it may.
func unsureAfter(n *incidenthub.Notification, err error) {
	var (
		rl *slackapi.RateLimitedError
		se slackapi.SlackErrorResponse
	)
	if errors.As(err, &rl) || errors.As(err, &se) {
		delete(n.Ref, RefUnsure)
		return
	}
	n.Ref[RefUnsure] = n.ID
}

// slackTS is t as a Slack timestamp (seconds.microseconds).
func slackTS(t time.Time) string {
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

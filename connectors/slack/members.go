package slack

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"
)

// MembersTTL is how long a channel's member list is trusted: a burst of
// clicks costs one conversations.members walk, and someone who left the
// channel loses its grant within this time.
const MembersTTL = time.Minute

// maxMemberPages bounds one walk of conversations.members (1000 a page).
const maxMemberPages = 50

// Members answers whether a Slack user is a member of a channel the hub
// posts to, from conversations.members (scopes channels:read, and
// groups:read for private channels) with the bot token of a target that
// posts there. Safe for concurrent use.
type Members struct {
	clients map[string]*Client // by channel id
	now     func() time.Time

	mu    sync.Mutex
	cache map[string]memberList
}

type memberList struct {
	at    time.Time
	users []string // sorted
}

// NewMembers returns a Members over clients (one per target; the first
// client posting to a channel answers for it).
func NewMembers(clients ...*Client) *Members {
	m := &Members{clients: map[string]*Client{}, now: time.Now, cache: map[string]memberList{}}
	for _, c := range clients {
		if _, ok := m.clients[c.channel]; !ok {
			m.clients[c.channel] = c
		}
	}
	return m
}

// Channels lists the channels the hub posts to.
func (m *Members) Channels() []string {
	out := make([]string, 0, len(m.clients))
	for ch := range m.clients {
		out = append(out, ch)
	}
	slices.Sort(out)
	return out
}

// IsMember reports whether user is a member of channel. known is false
// when the hub does not post to channel (no target's channel): nobody is
// a member of it for the hub.
func (m *Members) IsMember(ctx context.Context, channel, user string) (member, known bool, err error) {
	c, ok := m.clients[channel]
	if !ok {
		return false, false, nil
	}
	m.mu.Lock()
	l, ok := m.cache[channel]
	m.mu.Unlock()
	if !ok || m.now().Sub(l.at) > MembersTTL {
		users, err := c.channelMembers(ctx)
		if err != nil {
			return false, true, err
		}
		slices.Sort(users)
		l = memberList{at: m.now(), users: users}
		m.mu.Lock()
		m.cache[channel] = l
		m.mu.Unlock()
	}
	_, member = slices.BinarySearch(l.users, user)
	return member, true, nil
}

// channelMembers walks conversations.members for the client's channel.
func (c *Client) channelMembers(ctx context.Context) ([]string, error) {
	var out []string
	cursor := ""
	for range maxMemberPages {
		page, next, err := c.api.GetUsersInConversationContext(ctx, &slackapi.GetUsersInConversationParameters{
			ChannelID: c.channel, Cursor: cursor, Limit: 1000})
		if err != nil {
			_, err := classify(err)
			return nil, fmt.Errorf("members of %s: %w", c.channel, err)
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
	return nil, fmt.Errorf("members of %s: more than %d members", c.channel, maxMemberPages*1000)
}

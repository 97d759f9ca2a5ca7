// Package slackfake is an httptest Slack: a Web API that checks requests
// the way Slack does (method, path, token as bearer header or form field,
// form fields, Block Kit limits) and answers in Slack's shapes
// ({"ok":true,…}, {"ok":false,"error":"…"}, 429 with Retry-After), and the
// other direction too: it clicks a message's buttons and runs slash
// commands against an app's request URL the way Slack does (signed
// block_actions payloads and slash command forms, interact.go) and keeps
// what the app answers on the response_url it handed out.
//
// Web API methods: auth.test, chat.postMessage, chat.update,
// conversations.members, conversations.history and conversations.replies
// (history.go: message metadata as Slack stores and returns it).
package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// Message is one message in a channel, as last posted or updated.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string
	Text     string
	Blocks   []map[string]any
	Updates  int
	// Metadata is the message's metadata ({"event_type": …,
	// "event_payload": {…}}) as posted, or as last replaced by
	// chat.update; nil when it has none.
	Metadata map[string]any
}

// Call is one API request as received.
type Call struct {
	Method   string // chat.postMessage, chat.update
	Channel  string
	TS       string
	ThreadTS string
	Text     string
	Metadata map[string]any
}

// Server is a fake Slack.
type Server struct {
	*httptest.Server
	Token string

	mu          sync.Mutex
	seq         int
	messages    map[string]*Message // by ts
	calls       []Call
	members     map[string][]string // channel → user ids (conversations.members)
	responses   []Response          // what apps posted to response_urls
	urls        map[string]*responseURL
	memberCalls int
	// Fail, when set, is asked before each valid chat.postMessage,
	// chat.update, conversations.history and conversations.replies (Call
	// has Method, Channel and, for replies, TS); a non-zero status
	// answers with it (429 gets Retry-After: RetryAfter), or errCode answers
	// {"ok":false,"error":errCode}.
	Fail func(c Call) (status int, errCode string)
	// RetryAfter is the Retry-After seconds sent with a 429.
	RetryAfter int
	// AfterStore, when set, is called once a chat.postMessage or
	// chat.update has been applied (the message is stored), before the
	// answer is written and outside the server's lock; it may block. It
	// returns DropAnswer to close the connection without answering, as a
	// crash or a network failure between Slack and the caller would.
	AfterStore func(c Call, m Message) Answering
	// NoHistoryScope answers conversations.history and
	// conversations.replies with missing_scope, as for a bot without
	// channels:history and groups:history.
	NoHistoryScope bool
	historyCalls   []url.Values
	lastTS         int64 // microseconds
}

// Answering is what AfterStore makes of a stored call's answer.
type Answering int

const (
	// SendAnswer answers as Slack does.
	SendAnswer Answering = iota
	// DropAnswer closes the connection without an answer.
	DropAnswer
)

// New starts a fake Slack that accepts token.
func New(token string) *Server {
	s := &Server{Token: token, messages: map[string]*Message{}, RetryAfter: 1,
		members: map[string][]string{}, urls: map[string]*responseURL{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

// APIURL is the base URL to configure as the connector's api_url.
func (s *Server) APIURL() string { return s.URL + "/api/" }

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	reply := func(v map[string]any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(code string) { reply(map[string]any{"ok": false, "error": code}) }
	if strings.HasPrefix(r.URL.Path, responsePath) {
		s.response(w, r)
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok || !knownMethods[method] {
		w.WriteHeader(http.StatusNotFound)
		fail("unknown_method")
		return
	}
	if r.Method != http.MethodPost {
		fail("invalid_request") // Slack answers 200 with ok:false
		return
	}
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		fail("invalid_form_data")
		return
	}
	if err := r.ParseForm(); err != nil {
		fail("invalid_form_data")
		return
	}
	// Slack takes the token as a bearer header or as a "token" form field.
	tok, hasHeader := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !hasHeader {
		tok = r.PostForm.Get("token")
	}
	switch {
	case tok == "":
		fail("not_authed")
		return
	case tok != s.Token:
		fail("invalid_auth")
		return
	}
	if method == "auth.test" {
		reply(map[string]any{"ok": true, "url": "https://example.slack.com/", "team": "Example", "user": "incidenthub",
			"team_id": "T0EXAMPLE", "user_id": "U0HUB", "bot_id": "B0HUB"})
		return
	}
	if method == "conversations.members" {
		s.conversationMembers(r, reply, fail)
		return
	}
	if method == "conversations.history" || method == "conversations.replies" {
		s.history(method, w, r, reply, fail)
		return
	}
	c := Call{Method: method, Channel: r.PostForm.Get("channel"), TS: r.PostForm.Get("ts"),
		ThreadTS: r.PostForm.Get("thread_ts"), Text: r.PostForm.Get("text")}
	var blocks []map[string]any
	if b := r.PostForm.Get("blocks"); b != "" {
		if err := json.Unmarshal([]byte(b), &blocks); err != nil {
			fail("invalid_blocks")
			return
		}
		if err := checkBlocks(blocks); err != "" {
			fail(err)
			return
		}
	}
	if c.Channel == "" {
		fail("channel_not_found")
		return
	}
	if c.Text == "" && len(blocks) == 0 {
		fail("no_text")
		return
	}
	if md := r.PostForm.Get("metadata"); md != "" {
		if code := checkMetadata(md, &c.Metadata); code != "" {
			fail(code)
			return
		}
	}
	answer, stored, ok := s.apply(method, c, blocks, w, fail)
	if !ok {
		return
	}
	if s.AfterStore != nil && s.AfterStore(c, stored) == DropAnswer {
		drop(w)
		return
	}
	reply(answer)
}

// apply checks and applies a chat.postMessage or chat.update under the
// lock and returns the answer to send; false when it already failed.
func (s *Server) apply(method string, c Call, blocks []map[string]any, w http.ResponseWriter, fail func(string)) (map[string]any, Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed(c, w, fail) {
		return nil, Message{}, false
	}
	s.calls = append(s.calls, c)
	switch method {
	case "chat.postMessage":
		if c.ThreadTS != "" && s.messages[c.ThreadTS] == nil {
			fail("thread_not_found")
			return nil, Message{}, false
		}
		s.seq++
		ts := s.nextTS()
		m := &Message{Channel: c.Channel, TS: ts, ThreadTS: c.ThreadTS, Text: c.Text, Blocks: blocks, Metadata: c.Metadata}
		s.messages[ts] = m
		return map[string]any{"ok": true, "channel": c.Channel, "ts": ts, "message": map[string]any{"text": c.Text, "ts": ts}}, *m, true
	default: // chat.update
		m := s.messages[c.TS]
		switch {
		case c.TS == "":
			fail("invalid_arguments")
			return nil, Message{}, false
		case m == nil || m.Channel != c.Channel:
			fail("message_not_found")
			return nil, Message{}, false
		}
		m.Text, m.Blocks = c.Text, blocks
		if c.Metadata != nil { // without metadata, Slack keeps the message's own
			m.Metadata = c.Metadata
			if len(c.Metadata) == 0 {
				m.Metadata = nil // {} removes it
			}
		}
		m.Updates++
		return map[string]any{"ok": true, "channel": c.Channel, "ts": c.TS, "text": c.Text}, *m, true
	}
}

// failed asks Fail about c and answers with the failure it names;
// called with s.mu held.
func (s *Server) failed(c Call, w http.ResponseWriter, fail func(string)) bool {
	if s.Fail == nil {
		return false
	}
	if status, code := s.Fail(c); status != 0 {
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", fmt.Sprint(s.RetryAfter))
		}
		w.WriteHeader(status)
		fail(map[bool]string{true: "ratelimited", false: "internal_error"}[status == 429])
		return true
	} else if code != "" {
		fail(code)
		return true
	}
	return false
}

// Calls returns the accepted calls in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// TopLevel returns the channel's top-level messages (not thread replies).
func (s *Server) TopLevel() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.ThreadTS == "" {
			out = append(out, *m)
		}
	}
	return out
}

// Replies returns the thread replies to ts, oldest first.
func (s *Server) Replies(ts string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, c := range s.calls {
		if c.Method == "chat.postMessage" && c.ThreadTS == ts {
			out = append(out, Message{Channel: c.Channel, ThreadTS: ts, Text: c.Text})
		}
	}
	return out
}

// conversationMembers answers conversations.members: the channel's
// members, a page of limit (default 100, at most 1000) at a time, the
// next page's cursor in response_metadata.next_cursor.
func (s *Server) conversationMembers(r *http.Request, reply func(map[string]any), fail func(string)) {
	channel := r.PostForm.Get("channel")
	limit := 100
	if l := r.PostForm.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			fail("invalid_limit")
			return
		}
		limit = n
	}
	start := 0
	if c := r.PostForm.Get("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "dXNlcjp"))
		if err != nil || n < 0 {
			fail("invalid_cursor")
			return
		}
		start = n
	}
	s.mu.Lock()
	members, ok := s.members[channel]
	s.memberCalls++
	s.mu.Unlock()
	if !ok {
		fail("channel_not_found")
		return
	}
	start = min(start, len(members))
	end := min(start+limit, len(members))
	next := ""
	if end < len(members) {
		next = "dXNlcjp" + strconv.Itoa(end)
	}
	reply(map[string]any{"ok": true, "members": members[start:end], "response_metadata": map[string]any{"next_cursor": next}})
}

// SetMembers makes users the members of channel (conversations.members);
// a channel never set is channel_not_found.
func (s *Server) SetMembers(channel string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members[channel] = append([]string(nil), users...)
}

// MemberCalls counts conversations.members calls.
func (s *Server) MemberCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.memberCalls
}

// Message returns the message with ts as it is now.
func (s *Server) Message(ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[ts]
	if !ok {
		return Message{}, false
	}
	return *m, true
}

// checkBlocks applies Slack's Block Kit limits to a message's blocks: at
// most 50, a type each, unique block ids; header text plain and at most
// 150 characters; actions blocks of at most 25 buttons with plain text up
// to 75 characters, an action_id (unique in the message, at most 255
// characters), a value of at most 2000, a known style and a complete
// confirm dialog. It returns Slack's error code, or "".
func checkBlocks(blocks []map[string]any) string {
	if len(blocks) > 50 {
		return "invalid_blocks"
	}
	blockIDs, actionIDs := map[string]bool{}, map[string]bool{}
	plain := func(v any, max int) bool {
		o, ok := v.(map[string]any)
		text, _ := o["text"].(string)
		return ok && o["type"] == "plain_text" && text != "" && len([]rune(text)) <= max
	}
	for _, bl := range blocks {
		typ, ok := bl["type"].(string)
		if !ok {
			return "invalid_blocks"
		}
		if id, ok := bl["block_id"].(string); ok {
			if blockIDs[id] || id == "" || len(id) > 255 {
				return "invalid_blocks"
			}
			blockIDs[id] = true
		}
		switch typ {
		case "header":
			if !plain(bl["text"], 150) {
				return "invalid_blocks"
			}
		case "actions":
			els, _ := bl["elements"].([]any)
			if len(els) == 0 || len(els) > 25 {
				return "invalid_blocks"
			}
			for _, e := range els {
				el, _ := e.(map[string]any)
				if el["type"] != "button" {
					continue // other elements are not what the hub sends
				}
				id, _ := el["action_id"].(string)
				value, _ := el["value"].(string)
				style, _ := el["style"].(string)
				switch {
				case !plain(el["text"], 75), id == "", len(id) > 255, actionIDs[id], len(value) > 2000,
					style != "" && style != "primary" && style != "danger":
					return "invalid_blocks"
				}
				actionIDs[id] = true
				if c, ok := el["confirm"]; ok {
					co, _ := c.(map[string]any)
					if !plain(co["title"], 100) || !plain(co["confirm"], 30) || !plain(co["deny"], 30) || co["text"] == nil {
						return "invalid_blocks"
					}
				}
			}
		}
	}
	return ""
}

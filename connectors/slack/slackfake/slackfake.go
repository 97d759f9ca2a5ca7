// Package slackfake is an httptest Slack Web API that checks requests the
// way Slack does (method, path, token as bearer header or form field, form fields) and answers in
// Slack's shapes: {"ok":true,…}, {"ok":false,"error":"…"} and 429 with
// Retry-After. Only auth.test, chat.postMessage and chat.update are implemented.
package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
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
}

// Call is one API request as received.
type Call struct {
	Method   string // chat.postMessage, chat.update
	Channel  string
	TS       string
	ThreadTS string
	Text     string
}

// Server is a fake Slack.
type Server struct {
	*httptest.Server
	Token string

	mu       sync.Mutex
	seq      int
	messages map[string]*Message // by ts
	calls    []Call
	// Fail, when set, is asked before each valid call; a non-zero status
	// answers with it (429 gets Retry-After: RetryAfter), or errCode answers
	// {"ok":false,"error":errCode}.
	Fail func(c Call) (status int, errCode string)
	// RetryAfter is the Retry-After seconds sent with a 429.
	RetryAfter int
}

// New starts a fake Slack that accepts token.
func New(token string) *Server {
	s := &Server{Token: token, messages: map[string]*Message{}, RetryAfter: 1}
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
	method, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok || (method != "chat.postMessage" && method != "chat.update" && method != "auth.test") {
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
	c := Call{Method: method, Channel: r.PostForm.Get("channel"), TS: r.PostForm.Get("ts"),
		ThreadTS: r.PostForm.Get("thread_ts"), Text: r.PostForm.Get("text")}
	var blocks []map[string]any
	if b := r.PostForm.Get("blocks"); b != "" {
		if err := json.Unmarshal([]byte(b), &blocks); err != nil {
			fail("invalid_blocks")
			return
		}
		for _, bl := range blocks {
			if _, ok := bl["type"].(string); !ok {
				fail("invalid_blocks")
				return
			}
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		if status, code := s.Fail(c); status != 0 {
			if status == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", fmt.Sprint(s.RetryAfter))
			}
			w.WriteHeader(status)
			fail(map[bool]string{true: "ratelimited", false: "internal_error"}[status == 429])
			return
		} else if code != "" {
			fail(code)
			return
		}
	}
	s.calls = append(s.calls, c)
	switch method {
	case "chat.postMessage":
		if c.ThreadTS != "" && s.messages[c.ThreadTS] == nil {
			fail("thread_not_found")
			return
		}
		s.seq++
		ts := fmt.Sprintf("1700000000.%06d", s.seq)
		s.messages[ts] = &Message{Channel: c.Channel, TS: ts, ThreadTS: c.ThreadTS, Text: c.Text, Blocks: blocks}
		reply(map[string]any{"ok": true, "channel": c.Channel, "ts": ts, "message": map[string]any{"text": c.Text, "ts": ts}})
	case "chat.update":
		m := s.messages[c.TS]
		switch {
		case c.TS == "":
			fail("invalid_arguments")
			return
		case m == nil || m.Channel != c.Channel:
			fail("message_not_found")
			return
		}
		m.Text, m.Blocks = c.Text, blocks
		m.Updates++
		reply(map[string]any{"ok": true, "channel": c.Channel, "ts": c.TS, "text": c.Text})
	}
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

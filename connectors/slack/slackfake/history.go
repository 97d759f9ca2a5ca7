package slackfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

var knownMethods = map[string]bool{
	"auth.test": true, "chat.postMessage": true, "chat.update": true,
	"conversations.members": true, "conversations.history": true, "conversations.replies": true,
}

// nextTS is a fresh message ts: the current time in Slack's
// seconds.microseconds form, strictly after the previous one. Called with
// s.mu held.
func (s *Server) nextTS() string {
	us := time.Now().UnixMicro()
	if us <= s.lastTS {
		us = s.lastTS + 1
	}
	s.lastTS = us
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

// checkMetadata parses a chat.postMessage or chat.update metadata
// argument the way Slack checks it: a JSON object with a string
// event_type and an object event_payload ({} on chat.update removes the
// message's metadata). It returns Slack's error code, or "".
func checkMetadata(raw string, out *map[string]any) string {
	var md map[string]any
	if err := json.Unmarshal([]byte(raw), &md); err != nil || md == nil {
		return "invalid_metadata_format"
	}
	if len(md) == 0 {
		*out = md
		return ""
	}
	typ, _ := md["event_type"].(string)
	_, payload := md["event_payload"].(map[string]any)
	if typ == "" || !payload || len(typ) > 255 {
		return "invalid_metadata_schema"
	}
	*out = md
	return ""
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("slackfake: cannot drop an answer on this connection")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// history answers conversations.history (the channel's top-level
// messages, newest first) and conversations.replies (a thread: its parent
// first, then the replies oldest first), with Slack's arguments: oldest,
// latest and inclusive bound the ts; limit (default 100, at most 999)
// and cursor page, the next page's cursor in
// response_metadata.next_cursor with has_more; each message's metadata
// only with include_all_metadata.
func (s *Server) history(method string, w http.ResponseWriter, r *http.Request, reply func(map[string]any), fail func(string)) {
	f := r.PostForm
	s.mu.Lock()
	s.historyCalls = append(s.historyCalls, f)
	noScope := s.NoHistoryScope
	failed := s.failed(Call{Method: method, Channel: f.Get("channel"), TS: f.Get("ts")}, w, fail)
	s.mu.Unlock()
	if failed {
		return
	}
	if noScope {
		reply(map[string]any{"ok": false, "error": "missing_scope", "needed": "channels:history,groups:history,mpim:history,im:history",
			"provided": "chat:write"})
		return
	}
	channel := f.Get("channel")
	if channel == "" {
		fail("channel_not_found")
		return
	}
	limit := 100
	if l := f.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 999 {
			fail("invalid_limit")
			return
		}
		limit = n
	}
	oldest, latest := f.Get("oldest"), f.Get("latest")
	for _, ts := range []string{oldest, latest} {
		if _, err := strconv.ParseFloat(ts, 64); ts != "" && err != nil {
			fail("invalid_ts_oldest")
			return
		}
	}
	inclusive := boolArg(f.Get("inclusive"))
	withMetadata := boolArg(f.Get("include_all_metadata"))
	after := func(ts string) bool { // within oldest/latest
		if oldest != "" && (tsLess(ts, oldest) || (!inclusive && ts == oldest)) {
			return false
		}
		if latest != "" && (tsLess(latest, ts) || (!inclusive && ts == latest)) {
			return false
		}
		return true
	}
	thread := f.Get("ts")
	if method == "conversations.replies" && thread == "" {
		fail("invalid_arguments")
		return
	}
	var start string // the cursor's position: messages from this ts on
	if c := f.Get("cursor"); c != "" {
		dec, err := base64.StdEncoding.DecodeString(c)
		pos, ok := strings.CutPrefix(string(dec), "next_ts:")
		if err != nil || !ok {
			fail("invalid_cursor")
			return
		}
		start = pos
	}

	s.mu.Lock()
	var list []Message
	var parent *Message
	for _, m := range s.messages {
		switch {
		case m.Channel != channel:
		case method == "conversations.history" && m.ThreadTS == "" && after(m.TS):
			list = append(list, *m)
		case method == "conversations.replies" && m.TS == thread && m.ThreadTS == "":
			p := *m
			parent = &p
		case method == "conversations.replies" && m.ThreadTS == thread && after(m.TS):
			list = append(list, *m)
		}
	}
	replies := map[string]int{}
	for _, m := range s.messages {
		if m.ThreadTS != "" {
			replies[m.ThreadTS]++
		}
	}
	s.mu.Unlock()
	if method == "conversations.replies" && parent == nil {
		fail("thread_not_found")
		return
	}
	newestFirst := method == "conversations.history"
	sort.Slice(list, func(i, j int) bool {
		if newestFirst {
			return tsLess(list[j].TS, list[i].TS)
		}
		return tsLess(list[i].TS, list[j].TS)
	})
	if start != "" {
		for len(list) > 0 && list[0].TS != start {
			list = list[1:]
		}
	}
	next := ""
	if len(list) > limit {
		next = base64.StdEncoding.EncodeToString([]byte("next_ts:" + list[limit].TS))
		list = list[:limit]
	}
	if parent != nil && start == "" {
		list = append([]Message{*parent}, list...)
	}
	out := make([]map[string]any, 0, len(list))
	for _, m := range list {
		o := map[string]any{"type": "message", "user": "U0HUB", "bot_id": "B0HUB", "app_id": "A0HUB", "text": m.Text, "ts": m.TS}
		if m.Blocks != nil {
			o["blocks"] = m.Blocks
		}
		if n := replies[m.TS]; n > 0 {
			o["thread_ts"], o["reply_count"] = m.TS, n
		}
		if m.ThreadTS != "" {
			o["thread_ts"], o["parent_user_id"] = m.ThreadTS, "U0HUB"
		}
		if withMetadata && m.Metadata != nil {
			o["metadata"] = m.Metadata
		}
		out = append(out, o)
	}
	resp := map[string]any{"ok": true, "messages": out, "has_more": next != "",
		"response_metadata": map[string]any{"next_cursor": next}}
	if newestFirst {
		resp["pin_count"] = 0
	}
	reply(resp)
}

// HistoryCalls returns the arguments of each conversations.history and
// conversations.replies call, in order.
func (s *Server) HistoryCalls() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.historyCalls...)
}

func boolArg(v string) bool { return v == "1" || v == "true" }

// tsLess compares Slack timestamps (seconds.microseconds) in time order.
func tsLess(a, b string) bool {
	as, au, _ := strings.Cut(a, ".")
	bs, bu, _ := strings.Cut(b, ".")
	ai, _ := strconv.ParseInt(as, 10, 64)
	bi, _ := strconv.ParseInt(bs, 10, 64)
	if ai != bi {
		return ai < bi
	}
	return padMicros(au) < padMicros(bu)
}

func padMicros(s string) string {
	for len(s) < 6 {
		s += "0"
	}
	return s
}

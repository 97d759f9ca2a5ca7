package slackfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The workspace and app the fake's interactions come from.
const (
	TeamID     = "T0EXAMPLE"
	TeamDomain = "example"
	AppID      = "A0HUBAPP"
	BotID      = "B0HUB"
	BotUserID  = "U0HUB"
	// VerificationToken is the deprecated token Slack still puts in every
	// payload; apps must check the signature instead.
	VerificationToken = "deprecated-verification-token"
)

// responsePath is where the fake's response_urls point.
const responsePath = "/response/"

// Response URL limits: Slack accepts at most five posts to one
// response_url, within 30 minutes of the interaction.
const (
	ResponseURLUses = 5
	ResponseURLTTL  = 30 * time.Minute
)

// User is a Slack user who clicks and types.
type User struct {
	ID   string // U…
	Name string // the user's handle
}

// Response is one message an app posted to a response_url.
type Response struct {
	// For says which interaction's response_url it was: the user, the
	// channel, and the action_id or the command text.
	User, Channel, For string
	ContentType        string
	ResponseType       string // ephemeral or in_channel ("" when absent)
	ReplaceOriginal    bool
	DeleteOriginal     bool
	Text               string
	Blocks             []map[string]any
	// Raw is the body as posted.
	Raw string
}

type responseURL struct {
	user, channel, what string
	issued              time.Time
	uses                int
}

// Answer is an app's HTTP answer to an interaction or a command.
type Answer struct {
	Status  int
	Header  http.Header
	Body    []byte
	Elapsed time.Duration
}

// JSON decodes the answer's body.
func (a *Answer) JSON() (map[string]any, error) {
	var v map[string]any
	err := json.Unmarshal(a.Body, &v)
	return v, err
}

// Sign returns the X-Slack-Signature Slack sends for body at timestamp
// ts with the app's signing secret: v0= and the hex HMAC-SHA256 of
// "v0:{ts}:{body}".
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// newResponseURL issues a response_url for one interaction.
func (s *Server) newResponseURL(kind, user, channel, what string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	key := fmt.Sprintf("%s/%s/%d/%x", kind, TeamID, s.seq, sha256.Sum256([]byte(fmt.Sprint(s.seq, user))))[:60]
	s.urls[key] = &responseURL{user: user, channel: channel, what: what, issued: time.Now()}
	return s.URL + responsePath + key
}

// response receives a post to a response_url, as Slack does: JSON with
// text or blocks, at most ResponseURLUses times within ResponseURLTTL.
func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, responsePath)
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.urls[key]
	switch {
	case r.Method != http.MethodPost:
		http.Error(w, "invalid_method", http.StatusMethodNotAllowed)
		return
	case !ok:
		http.Error(w, "invalid_token", http.StatusNotFound)
		return
	case u.uses >= ResponseURLUses || time.Since(u.issued) > ResponseURLTTL:
		http.Error(w, "used_url", http.StatusNotFound)
		return
	}
	var msg struct {
		ResponseType    string           `json:"response_type"`
		ReplaceOriginal *bool            `json:"replace_original"`
		DeleteOriginal  *bool            `json:"delete_original"`
		Text            string           `json:"text"`
		Blocks          []map[string]any `json:"blocks"`
	}
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/json") || json.Unmarshal(body, &msg) != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	if msg.Text == "" && len(msg.Blocks) == 0 {
		http.Error(w, "no_text", http.StatusBadRequest)
		return
	}
	if err := checkBlocks(msg.Blocks); err != "" {
		http.Error(w, err, http.StatusBadRequest)
		return
	}
	u.uses++
	s.responses = append(s.responses, Response{User: u.user, Channel: u.channel, For: u.what, ContentType: ct,
		ResponseType: msg.ResponseType, ReplaceOriginal: msg.ReplaceOriginal != nil && *msg.ReplaceOriginal,
		DeleteOriginal: msg.DeleteOriginal != nil && *msg.DeleteOriginal, Text: msg.Text, Blocks: msg.Blocks, Raw: string(body)})
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true}`)
}

// Responses returns what apps posted to response_urls, oldest first.
func (s *Server) Responses() []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Response(nil), s.responses...)
}

// BlockActions builds the form Slack posts when user clicks the button
// actionID of message m: payload= a block_actions payload, as Slack sends
// it, with a fresh response_url. It fails when m has no such button.
func (s *Server) BlockActions(u User, m Message, actionID string) (url.Values, error) {
	var action map[string]any
	for _, bl := range m.Blocks {
		if bl["type"] != "actions" {
			continue
		}
		els, _ := bl["elements"].([]any)
		for _, e := range els {
			el, _ := e.(map[string]any)
			if el["action_id"] == actionID {
				action = map[string]any{"action_id": actionID, "block_id": bl["block_id"], "text": el["text"],
					"value": el["value"], "type": el["type"], "action_ts": slackTS(time.Now())}
				if st, ok := el["style"]; ok {
					action["style"] = st
				}
			}
		}
	}
	if action == nil {
		return nil, fmt.Errorf("message %s has no button %q", m.TS, actionID)
	}
	payload := map[string]any{
		"type":       "block_actions",
		"user":       map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": TeamID},
		"api_app_id": AppID,
		"token":      VerificationToken,
		"container":  map[string]any{"type": "message", "message_ts": m.TS, "channel_id": m.Channel, "is_ephemeral": false},
		"trigger_id": fmt.Sprintf("%d.%s.%x", time.Now().UnixNano(), TeamID, sha256.Sum256([]byte(u.ID+m.TS)))[:48],
		"team":       map[string]any{"id": TeamID, "domain": TeamDomain},
		"enterprise": nil, "is_enterprise_install": false,
		"channel": map[string]any{"id": m.Channel, "name": "incidents"},
		"message": map[string]any{"bot_id": BotID, "type": "message", "text": m.Text, "user": BotUserID, "ts": m.TS,
			"app_id": AppID, "blocks": m.Blocks, "team": TeamID},
		"state":        map[string]any{"values": map[string]any{}},
		"response_url": s.newResponseURL("actions", u.ID, m.Channel, actionID),
		"actions":      []any{action},
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	return url.Values{"payload": {string(b)}}, nil
}

// CommandForm builds the form Slack posts when user runs command (e.g.
// "/incident") with text in channel, with a fresh response_url.
func (s *Server) CommandForm(u User, channel, command, text string) url.Values {
	return url.Values{
		"token":                 {VerificationToken},
		"team_id":               {TeamID},
		"team_domain":           {TeamDomain},
		"channel_id":            {channel},
		"channel_name":          {"incidents"},
		"user_id":               {u.ID},
		"user_name":             {u.Name},
		"command":               {command},
		"text":                  {text},
		"api_app_id":            {AppID},
		"is_enterprise_install": {"false"},
		"response_url":          {s.newResponseURL("commands", u.ID, channel, text)},
		"trigger_id":            {fmt.Sprintf("%d.%s.%x", time.Now().UnixNano(), TeamID, sha256.Sum256([]byte(u.ID+text)))[:48]},
	}
}

// Click presses button actionID of message m as user: the signed
// block_actions request Slack sends to the app's requestURL.
func (s *Server) Click(requestURL, secret string, u User, m Message, actionID string) (*Answer, error) {
	form, err := s.BlockActions(u, m, actionID)
	if err != nil {
		return nil, err
	}
	return Post(requestURL, secret, time.Now(), []byte(form.Encode()))
}

// Command runs a slash command as user in channel: the signed form Slack
// sends to the command's request URL.
func (s *Server) Command(requestURL, secret string, u User, channel, command, text string) (*Answer, error) {
	return Post(requestURL, secret, time.Now(), []byte(s.CommandForm(u, channel, command, text).Encode()))
}

// Post sends body to requestURL as Slack does, form-encoded and signed
// with secret at time at (X-Slack-Request-Timestamp, X-Slack-Signature).
// An empty secret sends no signature headers.
func Post(requestURL, secret string, at time.Time, body []byte) (*Answer, error) {
	req, err := http.NewRequest(http.MethodPost, requestURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	if secret != "" {
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(at.Unix(), 10))
		req.Header.Set("X-Slack-Signature", Sign(secret, at.Unix(), body))
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	a := &Answer{Status: resp.StatusCode, Header: resp.Header, Body: b, Elapsed: time.Since(start)}
	if a.Elapsed > 3*time.Second {
		return a, errors.New("the app answered after Slack's 3 seconds: Slack shows the user an error")
	}
	return a, nil
}

func slackTS(t time.Time) string { return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000) }

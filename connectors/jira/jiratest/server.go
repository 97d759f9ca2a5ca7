// Package jiratest is a fake Jira Cloud REST API v3 for tests. It checks
// Basic auth, methods, paths and content types, validates issue fields as
// Jira does (project, issue type, summary length and newlines, Atlassian
// Document Format, priority names, labels without spaces), runs a small
// To Do / In Progress / Done workflow, and answers with Jira's success and
// error shapes, including 401s and 429s with Retry-After.
package jiratest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Credentials and project the fake accepts.
const (
	Email    = "hub@example.com"
	APIToken = "ATATT3xFfGF0-test-token"
	Project  = "OPS"
)

// Priorities are the priority names the fake's scheme has.
var Priorities = []string{"Highest", "High", "Medium", "Low", "Lowest"}

// IssueTypes are the issue types of the fake project.
var IssueTypes = []string{"Task", "Bug", "Incident"}

// Statuses of the workflow, with their category.
var statusCategory = map[string]string{"To Do": "new", "In Progress": "indeterminate", "Done": "done"}

type transition struct{ id, name, to, from string }

// The workflow: every status reachable from every other by a transition
// named after its target, plus "Reopen" from Done.
var transitions = []transition{
	{"11", "To Do", "To Do", ""},
	{"21", "In Progress", "In Progress", ""},
	{"31", "Done", "Done", ""},
	{"41", "Reopen", "To Do", "Done"},
}

// Issue is a created issue.
type Issue struct {
	ID, Key string
	Fields  map[string]any
	Status  string
	// Comments are the ADF bodies of added comments.
	Comments []map[string]any
	// Transitions are the names of transitions applied, in order.
	Transitions []string
}

// Server is the fake.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	issues   []*Issue
	failures map[int]failure
	requests int
	paths    []string
	// searchLag makes search miss issues (Jira's index lags).
	searchLag bool
}

type failure struct {
	status     int
	retryAfter time.Duration
}

// New starts a fake; it is closed when t ends.
func New(t testing.TB) *Server {
	s := &Server{failures: map[int]failure{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

// FailNext makes the next request fail with status; with retryAfter > 0 it
// carries a Retry-After header.
func (s *Server) FailNext(status int, retryAfter time.Duration) { s.FailRequest(1, status, retryAfter) }

// FailRequest makes the n-th request from now (1 is the next) fail.
func (s *Server) FailRequest(n, status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[s.requests+n] = failure{status, retryAfter}
}

// Issues returns copies of the created issues.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, len(s.issues))
	for i, is := range s.issues {
		out[i] = *is
		out[i].Comments = slices.Clone(is.Comments)
		out[i].Transitions = slices.Clone(is.Transitions)
	}
	return out
}

// Requests returns "METHOD path" of every request received, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.paths)
}

// SetStatus moves an issue as a person would in Jira's UI.
func (s *Server) SetStatus(key, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if is := s.find(key); is != nil {
		is.Status = status
	}
}

func (s *Server) find(key string) *Issue {
	for _, is := range s.issues {
		if is.Key == key || is.ID == key {
			return is
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func jiraError(w http.ResponseWriter, status int, messages []string, fields map[string]string) {
	if messages == nil {
		messages = []string{}
	}
	if fields == nil {
		fields = map[string]string{}
	}
	writeJSON(w, status, map[string]any{"errorMessages": messages, "errors": fields})
}

var (
	issuePath       = regexp.MustCompile(`^/rest/api/3/issue/([^/]+)$`)
	commentPath     = regexp.MustCompile(`^/rest/api/3/issue/([^/]+)/comment$`)
	transitionsPath = regexp.MustCompile(`^/rest/api/3/issue/([^/]+)/transitions$`)
	projectPath     = regexp.MustCompile(`^/rest/api/3/project/([^/]+)$`)
)

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.paths = append(s.paths, r.Method+" "+r.URL.Path)
	if f, ok := s.failures[s.requests]; ok {
		delete(s.failures, s.requests)
		if f.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(f.retryAfter/time.Second)))
		}
		if f.status == http.StatusTooManyRequests {
			w.Header().Set("X-RateLimit-Limit", "100")
			w.Header().Set("X-RateLimit-Remaining", "0")
			jiraError(w, f.status, []string{"Rate limit exceeded."}, nil)
			return
		}
		http.Error(w, http.StatusText(f.status), f.status)
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="protected-area"`)
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, "Client must be authenticated to access this resource.")
		return
	}
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			jiraError(w, http.StatusUnsupportedMediaType, []string{"Unsupported Media Type"}, nil)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			jiraError(w, http.StatusBadRequest, []string{"Unexpected character in JSON body: " + err.Error()}, nil)
			return
		}
	}
	p := r.URL.Path
	switch {
	case p == "/rest/api/3/myself" && r.Method == http.MethodGet:
		writeJSON(w, 200, map[string]any{"accountId": "5b10a2844c20165700ede21g", "accountType": "atlassian", "emailAddress": Email, "displayName": "Incident Hub", "active": true})
	case projectPath.MatchString(p) && r.Method == http.MethodGet:
		key := projectPath.FindStringSubmatch(p)[1]
		if key != Project {
			jiraError(w, 404, []string{fmt.Sprintf("No project could be found with key '%s'.", key)}, nil)
			return
		}
		writeJSON(w, 200, map[string]any{"id": "10000", "key": Project, "name": "Operations"})
	case p == "/rest/api/3/issue" && r.Method == http.MethodPost:
		s.create(w, body)
	case p == "/rest/api/3/search/jql" && r.Method == http.MethodGet:
		s.search(w, r)
	case commentPath.MatchString(p) && r.Method == http.MethodPost:
		is := s.find(commentPath.FindStringSubmatch(p)[1])
		if is == nil {
			notFound(w)
			return
		}
		doc, _ := body["body"].(map[string]any)
		if err := validateADF(doc); err != "" {
			jiraError(w, 400, nil, map[string]string{"comment": "Comment body is not valid! " + err})
			return
		}
		is.Comments = append(is.Comments, doc)
		writeJSON(w, 201, map[string]any{"id": strconv.Itoa(10000 + len(is.Comments)), "body": doc, "created": time.Now().UTC().Format("2006-01-02T15:04:05.000-0700")})
	case transitionsPath.MatchString(p) && r.Method == http.MethodGet:
		is := s.find(transitionsPath.FindStringSubmatch(p)[1])
		if is == nil {
			notFound(w)
			return
		}
		var list []map[string]any
		for _, t := range available(is.Status) {
			list = append(list, map[string]any{"id": t.id, "name": t.name, "to": map[string]any{"name": t.to, "statusCategory": map[string]any{"key": statusCategory[t.to]}}, "isAvailable": true})
		}
		writeJSON(w, 200, map[string]any{"expand": "transitions", "transitions": list})
	case transitionsPath.MatchString(p) && r.Method == http.MethodPost:
		is := s.find(transitionsPath.FindStringSubmatch(p)[1])
		if is == nil {
			notFound(w)
			return
		}
		tr, _ := body["transition"].(map[string]any)
		id, _ := tr["id"].(string)
		for _, t := range available(is.Status) {
			if t.id == id {
				is.Status = t.to
				is.Transitions = append(is.Transitions, t.name)
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		jiraError(w, 400, []string{fmt.Sprintf("Transition id '%s' is not valid for this issue.", id)}, nil)
	case issuePath.MatchString(p) && r.Method == http.MethodGet:
		is := s.find(issuePath.FindStringSubmatch(p)[1])
		if is == nil {
			notFound(w)
			return
		}
		writeJSON(w, 200, map[string]any{"id": is.ID, "key": is.Key, "fields": map[string]any{
			"status": map[string]any{"name": is.Status, "statusCategory": map[string]any{"key": statusCategory[is.Status]}},
		}})
	default:
		jiraError(w, 404, []string{"null for uri: " + r.URL.String()}, nil)
	}
}

func notFound(w http.ResponseWriter) {
	jiraError(w, 404, []string{"Issue does not exist or you do not have permission to see it."}, nil)
}

func available(status string) []transition {
	var out []transition
	for _, t := range transitions {
		if t.to != status && (t.from == "" || t.from == status) {
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(h, "Basic ")
	if !ok {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	return err == nil && string(b) == Email+":"+APIToken
}

var jqlLabel = regexp.MustCompile(`labels\s*=\s*"([^"]+)"`)

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	jql := r.URL.Query().Get("jql")
	if jql == "" {
		jiraError(w, 400, []string{"The JQL query is required."}, nil)
		return
	}
	m := jqlLabel.FindStringSubmatch(jql)
	issues := []map[string]any{}
	if m != nil && !s.searchLag {
		for _, is := range s.issues {
			labels, _ := is.Fields["labels"].([]any)
			if slices.Contains(labels, any(m[1])) {
				issues = append(issues, map[string]any{"id": is.ID, "key": is.Key})
			}
		}
	}
	writeJSON(w, 200, map[string]any{"issues": issues, "isLast": true})
}

// SetSearchLag makes search find nothing, as Jira's index does for a
// moment after a create.
func (s *Server) SetSearchLag(lag bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.searchLag = lag
}

func (s *Server) create(w http.ResponseWriter, body map[string]any) {
	fields, _ := body["fields"].(map[string]any)
	if fields == nil {
		jiraError(w, 400, []string{"Issue must have fields"}, nil)
		return
	}
	errs := map[string]string{}
	project, _ := fields["project"].(map[string]any)
	if k, _ := project["key"].(string); k != Project {
		errs["project"] = "Specify a valid project ID or key"
	}
	it, _ := fields["issuetype"].(map[string]any)
	if n, _ := it["name"].(string); !slices.Contains(IssueTypes, n) {
		errs["issuetype"] = "Specify an issue type"
	}
	summary, _ := fields["summary"].(string)
	switch {
	case strings.TrimSpace(summary) == "":
		errs["summary"] = "You must specify a summary of the issue."
	case len([]rune(summary)) > 255:
		errs["summary"] = "Summary must be less than 255 characters."
	case strings.ContainsAny(summary, "\r\n"):
		errs["summary"] = "The summary is invalid because it contains newline characters."
	}
	if d, ok := fields["description"]; ok {
		doc, _ := d.(map[string]any)
		if msg := validateADF(doc); msg != "" {
			errs["description"] = "Operation value must be an Atlassian Document (see the Atlassian Document Format): " + msg
		}
	}
	if p, ok := fields["priority"]; ok {
		pm, _ := p.(map[string]any)
		if n, _ := pm["name"].(string); !slices.Contains(Priorities, n) {
			errs["priority"] = fmt.Sprintf("Specify the Priority (id or name) in the string format. '%v' is not valid", pm["name"])
		}
	}
	if l, ok := fields["labels"]; ok {
		labels, isList := l.([]any)
		if !isList {
			errs["labels"] = "data was not an array"
		}
		for _, x := range labels {
			str, _ := x.(string)
			if str == "" || strings.ContainsAny(str, " \t\n") || len(str) > 255 {
				errs["labels"] = fmt.Sprintf("The label '%s' contains spaces which is invalid.", str)
			}
		}
	}
	for k := range fields {
		if !slices.Contains([]string{"project", "issuetype", "summary", "description", "priority", "labels", "components", "assignee"}, k) {
			errs[k] = fmt.Sprintf("Field '%s' cannot be set. It is not on the appropriate screen, or unknown.", k)
		}
	}
	if len(errs) > 0 {
		jiraError(w, 400, nil, errs)
		return
	}
	id := strconv.Itoa(10000 + len(s.issues) + 1)
	key := fmt.Sprintf("%s-%d", Project, len(s.issues)+1)
	s.issues = append(s.issues, &Issue{ID: id, Key: key, Fields: fields, Status: "To Do"})
	writeJSON(w, 201, map[string]any{"id": id, "key": key, "self": "https://example.atlassian.net/rest/api/3/issue/" + id})
}

// validateADF checks the parts of Atlassian Document Format Jira enforces:
// a doc of version 1, known node types, non-empty text, and link marks
// with an href. It returns "" when doc is valid.
func validateADF(doc map[string]any) string {
	if doc == nil {
		return "not an object"
	}
	if doc["type"] != "doc" {
		return "top-level node must be of type doc"
	}
	if v, _ := doc["version"].(float64); v != 1 {
		return "version must be 1"
	}
	return validateNodes(doc["content"], "doc")
}

var children = map[string][]string{
	"doc":         {"paragraph", "bulletList", "orderedList", "codeBlock", "heading", "rule", "blockquote"},
	"paragraph":   {"text", "hardBreak", "mention", "emoji", "inlineCard"},
	"heading":     {"text", "hardBreak"},
	"bulletList":  {"listItem"},
	"orderedList": {"listItem"},
	"listItem":    {"paragraph", "bulletList", "orderedList", "codeBlock"},
	"codeBlock":   {"text"},
	"blockquote":  {"paragraph"},
}

func validateNodes(content any, parent string) string {
	list, ok := content.([]any)
	if !ok {
		if content == nil && (parent == "paragraph" || parent == "codeBlock" || parent == "heading") {
			return ""
		}
		return parent + ": content must be an array"
	}
	if len(list) == 0 && (parent == "bulletList" || parent == "orderedList" || parent == "listItem") {
		return parent + ": must not be empty"
	}
	for _, x := range list {
		n, _ := x.(map[string]any)
		typ, _ := n["type"].(string)
		if !slices.Contains(children[parent], typ) {
			return fmt.Sprintf("%s cannot contain %q", parent, typ)
		}
		if typ == "text" {
			if t, _ := n["text"].(string); t == "" {
				return "text nodes must not be empty"
			}
			marks, _ := n["marks"].([]any)
			for _, m := range marks {
				mm, _ := m.(map[string]any)
				switch mm["type"] {
				case "strong", "em", "code", "strike", "underline":
				case "link":
					attrs, _ := mm["attrs"].(map[string]any)
					if h, _ := attrs["href"].(string); h == "" {
						return "link mark needs attrs.href"
					}
				default:
					return fmt.Sprintf("unknown mark %v", mm["type"])
				}
			}
			continue
		}
		if _, leaf := map[string]bool{"hardBreak": true, "rule": true, "mention": true, "emoji": true, "inlineCard": true}[typ]; leaf {
			continue
		}
		if msg := validateNodes(n["content"], typ); msg != "" {
			return msg
		}
	}
	return ""
}

// Text flattens an ADF document to its text, paragraphs on their own lines,
// for assertions.
func Text(doc map[string]any) string {
	var b strings.Builder
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		if t, ok := n["text"].(string); ok {
			b.WriteString(t)
		}
		list, _ := n["content"].([]any)
		for _, c := range list {
			m, _ := c.(map[string]any)
			walk(m)
		}
		if n["type"] == "paragraph" || n["type"] == "codeBlock" {
			b.WriteString("\n")
		}
	}
	walk(doc)
	return b.String()
}

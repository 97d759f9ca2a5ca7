// Package servicenowtest is a fake ServiceNow Table API for the incident
// table. It checks Basic or bearer auth, methods, paths and content types,
// enforces the incident data policy the real instance enforces (close_code
// and close_notes mandatory when resolving) and answers with ServiceNow's
// {"result": ...} and {"error": {"message","detail"},"status":"failure"}
// shapes. It is stricter than a real instance in one way, on purpose:
// ServiceNow stores an invalid choice value (urgency "5") or an over-long
// short_description silently, the fake rejects them so connector bugs show.
package servicenowtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
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

// Credentials the fake accepts.
const (
	Username = "incidenthub"
	Password = "sn-password-123"
	Token    = "sn-oauth-access-token-123"
)

// Incident is a record of the incident table.
type Incident struct {
	SysID, Number string
	// Fields are the record's current values.
	Fields map[string]any
	// WorkNotes are the journal entries added, in order.
	WorkNotes []string
	// Updates are the PATCH bodies received, in order.
	Updates []map[string]any
}

// Server is the fake.
type Server struct {
	*httptest.Server

	mu        sync.Mutex
	incidents []*Incident
	failures  map[int]failure
	requests  int
	paths     []string
	hibernate bool
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

// Hibernate makes the instance answer like a sleeping developer instance:
// 200 with an HTML page.
func (s *Server) Hibernate(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hibernate = on
}

// Incidents returns copies of the records in creation order.
func (s *Server) Incidents() []Incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Incident, len(s.incidents))
	for i, in := range s.incidents {
		out[i] = Incident{SysID: in.SysID, Number: in.Number, Fields: maps.Clone(in.Fields),
			WorkNotes: slices.Clone(in.WorkNotes), Updates: slices.Clone(in.Updates)}
	}
	return out
}

// Requests returns "METHOD path" of every request, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.paths)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func snError(w http.ResponseWriter, status int, message, detail string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": message, "detail": detail}, "status": "failure"})
}

const tablePath = "/api/now/table/incident"

var recordPath = regexp.MustCompile(`^/api/now/table/incident/([0-9a-f]{32})$`)

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
			snError(w, f.status, "Rate limit exceeded", "The rate limit rule 'Incident Hub' allows 100 requests per hour")
			return
		}
		http.Error(w, http.StatusText(f.status), f.status)
		return
	}
	if s.hibernate {
		w.Header().Set("Content-Type", "text/html;charset=UTF-8")
		_, _ = io.WriteString(w, "<html><body>Your instance is hibernating</body></html>")
		return
	}
	if !authorized(r) {
		snError(w, http.StatusUnauthorized, "User Not Authenticated", "Required to provide Auth information")
		return
	}
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			snError(w, http.StatusUnsupportedMediaType, "Unsupported Media Type", "Content-Type must be application/json")
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			snError(w, http.StatusBadRequest, "Exception while reading request", "The payload is not valid JSON.")
			return
		}
	}
	switch {
	case r.URL.Path == tablePath && r.Method == http.MethodGet:
		s.list(w, r)
	case r.URL.Path == tablePath && r.Method == http.MethodPost:
		if msg := validate(body, nil); msg != "" {
			snError(w, http.StatusBadRequest, "Invalid field value", msg)
			return
		}
		if sd, _ := body["short_description"].(string); strings.TrimSpace(sd) == "" {
			snError(w, http.StatusForbidden, "Operation Failed", "Data Policy Exception: \n\tThe following fields are mandatory: Short description\n")
			return
		}
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		in := &Incident{SysID: hex.EncodeToString(b), Number: fmt.Sprintf("INC%07d", 10001+len(s.incidents)), Fields: map[string]any{"state": "1", "urgency": "3", "impact": "3"}}
		if err := s.apply(in, body); err != "" {
			snError(w, http.StatusForbidden, "Operation Failed", err)
			return
		}
		s.incidents = append(s.incidents, in)
		writeJSON(w, http.StatusCreated, map[string]any{"result": project(in, r)})
	case recordPath.MatchString(r.URL.Path) && (r.Method == http.MethodPatch || r.Method == http.MethodPut):
		in := s.find(recordPath.FindStringSubmatch(r.URL.Path)[1])
		if in == nil {
			snError(w, http.StatusNotFound, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
			return
		}
		if msg := validate(body, in); msg != "" {
			snError(w, http.StatusBadRequest, "Invalid field value", msg)
			return
		}
		if err := s.apply(in, body); err != "" {
			snError(w, http.StatusForbidden, "Operation Failed", err)
			return
		}
		in.Updates = append(in.Updates, body)
		writeJSON(w, http.StatusOK, map[string]any{"result": project(in, r)})
	case recordPath.MatchString(r.URL.Path) && r.Method == http.MethodGet:
		in := s.find(recordPath.FindStringSubmatch(r.URL.Path)[1])
		if in == nil {
			snError(w, http.StatusNotFound, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"result": project(in, r)})
	default:
		snError(w, http.StatusBadRequest, "Requested URI does not represent any resource", r.URL.Path)
	}
}

func authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return tok == Token
	}
	raw, ok := strings.CutPrefix(h, "Basic ")
	if !ok {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	return err == nil && string(b) == Username+":"+Password
}

func (s *Server) find(sysID string) *Incident {
	for _, in := range s.incidents {
		if in.SysID == sysID {
			return in
		}
	}
	return nil
}

// list supports sysparm_query of the form field=value[^field=value] and
// sysparm_limit.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := len(s.incidents)
	if l := q.Get("sysparm_limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			snError(w, http.StatusBadRequest, "Invalid sysparm_limit", l)
			return
		}
		limit = n
	}
	var conds [][2]string
	if query := q.Get("sysparm_query"); query != "" {
		for _, c := range strings.Split(query, "^") {
			k, v, ok := strings.Cut(c, "=")
			if !ok {
				snError(w, http.StatusBadRequest, "Unsupported query in fake", c)
				return
			}
			conds = append(conds, [2]string{k, v})
		}
	}
	out := []map[string]any{}
	for _, in := range s.incidents {
		match := true
		for _, c := range conds {
			if fmt.Sprint(in.Fields[c[0]]) != c[1] {
				match = false
			}
		}
		if match && len(out) < limit {
			out = append(out, project(in, r))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": out})
}

// project returns the record as the API would, honouring sysparm_fields.
func project(in *Incident, r *http.Request) map[string]any {
	all := maps.Clone(in.Fields)
	all["sys_id"], all["number"] = in.SysID, in.Number
	fields := r.URL.Query().Get("sysparm_fields")
	if fields == "" {
		return all
	}
	out := map[string]any{}
	for _, f := range strings.Split(fields, ",") {
		if v, ok := all[f]; ok {
			out[f] = v
		} else {
			out[f] = ""
		}
	}
	return out
}

var choices = map[string][]string{
	"urgency": {"1", "2", "3"},
	"impact":  {"1", "2", "3"},
	"state":   {"1", "2", "3", "6", "7", "8"},
}

// validate is the fake's strictness beyond the real API: choice values and
// field lengths.
func validate(body map[string]any, in *Incident) string {
	for f, allowed := range choices {
		if v, ok := body[f]; ok {
			str, isStr := v.(string)
			if !isStr || !slices.Contains(allowed, str) {
				return fmt.Sprintf("%s: %v is not one of %s", f, v, strings.Join(allowed, ", "))
			}
		}
	}
	if sd, ok := body["short_description"].(string); ok && len([]rune(sd)) > 160 {
		return "short_description: longer than 160 characters"
	}
	return ""
}

// apply writes body into the record, enforcing the resolve data policy and
// turning work_notes into journal entries.
func (s *Server) apply(in *Incident, body map[string]any) string {
	next := maps.Clone(in.Fields)
	for k, v := range body {
		if k == "work_notes" || k == "comments" {
			continue
		}
		next[k] = v
	}
	if st := next["state"]; st == "6" || st == "7" {
		var missing []string
		if cc, _ := next["close_code"].(string); cc == "" {
			missing = append(missing, "Resolution code")
		}
		if cn, _ := next["close_notes"].(string); cn == "" {
			missing = append(missing, "Resolution notes")
		}
		if len(missing) > 0 {
			return "Data Policy Exception: \n\tThe following fields are mandatory: " + strings.Join(missing, ", ") + "\n"
		}
	}
	if in.Fields["state"] == "7" && len(body) > 0 {
		return "ACL Exception Update Failed due to security constraints"
	}
	in.Fields = next
	if wn, _ := body["work_notes"].(string); wn != "" {
		in.WorkNotes = append(in.WorkNotes, wn)
	}
	return ""
}

// Package pagerdutytest is a fake PagerDuty Events API v2 for tests: it
// validates events as the real endpoint does (method, path, content type,
// routing key, event_action, required payload fields and their enums and
// limits), answers with PagerDuty's success and error shapes, and keeps
// the alerts the events would create so tests can inspect them.
package pagerdutytest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// RoutingKey is the integration key the fake accepts unless told otherwise.
const RoutingKey = "R0ABCDEF0123456789ABCDEF01234567"

// Path is the enqueue path.
const Path = "/v2/enqueue"

// Event is one accepted event.
type Event struct {
	RoutingKey string
	Action     string
	DedupKey   string
	// Body is the whole event as sent.
	Body map[string]any
	// Payload is the trigger's payload; nil for acknowledge/resolve.
	Payload map[string]any
}

// Alert is the state PagerDuty would keep for a dedup_key.
type Alert struct {
	DedupKey string
	Status   string // triggered, acknowledged, resolved
	Severity string
	Summary  string
	Source   string
	// Triggers counts trigger events de-duplicated into this alert.
	Triggers int
}

// Server is the fake.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	keys     map[string]bool
	events   []Event
	alerts   map[string]*Alert
	order    []string
	failures map[int]failure // by request number
	requests int
}

type failure struct {
	status     int
	retryAfter time.Duration
}

// New starts a fake accepting RoutingKey; it is closed when t ends.
func New(t testing.TB) *Server {
	s := &Server{keys: map[string]bool{RoutingKey: true}, alerts: map[string]*Alert{}, failures: map[int]failure{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

// EnqueueURL is the URL to configure as the connector's url.
func (s *Server) EnqueueURL() string { return s.URL + Path }

// FailNext makes the next request fail with status (429 or 5xx, say) and,
// when retryAfter > 0, a Retry-After header.
func (s *Server) FailNext(status int, retryAfter time.Duration) { s.FailRequest(1, status, retryAfter) }

// FailRequest makes the n-th request from now (1 is the next) fail like
// FailNext.
func (s *Server) FailRequest(n, status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[s.requests+n] = failure{status, retryAfter}
}

// Events returns the accepted events in order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// Alerts returns the alerts in creation order.
func (s *Server) Alerts() []Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Alert, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, *s.alerts[k])
	}
	return out
}

// Alert returns the alert for a dedup_key.
func (s *Server) Alert(dedupKey string) (Alert, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.alerts[dedupKey]
	if !ok {
		return Alert{}, false
	}
	return *a, true
}

// Requests counts every request received, failed or not.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func invalid(w http.ResponseWriter, errs ...string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"status":  "invalid event",
		"message": "Event object is invalid",
		"errors":  errs,
	})
}

var (
	actions    = []string{"trigger", "acknowledge", "resolve"}
	severities = []string{"critical", "error", "warning", "info"}
)

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if f, ok := s.failures[s.requests]; ok {
		delete(s.failures, s.requests)
		if f.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(f.retryAfter/time.Second)))
		}
		if f.status == http.StatusTooManyRequests {
			writeJSON(w, f.status, map[string]any{"status": "throttle event", "message": "Requests for this service are arriving too quickly.  Please retry later."})
			return
		}
		http.Error(w, http.StatusText(f.status), f.status)
		return
	}
	if r.URL.Path != Path {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		invalid(w, "Content-Type must be application/json")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 512<<10+1))
	if err != nil {
		invalid(w, "could not read body")
		return
	}
	if len(raw) > 512<<10 {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"status": "invalid event", "message": "Event object is too large", "errors": []string{"Maximum event size is 512KB"}})
		return
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "invalid request", "message": "Request body is not valid JSON", "errors": []string{err.Error()}})
		return
	}

	var errs []string
	key, _ := ev["routing_key"].(string)
	action, _ := ev["event_action"].(string)
	dedup, hasDedup := ev["dedup_key"].(string)
	switch {
	case key == "":
		errs = append(errs, "'routing_key' is missing or blank")
	case len(key) != 32:
		errs = append(errs, "'routing_key' must be 32 characters")
	case !s.keys[key]:
		errs = append(errs, "Invalid routing key")
	}
	if !slices.Contains(actions, action) {
		errs = append(errs, "'event_action' must be one of trigger, acknowledge, resolve")
	}
	if hasDedup && len(dedup) > 255 {
		errs = append(errs, "'dedup_key' must be at most 255 characters")
	}
	if (action == "acknowledge" || action == "resolve") && dedup == "" {
		errs = append(errs, "'dedup_key' is missing or blank")
	}
	var payload map[string]any
	if action == "trigger" {
		payload, _ = ev["payload"].(map[string]any)
		if payload == nil {
			errs = append(errs, "'payload' is missing or not an object")
		} else {
			errs = append(errs, validatePayload(payload)...)
		}
		if links, ok := ev["links"]; ok {
			l, ok := links.([]any)
			if !ok {
				errs = append(errs, "'links' must be an array")
			}
			for i, x := range l {
				m, _ := x.(map[string]any)
				if h, _ := m["href"].(string); h == "" {
					errs = append(errs, fmt.Sprintf("'links[%d].href' is missing or blank", i))
				}
			}
		}
	}
	if len(errs) > 0 {
		invalid(w, errs...)
		return
	}

	if dedup == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		dedup = hex.EncodeToString(b)
	}
	s.events = append(s.events, Event{RoutingKey: key, Action: action, DedupKey: dedup, Body: ev, Payload: payload})
	a := s.alerts[dedup]
	switch action {
	case "trigger":
		if a == nil || a.Status == "resolved" {
			if a == nil {
				s.order = append(s.order, dedup)
			}
			a = &Alert{DedupKey: dedup, Status: "triggered"}
			s.alerts[dedup] = a
		}
		a.Triggers++
		a.Severity, _ = payload["severity"].(string)
		a.Summary, _ = payload["summary"].(string)
		a.Source, _ = payload["source"].(string)
	case "acknowledge":
		if a != nil && a.Status == "triggered" {
			a.Status = "acknowledged"
		}
	case "resolve":
		if a != nil {
			a.Status = "resolved"
		}
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "success", "message": "Event processed", "dedup_key": dedup})
}

func validatePayload(p map[string]any) []string {
	var errs []string
	summary, _ := p["summary"].(string)
	switch {
	case summary == "":
		errs = append(errs, "'payload.summary' is missing or blank")
	case len([]rune(summary)) > 1024:
		errs = append(errs, "'payload.summary' must be at most 1024 characters")
	}
	if src, _ := p["source"].(string); src == "" {
		errs = append(errs, "'payload.source' is missing or blank")
	}
	if sev, _ := p["severity"].(string); !slices.Contains(severities, sev) {
		errs = append(errs, "'payload.severity' must be one of critical, error, warning, info")
	}
	if ts, ok := p["timestamp"]; ok {
		str, _ := ts.(string)
		if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
			errs = append(errs, "'payload.timestamp' must be an ISO 8601 timestamp")
		}
	}
	for _, f := range []string{"component", "group", "class"} {
		if v, ok := p[f]; ok {
			if _, isStr := v.(string); !isStr {
				errs = append(errs, fmt.Sprintf("'payload.%s' must be a string", f))
			}
		}
	}
	if cd, ok := p["custom_details"]; ok {
		if _, isObj := cd.(map[string]any); !isObj {
			if _, isStr := cd.(string); !isStr {
				errs = append(errs, "'payload.custom_details' must be an object or a string")
			}
		}
	}
	return errs
}

// Package statuspagetest is a fake Atlassian Statuspage API (v1) for one
// page. It checks the "Authorization: OAuth <key>" header, methods, paths
// and content type, validates incident fields as Statuspage does (name,
// status and impact enums, component ids of the page and their status
// enum), keeps the page's components in the state incidents put them in,
// enforces a requests-per-minute limit answering 420 like the real API,
// and answers with Statuspage's success and {"error": ...} shapes.
package statuspagetest

import (
	"encoding/json"
	"fmt"
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

// The page, key and components the fake has.
const (
	APIKey            = "2a7b9c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"
	PageID            = "kctbh9vrtdwd"
	ComponentCheckout = "k3vrbyjh4c8x"
	ComponentPayments = "p0lq7bxbbsw2"
)

// Update is one incident update as posted.
type Update struct {
	Status string
	Body   string
	// Components is the components map sent with it.
	Components map[string]string
}

// Incident is a page incident.
type Incident struct {
	ID, Name, Status, Impact string
	Shortlink                string
	ComponentIDs             []string
	Notify                   bool
	Updates                  []Update
}

// Server is the fake.
type Server struct {
	*httptest.Server

	mu         sync.Mutex
	incidents  []*Incident
	components map[string]string
	failures   map[int]failure
	requests   int
	paths      []string
	perMinute  int
	recent     []time.Time
}

type failure struct {
	status     int
	retryAfter time.Duration
}

// New starts a fake with the two components operational and Statuspage's
// limit of 60 requests per minute; it is closed when t ends.
func New(t testing.TB) *Server {
	s := &Server{
		components: map[string]string{ComponentCheckout: "operational", ComponentPayments: "operational"},
		failures:   map[int]failure{},
		perMinute:  60,
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

// SetRateLimit changes the requests allowed per rolling minute.
func (s *Server) SetRateLimit(perMinute int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perMinute = perMinute
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

// Incidents returns copies of the incidents in creation order.
func (s *Server) Incidents() []Incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Incident, len(s.incidents))
	for i, in := range s.incidents {
		out[i] = *in
		out[i].Updates = slices.Clone(in.Updates)
		out[i].ComponentIDs = slices.Clone(in.ComponentIDs)
	}
	return out
}

// Components returns the page's component statuses.
func (s *Server) Components() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.components)
}

// Requests returns "METHOD path" of every request, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.paths)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func spError(w http.ResponseWriter, status int, msg any) {
	writeJSON(w, status, map[string]any{"error": msg})
}

var (
	pagePath      = regexp.MustCompile(`^/v1/pages/([^/]+)$`)
	compsPath     = regexp.MustCompile(`^/v1/pages/([^/]+)/components$`)
	incidentsPath = regexp.MustCompile(`^/v1/pages/([^/]+)/incidents$`)
	incidentPath  = regexp.MustCompile(`^/v1/pages/([^/]+)/incidents/([^/]+)$`)
)

var (
	realtime          = []string{"investigating", "identified", "monitoring", "resolved"}
	impacts           = []string{"none", "minor", "major", "critical"}
	componentStatuses = []string{"operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"}
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
		if f.status == 420 || f.status == http.StatusTooManyRequests {
			spError(w, f.status, "Rate limit exceeded. Please wait before retrying.")
			return
		}
		http.Error(w, http.StatusText(f.status), f.status)
		return
	}
	now := time.Now()
	kept := s.recent[:0]
	for _, t := range s.recent {
		if now.Sub(t) < time.Minute {
			kept = append(kept, t)
		}
	}
	s.recent = append(kept, now)
	if len(s.recent) > s.perMinute {
		spError(w, 420, "Rate limit exceeded. Please wait before retrying.")
		return
	}
	if r.Header.Get("Authorization") != "OAuth "+APIKey {
		spError(w, http.StatusUnauthorized, "Could not authenticate")
		return
	}
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			spError(w, http.StatusBadRequest, "Content-Type must be application/json")
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			spError(w, http.StatusBadRequest, "Invalid JSON: "+err.Error())
			return
		}
	}
	page := func(re *regexp.Regexp) bool {
		m := re.FindStringSubmatch(r.URL.Path)
		if m == nil {
			return false
		}
		if m[1] != PageID {
			spError(w, http.StatusNotFound, "Could not find page "+m[1])
			return false
		}
		return true
	}
	switch {
	case pagePath.MatchString(r.URL.Path) && r.Method == http.MethodGet:
		if page(pagePath) {
			writeJSON(w, 200, map[string]any{"id": PageID, "name": "Example Status", "subdomain": "example", "url": "https://status.example.com"})
		}
	case compsPath.MatchString(r.URL.Path) && r.Method == http.MethodGet:
		if page(compsPath) {
			var list []map[string]any
			for _, id := range slices.Sorted(maps.Keys(s.components)) {
				list = append(list, map[string]any{"id": id, "page_id": PageID, "status": s.components[id], "name": id})
			}
			writeJSON(w, 200, list)
		}
	case incidentsPath.MatchString(r.URL.Path) && r.Method == http.MethodPost:
		if page(incidentsPath) {
			s.create(w, body)
		}
	case incidentPath.MatchString(r.URL.Path) && (r.Method == http.MethodPatch || r.Method == http.MethodPut):
		if page(incidentPath) {
			s.update(w, incidentPath.FindStringSubmatch(r.URL.Path)[2], body)
		}
	default:
		spError(w, http.StatusNotFound, "Not found")
	}
}

// validate checks an incident object; create requires a name.
func (s *Server) validate(inc map[string]any, create bool) []string {
	var errs []string
	if create {
		if n, _ := inc["name"].(string); strings.TrimSpace(n) == "" {
			errs = append(errs, "Name can't be blank")
		}
	}
	if st, ok := inc["status"]; ok || create {
		str, _ := st.(string)
		if !slices.Contains(realtime, str) {
			errs = append(errs, fmt.Sprintf("Status %q is not included in the list", str))
		}
	}
	if im, ok := inc["impact_override"]; ok {
		if str, _ := im.(string); !slices.Contains(impacts, str) {
			errs = append(errs, fmt.Sprintf("Impact override %q is not included in the list", str))
		}
	}
	if ids, ok := inc["component_ids"]; ok {
		list, _ := ids.([]any)
		for _, x := range list {
			id, _ := x.(string)
			if _, ok := s.components[id]; !ok {
				errs = append(errs, fmt.Sprintf("Component %q does not belong to this page", id))
			}
		}
	}
	if cs, ok := inc["components"]; ok {
		m, isObj := cs.(map[string]any)
		if !isObj {
			errs = append(errs, "Components must be an object of component id to status")
		}
		for id, v := range m {
			if _, ok := s.components[id]; !ok {
				errs = append(errs, fmt.Sprintf("Component %q does not belong to this page", id))
			}
			if str, _ := v.(string); !slices.Contains(componentStatuses, str) {
				errs = append(errs, fmt.Sprintf("Component status %q is not included in the list", str))
			}
		}
	}
	return errs
}

func (s *Server) create(w http.ResponseWriter, body map[string]any) {
	inc, _ := body["incident"].(map[string]any)
	if inc == nil {
		spError(w, http.StatusBadRequest, "param is missing or the value is empty: incident")
		return
	}
	if errs := s.validate(inc, true); len(errs) > 0 {
		spError(w, http.StatusUnprocessableEntity, errs)
		return
	}
	id := fmt.Sprintf("inc%09d", len(s.incidents)+1)
	in := &Incident{ID: id, Shortlink: "https://stspg.io/" + id[len(id)-5:], Impact: "none"}
	in.Name, _ = inc["name"].(string)
	s.incidents = append(s.incidents, in)
	s.apply(in, inc)
	writeJSON(w, http.StatusCreated, s.view(in))
}

func (s *Server) update(w http.ResponseWriter, id string, body map[string]any) {
	var in *Incident
	for _, x := range s.incidents {
		if x.ID == id {
			in = x
		}
	}
	if in == nil {
		spError(w, http.StatusNotFound, "Could not find incident "+id)
		return
	}
	inc, _ := body["incident"].(map[string]any)
	if inc == nil {
		spError(w, http.StatusBadRequest, "param is missing or the value is empty: incident")
		return
	}
	if errs := s.validate(inc, false); len(errs) > 0 {
		spError(w, http.StatusUnprocessableEntity, errs)
		return
	}
	s.apply(in, inc)
	writeJSON(w, http.StatusOK, s.view(in))
}

func (s *Server) apply(in *Incident, inc map[string]any) {
	if n, ok := inc["name"].(string); ok && n != "" {
		in.Name = n
	}
	if st, ok := inc["status"].(string); ok {
		in.Status = st
	}
	if im, ok := inc["impact_override"].(string); ok {
		in.Impact = im
	}
	if n, ok := inc["deliver_notifications"].(bool); ok {
		in.Notify = n
	}
	if ids, ok := inc["component_ids"].([]any); ok {
		in.ComponentIDs = nil
		for _, x := range ids {
			id, _ := x.(string)
			in.ComponentIDs = append(in.ComponentIDs, id)
		}
	}
	u := Update{Status: in.Status, Components: map[string]string{}}
	u.Body, _ = inc["body"].(string)
	if cs, ok := inc["components"].(map[string]any); ok {
		for id, v := range cs {
			st, _ := v.(string)
			s.components[id] = st
			u.Components[id] = st
		}
	}
	in.Updates = append(in.Updates, u)
}

func (s *Server) view(in *Incident) map[string]any {
	var comps []map[string]any
	for _, id := range in.ComponentIDs {
		comps = append(comps, map[string]any{"id": id, "status": s.components[id]})
	}
	return map[string]any{"id": in.ID, "name": in.Name, "status": in.Status, "impact": in.Impact,
		"shortlink": in.Shortlink, "page_id": PageID, "components": comps}
}

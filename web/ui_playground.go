package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/rules"
)

// The Rules playground: choose a source, paste a payload or pick one of
// the source's recent events, optionally a time, and see the dry run the
// same engine call as POST /api/v1/rules/test makes (rules.Engine.Test):
// the normalized alerts, every rule matched or not with its file:line,
// routes, correlation key and silence. Nothing is stored. The page also
// shows the running config version and the last reload, as
// GET /api/v1/config does.

const playgroundRecent = 10

type playgroundView struct {
	uiPage
	Sources []playSource
	Source  string
	Payload string
	At      string
	EventID string // the stored event the payload came from
	Recent  []store.EventBrief
	// Problem is bad input or a payload that does not map, in words; the
	// form keeps what was entered.
	Problem string
	Report  *playReport
	Config  *ConfigStatus
	NoRules bool
}

type playSource struct{ Name, Kind string }

// playReport is the dry run as the page shows it.
type playReport struct {
	*rules.TestReport
	Alerts   []playAlert
	Warnings []playWarning
}

type playAlert struct {
	rules.AlertReport
	Steps   []playStep
	Changed []fieldChange // what the rules' set actions changed
}

type playStep struct {
	rules.Step
	Where string // file:line, the file relative to the config's directory
}

// playWarning is a normalization warning as the dry run's JSON carries
// it (what the mapping worked around, e.g. an unreadable timestamp).
type playWarning struct {
	Field   string `json:"field"`
	Path    string `json:"path"`
	Value   string `json:"value"`
	Message string `json:"message"`
}

// maxPlaygroundForm bounds the playground's form like the API's dry run.
const maxPlaygroundForm = maxRulesTestBody + 64<<10

// playgroundForm reads the playground's POST form, which may hold a
// payload larger than other forms (before uiCSRF reads it).
func playgroundForm(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxPlaygroundForm)
	if err := c.Request.ParseForm(); err != nil {
		c.Request.PostForm = nil // uiCSRF reports it
	}
	c.Next()
}

func (s *server) playgroundPage(c *gin.Context) {
	v := &playgroundView{uiPage: uiPage{Title: "Rules playground", Nav: "rules"}}
	cfg := s.Config()
	for _, src := range cfg.Sources {
		v.Sources = append(v.Sources, playSource{Name: src.Name, Kind: src.Kind})
	}
	if s.ConfigStatus != nil {
		st := s.ConfigStatus()
		v.Config = &st
	}
	form := func(k string) string { return c.Request.FormValue(k) }
	if c.Request.Method == http.MethodGet {
		form = c.Query
	}
	v.Source = strings.TrimSpace(form("source"))
	v.At = strings.TrimSpace(form("at"))
	v.EventID = strings.TrimSpace(form("event"))
	v.Payload = form("payload")
	if v.Source == "" && len(v.Sources) > 0 && v.EventID == "" {
		v.Source = v.Sources[0].Name
	}
	var eng *rules.Engine
	if s.Rules != nil {
		eng = s.Rules()
	}
	v.NoRules = eng == nil
	run := c.Request.Method == http.MethodPost || v.EventID != ""
	status := http.StatusOK
	if run {
		var err error
		if v.Report, err = s.dryRun(c, eng, v); err != nil {
			code := incidenthub.ErrorCode(err)
			if code == incidenthub.EINTERNAL || statuses[code] == 0 {
				s.uiFail(c, err)
				return
			}
			// The page with the form and the problem, under the status the
			// API would answer.
			v.Problem, status = incidenthub.ErrorMessage(err), statuses[code]
		}
	}
	if known(v.Sources, v.Source) {
		var err error
		if v.Recent, err = s.Store.RecentEventsOf(c.Request.Context(), v.Source, playgroundRecent); err != nil {
			s.uiFail(c, err)
			return
		}
	}
	s.renderStatus(c, status, "playground", "layout", v)
}

// playgroundRecentEvents renders only the recent-events picker of a
// source (htmx swaps it in when the source changes).
func (s *server) playgroundRecentEvents(c *gin.Context) {
	v := &playgroundView{Source: c.Query("source")}
	for _, src := range s.Config().Sources {
		v.Sources = append(v.Sources, playSource{Name: src.Name, Kind: src.Kind})
	}
	if known(v.Sources, v.Source) {
		var err error
		if v.Recent, err = s.Store.RecentEventsOf(c.Request.Context(), v.Source, playgroundRecent); err != nil {
			s.uiFail(c, err)
			return
		}
	}
	s.renderPartial(c, "playground", "recent-events", v)
}

func known(sources []playSource, name string) bool {
	for _, s := range sources {
		if s.Name == name {
			return true
		}
	}
	return false
}

// dryRun checks the form and runs the engine's dry run. Errors are
// *incidenthub.Error whose message says what to fix.
func (s *server) dryRun(c *gin.Context, eng *rules.Engine, v *playgroundView) (*playReport, error) {
	if eng == nil {
		return nil, incidenthub.Errorf(incidenthub.EUNAVAILABLE, "Routing rules are not loaded in this process, so there is nothing to dry-run.")
	}
	payload := []byte(v.Payload)
	if v.EventID != "" && strings.TrimSpace(v.Payload) == "" {
		ev, err := s.Store.GetEvent(c.Request.Context(), v.EventID)
		if err != nil {
			if incidenthub.ErrorCode(err) == incidenthub.ENOTFOUND {
				return nil, incidenthub.Errorf(incidenthub.EINVALID, "There is no stored event %q.", v.EventID)
			}
			return nil, err
		}
		if v.Source == "" {
			v.Source = ev.Source
		}
		if ev.Source != v.Source {
			return nil, incidenthub.Errorf(incidenthub.EINVALID, "Event %s came from source %s, not %s: choose %s to dry-run it.", v.EventID, ev.Source, v.Source, ev.Source)
		}
		payload = ev.Body
		v.Payload = prettyJSON(ev.Body)
	}
	if v.Source == "" {
		return nil, incidenthub.Errorf(incidenthub.EINVALID, "Choose a source: its kind decides how the payload is read.")
	}
	if !known(v.Sources, v.Source) {
		names := make([]string, len(v.Sources))
		for i, src := range v.Sources {
			names[i] = src.Name
		}
		return nil, incidenthub.Errorf(incidenthub.EINVALID, "There is no source %q in the running config (configured: %s).", v.Source, strings.Join(names, ", "))
	}
	if strings.TrimSpace(string(payload)) == "" {
		return nil, incidenthub.Errorf(incidenthub.EINVALID, "Paste a payload, or pick one of the source's recent events.")
	}
	if err := payloadJSON(payload); err != nil {
		return nil, err
	}
	at := time.Now()
	if v.At != "" {
		t, err := parseWhen(v.At)
		if err != nil {
			return nil, err
		}
		at = t
	}
	rep, err := eng.Test(v.Source, payload, at)
	if err == nil {
		v.Payload = prettyJSON(payload) // shown indented
	}
	if err != nil {
		if code := incidenthub.ErrorCode(err); code != incidenthub.EINTERNAL && code != incidenthub.EINVALID {
			kind := ""
			for _, src := range v.Sources {
				if src.Name == v.Source {
					kind = src.Kind
				}
			}
			return nil, incidenthub.Errorf(code, "The payload does not map as a %s payload: %s", kind, incidenthub.ErrorMessage(err))
		}
		return nil, err
	}
	return s.playReport(rep), nil
}

func (s *server) playReport(rep *rules.TestReport) *playReport {
	out := &playReport{TestReport: rep}
	// Warnings are read from the report's JSON, the API's contract, so the
	// page shows them whichever fields the report carries them in.
	if b, err := json.Marshal(rep); err == nil {
		var w struct {
			Warnings []playWarning `json:"warnings"`
		}
		if json.Unmarshal(b, &w) == nil {
			out.Warnings = w.Warnings
		}
	}
	base := ""
	if cfg := s.Config(); cfg != nil && cfg.File != "" {
		base = filepath.Dir(cfg.File)
	}
	for _, a := range rep.Alerts {
		pa := playAlert{AlertReport: a}
		for _, st := range a.Rules {
			file := st.File
			if base != "" {
				if rel, err := filepath.Rel(base, file); err == nil && !strings.HasPrefix(rel, "..") {
					file = rel
				}
			}
			pa.Steps = append(pa.Steps, playStep{Step: st, Where: fmt.Sprintf("%s:%d", file, st.Line)})
		}
		if !a.Drop {
			pa.Changed = alertChanges(a.Normalized, a.Alert)
		}
		out.Alerts = append(out.Alerts, pa)
	}
	return out
}

// alertChanges lists what the rules' set actions changed: alert fields,
// and labels and annotations one key at a time.
func alertChanges(before, after incidenthub.Alert) []fieldChange {
	b, _ := json.Marshal(before)
	a, _ := json.Marshal(after)
	var out []fieldChange
	for _, ch := range diffStates(b, a) {
		if ch.Field != "labels" && ch.Field != "annotations" {
			out = append(out, ch)
		}
	}
	for _, m := range []struct {
		name          string
		before, after map[string]string
	}{{"labels", before.Labels, after.Labels}, {"annotations", before.Annotations, after.Annotations}} {
		keys := map[string]bool{}
		for k := range m.before {
			keys[k] = true
		}
		for k := range m.after {
			keys[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			if m.before[k] != m.after[k] {
				out = append(out, fieldChange{Field: m.name + "." + k, From: m.before[k], To: m.after[k]})
			}
		}
	}
	return out
}

// payloadJSON says where a payload stops being JSON.
func payloadJSON(b []byte) error {
	var v any
	err := json.Unmarshal(b, &v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(b, se.Offset)
		return incidenthub.Errorf(incidenthub.EINVALID, "The payload is not JSON: %v (line %d, column %d).", se, line, col)
	}
	return incidenthub.Errorf(incidenthub.EINVALID, "The payload is not JSON: %v.", err)
}

func lineCol(b []byte, off int64) (line, col int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	line, col = 1, 1
	for _, ch := range b[:max(off-1, 0)] {
		if ch == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// parseWhen reads the playground's time: RFC 3339, or a date and time
// in UTC ("2026-03-01 14:30", with or without seconds or the T).
func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, incidenthub.Errorf(incidenthub.EINVALID, "The time %q is not a time: use RFC 3339 (2026-03-01T14:30:00Z) or a UTC date and time (2026-03-01 14:30), or leave it empty for now.", s)
}

func prettyJSON(b []byte) string {
	var buf bytes.Buffer
	if len(b) <= 256<<10 && json.Indent(&buf, b, "", "  ") == nil {
		return buf.String()
	}
	return string(b)
}

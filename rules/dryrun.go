package rules

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/incidenthub/incidenthub"
)

// TestReport is a dry run: what the hub would do with one payload from a
// source, rule by rule, without storing anything.
type TestReport struct {
	Source  string        `json:"source"`
	Kind    string        `json:"kind"`
	Version string        `json:"config_version"`
	At      time.Time     `json:"at"`
	Alerts  []AlertReport `json:"alerts"`
	// Warnings are what normalization worked around, as the event would
	// record them (an unreadable timestamp, …); empty for none.
	Warnings []incidenthub.Warning `json:"warnings"`
}

// AlertReport is the dry run of one normalized alert.
type AlertReport struct {
	Normalized     incidenthub.Alert `json:"normalized"`
	Rules          []Step            `json:"rules"`
	Alert          incidenthub.Alert `json:"alert"` // after the rules' set actions
	Drop           bool              `json:"drop"`
	DroppedBy      string            `json:"dropped_by,omitempty"`
	Targets        []string          `json:"targets"`
	DefaultRoute   bool              `json:"default_route"`
	CorrelationKey string            `json:"correlation_key"`
	KeyFrom        string            `json:"correlation_key_from"`
	Resolve        string            `json:"resolve,omitempty"`
	Silenced       bool              `json:"silenced"`
	SilencedBy     string            `json:"silenced_by,omitempty"`
}

// Test normalizes payload as the named source's kind would be, received at
// at, and evaluates every resulting alert. Errors are *incidenthub.Error: an
// unknown source is EINVALID, a payload that does not map keeps the
// mapping's code and reason.
func (e *Engine) Test(source string, payload []byte, at time.Time) (*TestReport, error) {
	kind, ok := e.kinds[source]
	if !ok {
		return nil, incidenthub.Errorf(incidenthub.EINVALID, "unknown source %q (configured: %s)", source, strings.Join(e.sourceNames(), ", "))
	}
	res, err := e.mappings.Normalize(kind, source, payload, at.UTC())
	if err != nil {
		return nil, err
	}
	rep := &TestReport{Source: source, Kind: kind, Version: e.Version, At: at.UTC(), Alerts: []AlertReport{}, Warnings: res.Warnings}
	if rep.Warnings == nil {
		rep.Warnings = []incidenthub.Warning{}
	}
	for _, a := range res.Alerts {
		res, err := e.Evaluate(a)
		if err != nil {
			return nil, incidenthub.Errorf(incidenthub.EUNPROCESSABLE, "%v", err)
		}
		ar := AlertReport{
			Normalized: a, Rules: res.Steps, Alert: res.Alert, Drop: res.Drop, DroppedBy: res.DroppedBy,
			Targets: res.Targets, DefaultRoute: res.Default, KeyFrom: res.KeyFrom, Resolve: res.Resolve,
			Silenced: res.Silenced, SilencedBy: res.SilencedBy,
		}
		if ar.Rules == nil {
			ar.Rules = []Step{}
		}
		if ar.Targets == nil {
			ar.Targets = []string{}
		}
		if !res.Drop {
			ar.CorrelationKey = res.DefaultKey()
		}
		rep.Alerts = append(rep.Alerts, ar)
	}
	return rep, nil
}

func (e *Engine) sourceNames() []string { return slices.Sorted(maps.Keys(e.kinds)) }

// WriteText prints the report for a terminal.
func (r *TestReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "source %s (kind %s), config version %s, at %s: %d alert(s)\n", r.Source, r.Kind, r.Version, r.At.Format(time.RFC3339), len(r.Alerts))
	for _, wn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s: %s (at %s; %s left as if absent)\n", wn.Field, wn.Message, wn.Path, wn.Field)
	}
	for i, a := range r.Alerts {
		n := a.Normalized
		fmt.Fprintf(w, "\nalert %d: %s\n", i+1, n.Title)
		fmt.Fprintf(w, "  normalized: status=%s severity=%s service=%q alert_type=%q host=%q environment=%q fingerprint=%s\n",
			n.Status, n.Severity, n.Service, n.AlertType, n.Host, n.Environment, n.Fingerprint)
		if len(n.Labels) > 0 {
			fmt.Fprintf(w, "  labels: %s\n", kv(n.Labels))
		}
		fmt.Fprintf(w, "  rules:\n")
		if len(a.Rules) == 0 {
			fmt.Fprintf(w, "    (none)\n")
		}
		for _, s := range a.Rules {
			mark := "not matched"
			if s.Matched {
				mark = "MATCHED"
			}
			fmt.Fprintf(w, "    %-11s  %s  (%s:%d)\n", mark, s.Rule, s.File, s.Line)
		}
		if a.Drop {
			fmt.Fprintf(w, "  result: DROPPED by rule %s (no incident, no notification)\n", a.DroppedBy)
			continue
		}
		if a.Alert.Severity != n.Severity || kv(a.Alert.Labels) != kv(n.Labels) || a.Alert.Service != n.Service || a.Alert.Title != n.Title {
			fmt.Fprintf(w, "  after rules: severity=%s service=%q title=%q labels: %s\n", a.Alert.Severity, a.Alert.Service, a.Alert.Title, kv(a.Alert.Labels))
		}
		routes := strings.Join(a.Targets, ", ")
		if routes == "" {
			routes = "(nobody)"
		}
		if a.DefaultRoute {
			routes += "  [routing.default: no rule routed]"
		}
		fmt.Fprintf(w, "  routes: %s\n", routes)
		fmt.Fprintf(w, "  correlation key: %s  [%s]\n", a.CorrelationKey, a.KeyFrom)
		if a.Resolve != "" {
			fmt.Fprintf(w, "  resolve: %s\n", a.Resolve)
		}
		if a.Silenced {
			fmt.Fprintf(w, "  silence: SILENCED by %s (recorded, notifies nobody)\n", a.SilencedBy)
		} else {
			fmt.Fprintf(w, "  silence: none applies\n")
		}
	}
}

func kv(m map[string]string) string {
	var sb strings.Builder
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%s=%q", k, m[k])
	}
	return sb.String()
}

package rules

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/matcher"
	"github.com/incidenthub/incidenthub/internal/processor"
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
	// Incidents is true when open incidents were looked up for inhibitions
	// (FindInhibitors with the database).
	Incidents bool `json:"-"`
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
	// Inhibits lists the inhibit rules whose source or target side the
	// alert matches; Inhibited says whether one mutes it, and InhibitedBy
	// names what: an earlier alert of the same payload, or (when the report
	// was made with the database: the API, rules test --incidents) an open
	// incident.
	Inhibits    []InhibitReport `json:"inhibits"`
	Inhibited   bool            `json:"inhibited"`
	InhibitedBy string          `json:"inhibited_by,omitempty"`
	// NotifyAfter (a Go duration, e.g. "2m0s") and MinAlerts hold back the
	// first notification of an incident the alert opens; the From fields
	// say whether routing or which rule set them. Absent: no hold.
	NotifyAfter     string `json:"notify_after,omitempty"`
	NotifyAfterFrom string `json:"notify_after_from,omitempty"`
	MinAlerts       int    `json:"min_alerts,omitempty"`
	MinAlertsFrom   string `json:"min_alerts_from,omitempty"`
}

// InhibitReport is an alert's part in one inhibit rule.
type InhibitReport struct {
	Rule string `json:"rule"`
	File string `json:"file"`
	Line int    `json:"line"`
	// Side is "target" (the rule can mute this alert), "source" (this alert
	// mutes the rule's targets while it fires) or "both" (it does neither to
	// another alert that matches both sides).
	Side        string            `json:"side"`
	Equal       map[string]string `json:"equal"` // the alert's values of the rule's equal list
	SourceMatch string            `json:"source_match"`
	TargetMatch string            `json:"target_match"`
	// InhibitedByAlert is the number (from 1) of the payload's alert that
	// mutes this one under the rule; InhibitedByIncident the open incident.
	InhibitedByAlert    int   `json:"inhibited_by_alert,omitempty"`
	InhibitedByIncident int64 `json:"inhibited_by_incident,omitempty"`

	in processor.Inhibit
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
			Silenced: res.Silenced, SilencedBy: res.SilencedBy, Inhibits: []InhibitReport{},
		}
		for _, in := range res.Inhibits {
			ar.Inhibits = append(ar.Inhibits, e.inhibitReport(in, &res.Alert))
		}
		ar.hold(res)
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
	if err := rep.FindInhibitors(nil); err != nil {
		return nil, err
	}
	return rep, nil
}

func (e *Engine) inhibitReport(in processor.Inhibit, a *incidenthub.Alert) InhibitReport {
	r := InhibitReport{Rule: in.Rule, Side: "target", Equal: map[string]string{}, in: in}
	switch {
	case in.Source && in.Target:
		r.Side = "both"
	case in.Source:
		r.Side = "source"
	}
	for _, ir := range e.inhibits {
		if ir.Key == in.Key {
			r.File, r.Line = ir.File, ir.Line
			r.SourceMatch, r.TargetMatch = ir.Source.String(), ir.Target.String()
			for _, n := range ir.Equal {
				r.Equal[n] = matcher.Value(a, n)
			}
		}
	}
	return r
}

// FindInhibitors decides, as the processor would, which of the report's
// alerts are inhibited: for each rule whose target side an alert matches,
// in order, an open incident that find returns (processor.FindInhibitor
// against the database; nil looks up none), else a firing source alert of
// the same payload.
func (r *TestReport) FindInhibitors(find func(processor.Inhibit) (int64, error)) error {
	r.Incidents = find != nil
	for i := range r.Alerts {
		a := &r.Alerts[i]
		a.Inhibited, a.InhibitedBy = false, ""
		for k := range a.Inhibits {
			ir := &a.Inhibits[k]
			ir.InhibitedByAlert, ir.InhibitedByIncident = 0, 0
			if !ir.in.Target || a.Drop {
				continue
			}
			if find != nil {
				id, err := find(ir.in)
				if err != nil {
					return err
				}
				ir.InhibitedByIncident = id
			}
			if ir.InhibitedByIncident == 0 {
				ir.InhibitedByAlert = r.sourceInPayload(i, ir.in)
			}
			if a.Inhibited {
				continue
			}
			switch {
			case ir.InhibitedByIncident != 0:
				a.Inhibited, a.InhibitedBy = true, fmt.Sprintf("incident #%d (rule %s)", ir.InhibitedByIncident, ir.Rule)
			case ir.InhibitedByAlert != 0:
				a.Inhibited, a.InhibitedBy = true, fmt.Sprintf("alert %d of this payload (rule %s)", ir.InhibitedByAlert, ir.Rule)
			}
		}
	}
	return nil
}

// sourceInPayload returns the number (from 1) of a firing alert of the
// report, other than alert i, that is a source of in's rule for the same
// values (and not two-sided when alert i is); 0 for none.
func (r *TestReport) sourceInPayload(i int, in processor.Inhibit) int {
	for j, b := range r.Alerts {
		if j == i || b.Drop || b.Alert.Status != incidenthub.AlertFiring {
			continue
		}
		for _, s := range b.Inhibits {
			if s.in.Source && s.in.Key == in.Key && s.in.Equal == in.Equal && !(in.Source && s.in.Target) {
				return j + 1
			}
		}
	}
	return 0
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
		a.writeInhibits(w, r.Incidents)
		a.writeHold(w)
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

func (a *AlertReport) writeInhibits(w io.Writer, incidents bool) {
	switch {
	case a.Inhibited:
		fmt.Fprintf(w, "  inhibit: INHIBITED by %s (recorded, notifies nobody until that resolves)\n", a.InhibitedBy)
	case len(a.Inhibits) == 0:
		fmt.Fprintf(w, "  inhibit: no inhibit rule applies\n")
	case incidents:
		fmt.Fprintf(w, "  inhibit: not inhibited now (no open incident or alert of this payload is a source)\n")
	default:
		fmt.Fprintf(w, "  inhibit: not inhibited by this payload (open incidents not looked up: rules test --incidents)\n")
	}
	for _, ir := range a.Inhibits {
		eq := kv(ir.Equal)
		if eq != "" {
			eq = " with " + eq
		}
		where := fmt.Sprintf("(%s:%d)", ir.File, ir.Line)
		switch ir.Side {
		case "target":
			fmt.Fprintf(w, "    target of %s %s: muted while an alert matching %s%s fires\n", ir.Rule, where, ir.SourceMatch, eq)
		case "source":
			fmt.Fprintf(w, "    source of %s %s: while it fires, mutes alerts matching %s%s\n", ir.Rule, where, ir.TargetMatch, eq)
		case "both":
			fmt.Fprintf(w, "    both sides of %s %s: muted while an alert matching %s that does not match %s fires%s; while it fires, mutes alerts matching %s that do not match %s\n",
				ir.Rule, where, ir.SourceMatch, ir.TargetMatch, eq, ir.TargetMatch, ir.SourceMatch)
		}
	}
}

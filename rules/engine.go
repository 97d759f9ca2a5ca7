package rules

import (
	"fmt"
	"hash"
	"slices"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/mappings"
)

// Engine is one loaded, compiled set of routing rules and silences. It is
// immutable and safe for concurrent use; reload builds a new one.
type Engine struct {
	// Version identifies the config and rules files' content (a hash).
	Version  string
	LoadedAt time.Time
	File     string   // the config file
	Dir      string   // the rules directory; "" without one
	Files    []string // the rules files, in load order
	// MappingFiles are the mapping files the config loaded (inbound
	// mappings: and targets' outbound mapping:), and MappingDirs the
	// mappings: entries that are directories; reload watches both, and
	// Version covers every file's content.
	MappingFiles []string
	MappingDirs  []string

	// Now is the clock for alerts without a receive time; nil is time.Now.
	Now func() time.Time

	rules    []*rule
	silences []*Silence
	inhibits []*InhibitRule
	keys     map[string]*vm.Program // source name → correlation key expression
	kinds    map[string]string      // source name → kind
	mappings *mappings.Set          // the kinds' mappings (nil: built-ins only)
	defaults []string
	// routing's notify_after and min_alerts (notify.go)
	notifyAfter time.Duration
	minAlerts   int

	hash hash.Hash // of the config and rules files, until Load adds the mappings
}

var (
	_ processor.Router         = (*Engine)(nil)
	_ processor.InhibitSources = (*Engine)(nil)
)

type rule struct {
	name    string
	file    string
	line    int
	when    *vm.Program
	sets    []setter
	route   []string
	routes  bool // the rule has a route key (an empty one routes nowhere)
	drop    bool
	cont    bool
	resolve string
	// notifyAfter and minAlerts, when set, override routing's (notify.go).
	notifyAfter *time.Duration
	minAlerts   *int
}

type setter struct {
	field string
	prog  *vm.Program
}

// Rules returns how many rules the engine holds.
func (e *Engine) Rules() int { return len(e.rules) }

// Silences returns the engine's silences.
func (e *Engine) Silences() []*Silence { return slices.Clone(e.silences) }

// Step is one rule's evaluation, for the dry run.
type Step struct {
	Rule    string `json:"rule"`
	File    string `json:"file"`
	Line    int    `json:"line"`
	Matched bool   `json:"matched"`
}

// Result is the full decision for one alert, with why.
type Result struct {
	processor.Routing
	// Steps lists every rule evaluated, in order (rules after the one that
	// stopped evaluation are not listed).
	Steps []Step
	// KeyFrom says where the correlation key came from: "default",
	// "source", or "rule <name>".
	KeyFrom string
	// Default is true when no matching rule routed and routing.default applied.
	Default bool
	// DroppedBy and SilencedBy name the rule and silence, when any.
	DroppedBy  string
	SilencedBy string
	// NotifyAfterFrom and MinAlertsFrom say where Routing's NotifyAfter and
	// MinAlerts came from: "routing" or "rule <name>"; "" when unset.
	NotifyAfterFrom string
	MinAlertsFrom   string
}

// Route implements processor.Router.
func (e *Engine) Route(a incidenthub.Alert) (processor.Routing, error) {
	r, err := e.evaluate(a, false)
	return r.Routing, err
}

// Evaluate is Route with the trace of which rules matched.
func (e *Engine) Evaluate(a incidenthub.Alert) (Result, error) {
	return e.evaluate(a, true)
}

func (e *Engine) evaluate(a incidenthub.Alert, trace bool) (Result, error) {
	m := vms.Get().(*vm.VM)
	defer vms.Put(m)
	var env Env
	env.fill(&a)

	res := Result{KeyFrom: "default"}
	e.holdDefaults(&res)
	if p := e.keys[a.Source]; p != nil {
		k, err := runString(m, p, &env)
		if err != nil {
			return res, fmt.Errorf("source %s correlation_key: %w", a.Source, err)
		}
		if k != "" {
			res.Key, res.KeyFrom = k, "source"
		}
	}
	routed := false
	for _, r := range e.rules {
		out, err := m.Run(r.when, &env)
		if err != nil {
			return res, fmt.Errorf("rule %q (%s:%d) when: %w", r.name, r.file, r.line, err)
		}
		matched, _ := out.(bool)
		if trace {
			res.Steps = append(res.Steps, Step{Rule: r.name, File: r.file, Line: r.line, Matched: matched})
		}
		if !matched {
			continue
		}
		if r.drop {
			res.Drop, res.DroppedBy = true, r.name
			break
		}
		if len(r.sets) > 0 {
			// Every expression sees the alert as it was before this rule.
			vals := make([]string, len(r.sets))
			for i, s := range r.sets {
				if vals[i], err = runString(m, s.prog, &env); err != nil {
					return res, fmt.Errorf("rule %q (%s:%d) set %s: %w", r.name, r.file, r.line, s.field, err)
				}
			}
			for i, s := range r.sets {
				if s.field == fieldCorrelationKey {
					if vals[i] != "" {
						res.Key, res.KeyFrom = vals[i], "rule "+r.name
					}
					continue
				}
				if err := setField(&a, s.field, vals[i]); err != nil {
					return res, fmt.Errorf("rule %q (%s:%d) set %s: %w", r.name, r.file, r.line, s.field, err)
				}
			}
			env.fill(&a)
		}
		if r.routes {
			routed = true
			for _, t := range r.route {
				if !slices.Contains(res.Targets, t) {
					res.Targets = append(res.Targets, t)
				}
			}
		}
		if r.resolve != "" {
			res.Resolve = r.resolve
		}
		r.hold(&res)
		if !r.cont {
			break
		}
	}
	res.Alert = a
	if res.Drop {
		res.Targets, res.Key, res.Resolve = nil, "", ""
		res.NotifyAfter, res.NotifyAfterFrom, res.MinAlerts, res.MinAlertsFrom = 0, "", 0, ""
		return res, nil
	}
	if !routed {
		res.Targets, res.Default = slices.Clone(e.defaults), true
	}
	at := a.ReceivedAt
	if at.IsZero() {
		at = e.now()
	}
	for _, s := range e.silences {
		if !s.Active(at) {
			continue
		}
		out, err := m.Run(s.when, &env)
		if err != nil {
			return res, fmt.Errorf("silence %q (%s:%d) when: %w", s.Name, s.File, s.Line, err)
		}
		if ok, _ := out.(bool); ok {
			res.Silenced, res.SilencedBy = true, s.Name
			break
		}
	}
	res.Inhibits = e.inhibitsFor(&a)
	return res, nil
}

// DefaultKey is the correlation key the result stands for: its override,
// or correlation.Key of the routed alert.
func (r Result) DefaultKey() string {
	if r.Key != "" {
		return r.Key
	}
	return correlation.Key(r.Alert)
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func runString(m *vm.VM, p *vm.Program, env *Env) (string, error) {
	out, err := m.Run(p, env)
	if err != nil {
		return "", err
	}
	s, ok := out.(string)
	if !ok {
		return "", fmt.Errorf("got %T, want a string", out)
	}
	return s, nil
}

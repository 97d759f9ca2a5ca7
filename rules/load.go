package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	"github.com/incidenthub/incidenthub/internal/config"
)

// fileSpec is one rules file.
type fileSpec struct {
	Rules        []ruleSpec    `yaml:"rules"`
	Silences     []silenceSpec `yaml:"silences"`
	InhibitRules []inhibitSpec `yaml:"inhibit_rules"`
}

type ruleSpec struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	When        string            `yaml:"when"`
	Set         map[string]string `yaml:"set"`
	Route       []string          `yaml:"route"`
	Drop        bool              `yaml:"drop"`
	Continue    bool              `yaml:"continue"`
	Resolve     string            `yaml:"resolve"`
	// NotifyAfter and MinAlerts override routing's (notify.go).
	NotifyAfter *config.Duration `yaml:"notify_after"`
	MinAlerts   *int             `yaml:"min_alerts"`
}

type silenceSpec struct {
	Name     string          `yaml:"name"`
	Comment  string          `yaml:"comment"`
	When     string          `yaml:"when"`
	Schedule string          `yaml:"schedule"`
	Duration config.Duration `yaml:"duration"`
	Timezone string          `yaml:"timezone"`
	StartsAt time.Time       `yaml:"starts_at"`
	EndsAt   time.Time       `yaml:"ends_at"`
}

// Resolve policies a rule may set.
const (
	ResolveAll    = "all"    // the incident resolves when every member alert resolved
	ResolveAny    = "any"    // … when any member alert resolves
	ResolveManual = "manual" // … only by an operator
)

// Option adjusts Load.
type Option func(*config.Config)

// WithTargets declares outbound target names (in addition to those the
// config defines), so routes to them validate. For tests, and for targets
// defined outside the config file.
func WithTargets(names ...string) Option {
	return func(c *config.Config) { c.TargetNames = append(c.TargetNames, names...) }
}

// Load reads the config file at path and the rules directory it names,
// validates both and compiles every expression. The error lists every
// problem in the config and the rules files, each with file:line:column.
func Load(path string, getenv func(string) string, opts ...Option) (*config.Config, *Engine, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	var eng *Engine
	cfg, err := config.ParseWith(path, data, getenv, func(c *config.Config) {
		for _, o := range opts {
			o(c)
		}
		eng = build(c, getenv, data)
	})
	if err != nil {
		return nil, nil, err
	}
	eng.addMappings(cfg)
	return cfg, eng, nil
}

// addMappings adds the mapping files cfg loaded (known only once the
// config is fully parsed) to e's watch lists and to its Version.
func (e *Engine) addMappings(cfg *config.Config) {
	h := e.hash
	for _, m := range cfg.Mappings.Loaded() {
		e.MappingFiles = append(e.MappingFiles, m.File)
		fmt.Fprintf(h, "mapping\x00%s\x00%s\x00", m.File, m.Digest)
	}
	for i := range cfg.Targets {
		if o := cfg.Targets[i].Outbound; o != nil {
			e.MappingFiles = append(e.MappingFiles, o.File)
			fmt.Fprintf(h, "outbound\x00%s\x00%s\x00", o.File, o.Digest)
		}
	}
	for _, p := range cfg.MappingFiles {
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(cfg.File), p)
		}
		if info, err := os.Stat(p); err == nil && info.IsDir() {
			e.MappingDirs = append(e.MappingDirs, p)
		}
	}
	e.Version = hex.EncodeToString(h.Sum(nil))[:16]
	e.hash = nil
}

// build compiles the routing part of cfg (source correlation keys, rules
// files) into an Engine, reporting problems through cfg.
func build(cfg *config.Config, getenv func(string) string, configData []byte) *Engine {
	e := &Engine{
		keys:        map[string]*vm.Program{},
		kinds:       map[string]string{},
		defaults:    slices.Clone(cfg.Routing.Default),
		notifyAfter: cfg.Routing.NotifyAfter.Std(),
		minAlerts:   cfg.Routing.MinAlerts,
		mappings:    cfg.Mappings,
		LoadedAt:    time.Now().UTC(),
		File:        cfg.File,
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00", cfg.File, len(configData))
	h.Write(configData)

	for i, s := range cfg.Sources {
		e.kinds[s.Name] = s.Kind
		if s.CorrelationKey == "" {
			continue
		}
		p, err := compileString(s.CorrelationKey)
		if err != nil {
			cfg.Report(fmt.Sprintf("sources[%d].correlation_key", i), "%s", exprError(err))
			continue
		}
		e.keys[s.Name] = p
	}

	if dir := cfg.Routing.RulesDir; dir != "" {
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(filepath.Dir(cfg.File), dir)
		}
		e.Dir = dir
		files, err := ruleFiles(dir)
		if err != nil {
			cfg.Report("routing.rules_dir", "%v", err)
		}
		l := loader{cfg: cfg, e: e, names: map[string]string{}, inhibitNames: map[string]string{}}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				cfg.ReportError(&config.Problem{File: f, Message: err.Error()})
				continue
			}
			fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(f), len(data))
			h.Write(data)
			e.Files = append(e.Files, f)
			l.file(f, data, getenv)
		}
	}
	e.Version = hex.EncodeToString(h.Sum(nil))[:16]
	e.hash = h
	return e
}

// ruleFiles lists dir's *.yaml and *.yml files in name order.
func ruleFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("directory %s does not exist", dir)
		}
		return nil, err
	}
	var files []string
	for _, de := range entries {
		n := de.Name()
		if de.Type().IsRegular() && !strings.HasPrefix(n, ".") && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			files = append(files, filepath.Join(dir, n))
		}
	}
	return files, nil // ReadDir sorts by name
}

// loader compiles rules files one after another, remembering what it needs
// across files: rule names and the first catch-all.
type loader struct {
	cfg      *config.Config
	e        *Engine
	names    map[string]string // rule name → "file:line" of its definition
	catchAll string            // "rule "x" (file:line)" once a rule matches everything and stops
	// inhibitNames: inhibit rule name → "file:line" of its definition.
	inhibitNames map[string]string
}

func (l *loader) file(file string, data []byte, getenv func(string) string) {
	var spec fileSpec
	doc := config.Decode(file, data, &spec, getenv)
	if doc.Parsed() {
		for i, rs := range spec.Rules {
			if r := l.rule(doc, fmt.Sprintf("rules[%d]", i), rs); r != nil {
				l.e.rules = append(l.e.rules, r)
			}
		}
		for i, ss := range spec.Silences {
			if s := l.silence(doc, fmt.Sprintf("silences[%d]", i), ss); s != nil {
				l.e.silences = append(l.e.silences, s)
			}
		}
		for i, is := range spec.InhibitRules {
			if r := l.inhibit(doc, fmt.Sprintf("inhibit_rules[%d]", i), is); r != nil {
				l.e.inhibits = append(l.e.inhibits, r)
			}
		}
	}
	for _, p := range doc.Problems() {
		l.cfg.ReportError(p)
	}
}

func (l *loader) rule(doc *config.Document, p string, rs ruleSpec) *rule {
	line, _ := doc.Position(p)
	r := &rule{name: rs.Name, file: doc.File(), line: line, route: rs.Route, routes: rs.Route != nil,
		drop: rs.Drop, cont: rs.Continue, resolve: rs.Resolve}
	ok := true
	bad := func(key, format string, args ...any) {
		doc.At(key, format, args...)
		ok = false
	}
	where := fmt.Sprintf("%s:%d", doc.File(), line)
	switch {
	case rs.Name == "":
		bad(p+".name", "required")
	case l.names[rs.Name] != "":
		bad(p+".name", "duplicate rule name %q (first defined at %s)", rs.Name, l.names[rs.Name])
	default:
		l.names[rs.Name] = where
	}
	if l.catchAll != "" {
		bad(p, "unreachable: %s matches every alert and stops; give it continue: true or move this rule above it", l.catchAll)
	}
	if strings.TrimSpace(rs.When) == "" {
		bad(p+".when", `required: an expression such as 'severity == "critical"' (use "true" to match every alert)`)
	} else if prog, err := compileCondition(rs.When); err != nil {
		bad(p+".when", "%s", exprError(err))
	} else {
		r.when = prog
		if b, isBool := prog.Node().(*ast.BoolNode); isBool && b.Value && !rs.Continue && l.catchAll == "" {
			l.catchAll = fmt.Sprintf("rule %q (%s)", rs.Name, where)
		}
	}
	for _, field := range sortedKeys(rs.Set) {
		key := p + ".set." + field
		if !validSetField(field) {
			bad(key, "cannot set %q (settable: severity, service, alert_type, title, description, host, environment, url, labels.<name>, annotations.<name>, correlation_key)", field)
			continue
		}
		prog, err := compileString(rs.Set[field])
		if err != nil {
			bad(key, "%s", exprError(err))
			continue
		}
		r.sets = append(r.sets, setter{field: field, prog: prog})
	}
	for i, t := range rs.Route {
		if !l.cfg.HasTarget(t) {
			bad(fmt.Sprintf("%s.route[%d]", p, i), "unknown target %q", t)
		}
	}
	switch rs.Resolve {
	case "", ResolveAll, ResolveAny, ResolveManual:
	default:
		bad(p+".resolve", "must be one of all, any, manual (got %q)", rs.Resolve)
	}
	l.notifyHold(p, rs, r, bad)
	if rs.Drop && (rs.Continue || len(rs.Route) > 0 || len(rs.Set) > 0) {
		bad(p+".drop", "a dropping rule cannot also route, set or continue: the alert is discarded")
	}
	if !ok {
		return nil
	}
	return r
}

func (l *loader) silence(doc *config.Document, p string, ss silenceSpec) *Silence {
	line, _ := doc.Position(p)
	s := &Silence{Name: ss.Name, File: doc.File(), Line: line, loc: time.UTC, duration: ss.Duration.Std()}
	ok := true
	bad := func(key, format string, args ...any) {
		doc.At(key, format, args...)
		ok = false
	}
	if ss.Name == "" {
		bad(p+".name", "required")
	}
	if strings.TrimSpace(ss.When) == "" {
		bad(p+".when", `required: which alerts to silence, e.g. 'labels.cluster == "batch"' ("true" for all)`)
	} else if prog, err := compileCondition(ss.When); err != nil {
		bad(p+".when", "%s", exprError(err))
	} else {
		s.when = prog
	}
	if ss.Timezone != "" {
		loc, err := time.LoadLocation(ss.Timezone)
		if err != nil {
			bad(p+".timezone", "unknown time zone %q (use an IANA name such as Europe/Berlin)", ss.Timezone)
		} else {
			s.loc = loc
		}
	}
	oneOff := !ss.StartsAt.IsZero() || !ss.EndsAt.IsZero()
	switch {
	case ss.Schedule != "" && oneOff:
		bad(p+".schedule", "use either schedule with duration (recurring) or starts_at with ends_at (once), not both")
	case ss.Schedule != "":
		sched, err := cronParser.Parse(ss.Schedule)
		if err != nil {
			bad(p+".schedule", "%v (want five fields: minute hour day-of-month month day-of-week, e.g. \"0 22 * * *\")", err)
		}
		s.schedule = sched
		if ss.Duration <= 0 {
			bad(p+".duration", "required with schedule: how long each window lasts, e.g. 4h")
		}
	case oneOff:
		if ss.StartsAt.IsZero() || ss.EndsAt.IsZero() {
			bad(p, "a one-off silence needs both starts_at and ends_at (RFC 3339, e.g. 2026-12-01T22:00:00Z)")
		} else if !ss.EndsAt.After(ss.StartsAt) {
			bad(p+".ends_at", "must be after starts_at")
		}
		if ss.Duration != 0 {
			bad(p+".duration", "only with schedule; a one-off silence ends at ends_at")
		}
		s.start, s.end = ss.StartsAt, ss.EndsAt
	default:
		bad(p, "needs a window: schedule (cron) with duration, or starts_at with ends_at")
	}
	if !ok {
		return nil
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

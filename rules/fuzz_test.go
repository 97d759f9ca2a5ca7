package rules

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/config"
)

// fuzzTargets are the targets a fuzzed rules file may route to.
var fuzzTargets = []string{"ops", "pagerduty-payments", "slack-payments", "slack-ops", "slack-catchall", "jira"}

// loadFuzzRules compiles data as the one rules file of a minimal config.
func loadFuzzRules(data []byte) (*Engine, error) {
	var eng *Engine
	getenv := func(string) string { return "env-value" }
	_, err := config.ParseWith("fuzz.yaml", []byte("routing: {default: [ops]}\n"), getenv, func(c *config.Config) {
		c.TargetNames = append(c.TargetNames, fuzzTargets...)
		eng = &Engine{keys: map[string]*vm.Program{}, kinds: map[string]string{}, defaults: c.Routing.Default}
		l := loader{cfg: c, e: eng, names: map[string]string{}}
		l.file("rules/fuzz.yaml", data, getenv)
	})
	return eng, err
}

// FuzzRulesFile feeds arbitrary YAML to the rules loader. It must not
// panic; every problem is a *config.Problem in the rules file with a line
// or a key; the same input gives the same problems; and an engine that
// compiles evaluates alerts without panicking, routes only to known
// targets, and leaves the alert valid (a set severity stays a severity).
//
//	go test ./rules -run '^$' -fuzz FuzzRulesFile -fuzztime 60s
func FuzzRulesFile(f *testing.F) {
	for _, pat := range []string{"../examples/rules/*.yaml", "testdata/invalid/rules/*.yaml"} {
		files, _ := filepath.Glob(pat)
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	for _, s := range []string{"", "rules: []", "rules: [{name: a, when: 'true', route: [ops], continue: true}, {name: b, when: 'true'}]",
		"rules: [{name: s, when: 'severity == \"critical\"', set: {severity: '\"bogus\"', labels.x: 'host + \"!\"'}}]",
		"rules: [{name: d, when: '1/0 > 0', drop: true}]", "rules: [{name: k, when: 'true', set: {correlation_key: 'labels[\"a\"]'}}]",
		"silences: [{name: n, when: 'true', schedule: '0 0 31 2 *', duration: 1h, timezone: Europe/Berlin}]",
		"silences: [{name: o, when: 'true', starts_at: 2026-01-01T00:00:00Z, ends_at: 2026-01-02T00:00:00Z}]"} {
		f.Add([]byte(s))
	}
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	alerts := []incidenthub.Alert{
		{Source: "am", Fingerprint: "f", Status: incidenthub.AlertFiring, Severity: incidenthub.SeverityCritical, Service: "payments",
			AlertType: "HighLatency", Title: "t", Host: "web-1", Labels: map[string]string{"a": "b", "cluster": "batch"}, ReceivedAt: at},
		{Source: "x", Status: incidenthub.AlertResolved, Severity: incidenthub.SeverityInfo, ReceivedAt: at.Add(36 * time.Hour)},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		eng, err := loadFuzzRules(data)
		_, err2 := loadFuzzRules(data)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("two loads of one file differ:\n%v\n---\n%v", err, err2)
		}
		if err != nil {
			errs := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			}
			for _, e := range errs {
				var p *config.Problem
				if !errors.As(e, &p) || p.File != "rules/fuzz.yaml" || (p.Line == 0 && p.Key == "") || p.Message == "" {
					t.Fatalf("problem %T %v: want a *config.Problem in the rules file with a line or key", e, e)
				}
			}
			return
		}
		for _, a := range alerts {
			res, err := eng.Evaluate(a)
			if err != nil {
				continue // an expression that fails at run time (1/0) is reported, not a crash
			}
			for _, tg := range res.Targets {
				if !slices.Contains(fuzzTargets, tg) {
					t.Fatalf("routed to unknown target %q", tg)
				}
			}
			if !res.Drop && !res.Alert.Severity.Valid() {
				t.Fatalf("a rule left severity %q", res.Alert.Severity)
			}
			if res.Drop && (len(res.Targets) > 0 || res.Silenced) {
				t.Fatalf("a dropped alert is routed or silenced: %+v", res)
			}
		}
	})
}

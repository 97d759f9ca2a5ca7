package rules_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/rules"
)

var update = flag.Bool("update", false, "rewrite golden files")

var targets = rules.WithTargets("pagerduty-payments", "slack-payments", "slack-ops", "slack-catchall", "jira")

// setup writes a config (with routing.rules_dir: rules) and the given rules
// files into a temporary directory and returns the config's path.
func setup(t testing.TB, cfg string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "rules"), 0o755))
	for name, text := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "rules", name), []byte(text), 0o644))
	}
	path := filepath.Join(dir, "hub.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o644))
	return path
}

const baseConfig = `
sources:
  - name: am
    kind: alertmanager
    auth: {type: none}
  - name: dd
    kind: datadog
    auth: {type: none}
    correlation_key: 'labels.cluster + "/" + service'
routing:
  rules_dir: rules
  default: [slack-catchall]
`

func load(t testing.TB, files map[string]string) *rules.Engine {
	t.Helper()
	_, eng, err := rules.Load(setup(t, baseConfig, files), func(string) string { return "" }, targets)
	require.NoError(t, err)
	return eng
}

func alert(mod ...func(*incidenthub.Alert)) incidenthub.Alert {
	a := incidenthub.Alert{
		Source: "am", Fingerprint: "fp1", Status: incidenthub.AlertFiring, Severity: incidenthub.SeverityWarning,
		Service: "payments", AlertType: "HighLatency", Title: "p99 latency high", Host: "pay-1",
		Environment: "prod", Labels: map[string]string{"cluster": "eu-1"},
		Annotations: map[string]string{"summary": "slow"},
		ReceivedAt:  time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC),
	}
	for _, m := range mod {
		m(&a)
	}
	return a
}

const routingRules = `
rules:
  - name: drop-test-env
    when: 'environment == "test"'
    drop: true
  - name: tag-payments
    when: 'service == "payments"'
    set:
      labels.team: '"payments"'
      annotations.runbook: '"https://runbooks/" + service'
    continue: true
  - name: raise-eu-critical
    when: 'labels.cluster == "eu-1" && alert_type == "DiskFull"'
    set: {severity: '"critical"'}
    continue: true
  - name: page-payments
    when: 'labels.team == "payments" && severity == "critical" && status == "firing"'
    route: [pagerduty-payments, slack-payments]
    resolve: any
  - name: payments-chat
    when: 'labels.team == "payments"'
    route: [slack-payments]
    set: {correlation_key: '"payments/" + alert_type'}
  - name: never-for-payments
    when: 'labels.team == "payments"'
    route: [jira]
  - name: mute-batch
    when: 'labels.missing == "" && service == "batch"'
    route: []
`

func TestRuleActions(t *testing.T) {
	t.Parallel()
	eng := load(t, map[string]string{"10-routing.yaml": routingRules})
	require.Equal(t, 7, eng.Rules())

	tests := []struct {
		name      string
		alert     incidenthub.Alert
		targets   []string
		key       string
		keyFrom   string
		severity  incidenthub.Severity
		labels    map[string]string
		drop      bool
		isDefault bool
		resolve   string
		matched   []string
	}{
		{
			name: "set then route, stop at first routing match", alert: alert(),
			targets: []string{"slack-payments"}, key: "payments/HighLatency", keyFrom: "rule payments-chat",
			severity: "warning", labels: map[string]string{"cluster": "eu-1", "team": "payments"},
			matched: []string{"tag-payments", "payments-chat"},
		},
		{
			name: "raise severity, then a later rule sees it", alert: alert(func(a *incidenthub.Alert) { a.AlertType = "DiskFull" }),
			targets: []string{"pagerduty-payments", "slack-payments"}, keyFrom: "default", severity: "critical", resolve: "any",
			labels:  map[string]string{"cluster": "eu-1", "team": "payments"},
			matched: []string{"tag-payments", "raise-eu-critical", "page-payments"},
		},
		{
			name: "resolved alerts do not page", alert: alert(func(a *incidenthub.Alert) {
				a.AlertType, a.Status = "DiskFull", incidenthub.AlertResolved
			}),
			targets: []string{"slack-payments"}, key: "payments/DiskFull", keyFrom: "rule payments-chat", severity: "critical",
			labels:  map[string]string{"cluster": "eu-1", "team": "payments"},
			matched: []string{"tag-payments", "raise-eu-critical", "payments-chat"},
		},
		{
			name: "drop", alert: alert(func(a *incidenthub.Alert) { a.Environment = "test" }),
			drop: true, keyFrom: "default", severity: "warning", labels: map[string]string{"cluster": "eu-1"},
			matched: []string{"drop-test-env"},
		},
		{
			name: "no match: default route", alert: alert(func(a *incidenthub.Alert) { a.Service = "search" }),
			targets: []string{"slack-catchall"}, isDefault: true, keyFrom: "default", severity: "warning",
			labels: map[string]string{"cluster": "eu-1"},
		},
		{
			name: "an empty route is a decision: nobody, not the default", alert: alert(func(a *incidenthub.Alert) { a.Service = "batch" }),
			targets: nil, keyFrom: "default", severity: "warning", labels: map[string]string{"cluster": "eu-1"},
			matched: []string{"mute-batch"},
		},
		{
			name: "source correlation key", alert: alert(func(a *incidenthub.Alert) { a.Source, a.Service = "dd", "search" }),
			targets: []string{"slack-catchall"}, isDefault: true, key: "eu-1/search", keyFrom: "source", severity: "warning",
			labels: map[string]string{"cluster": "eu-1"},
		},
		{
			name: "a rule's correlation key wins over the source's", alert: alert(func(a *incidenthub.Alert) { a.Source = "dd" }),
			targets: []string{"slack-payments"}, key: "payments/HighLatency", keyFrom: "rule payments-chat", severity: "warning",
			labels:  map[string]string{"cluster": "eu-1", "team": "payments"},
			matched: []string{"tag-payments", "payments-chat"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			orig := tc.alert
			origLabels := fmt.Sprint(orig.Labels)
			res, err := eng.Evaluate(tc.alert)
			require.NoError(t, err)
			require.Equal(t, tc.targets, res.Targets)
			require.Equal(t, tc.key, res.Key)
			require.Equal(t, tc.keyFrom, res.KeyFrom)
			require.Equal(t, tc.drop, res.Drop)
			require.Equal(t, tc.isDefault, res.Default)
			require.Equal(t, tc.resolve, res.Resolve)
			require.Equal(t, tc.severity, res.Alert.Severity)
			require.Equal(t, tc.labels, res.Alert.Labels)
			var matched []string
			for _, s := range res.Steps {
				if s.Matched {
					matched = append(matched, s.Rule)
				}
			}
			require.Equal(t, tc.matched, matched)
			require.Equal(t, origLabels, fmt.Sprint(orig.Labels), "the input alert's maps are not modified")

			routing, err := eng.Route(tc.alert)
			require.NoError(t, err)
			require.Equal(t, res.Routing, routing, "Route and Evaluate agree")
		})
	}

	res, err := eng.Evaluate(alert())
	require.NoError(t, err)
	require.Equal(t, "https://runbooks/payments", res.Alert.Annotations["runbook"])
	require.Equal(t, "slow", res.Alert.Annotations["summary"])
}

func TestRulesLoadInFileNameOrder(t *testing.T) {
	t.Parallel()
	eng := load(t, map[string]string{
		"20-late.yaml":  "rules:\n  - {name: late, when: 'true', route: [jira]}\n",
		"10-early.yml":  "rules:\n  - {name: early, when: 'service == \"payments\"', route: [slack-ops]}\n",
		"README.md":     "not a rules file",
		"30-other.json": "{}",
	})
	require.Equal(t, 2, eng.Rules())
	res, err := eng.Evaluate(alert())
	require.NoError(t, err)
	require.Equal(t, []string{"slack-ops"}, res.Targets)
	res, err = eng.Evaluate(alert(func(a *incidenthub.Alert) { a.Service = "x" }))
	require.NoError(t, err)
	require.Equal(t, []string{"jira"}, res.Targets)
}

func TestSilences(t *testing.T) {
	t.Parallel()
	eng := load(t, map[string]string{"silences.yaml": `
rules:
  - {name: ops, when: 'true', route: [slack-ops]}
silences:
  - name: nightly-batch
    when: 'labels.cluster == "eu-1"'
    schedule: "0 22 * * *"
    duration: 4h
  - name: berlin-saturday
    when: 'service == "search"'
    schedule: "0 9 * * SAT"
    duration: 2h
    timezone: Europe/Berlin
  - name: migration
    when: 'service == "payments"'
    starts_at: 2026-12-01T10:00:00Z
    ends_at: 2026-12-01T11:30:00Z
`})
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return tm
	}
	tests := []struct {
		name, at, service, cluster, silence string
	}{
		{"before the nightly window", "2026-11-20T21:59:59Z", "x", "eu-1", ""},
		{"at the nightly start", "2026-11-20T22:00:00Z", "x", "eu-1", "nightly-batch"},
		{"before midnight", "2026-11-20T23:30:00Z", "x", "eu-1", "nightly-batch"},
		{"after midnight: the window crosses it", "2026-11-21T01:59:59Z", "x", "eu-1", "nightly-batch"},
		{"at the nightly end", "2026-11-21T02:00:00Z", "x", "eu-1", ""},
		{"other cluster", "2026-11-20T23:30:00Z", "x", "us-1", ""},
		{"saturday 9:30 in Berlin is 8:30 UTC", "2026-11-21T08:30:00Z", "search", "us-1", "berlin-saturday"},
		{"saturday 9:30 UTC is 10:30 in Berlin", "2026-11-21T09:30:00Z", "search", "us-1", "berlin-saturday"},
		{"saturday 11:00 in Berlin: over", "2026-11-21T10:00:00Z", "search", "us-1", ""},
		{"friday in Berlin", "2026-11-20T08:30:00Z", "search", "us-1", ""},
		{"one-off: before", "2026-12-01T09:59:59Z", "payments", "us-1", ""},
		{"one-off: during", "2026-12-01T10:45:00Z", "payments", "us-1", "migration"},
		{"one-off: at the end", "2026-12-01T11:30:00Z", "payments", "us-1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := alert(func(a *incidenthub.Alert) {
				a.Service, a.Labels, a.ReceivedAt = tc.service, map[string]string{"cluster": tc.cluster}, at(tc.at)
			})
			res, err := eng.Evaluate(a)
			require.NoError(t, err)
			require.Equal(t, tc.silence, res.SilencedBy)
			require.Equal(t, tc.silence != "", res.Silenced)
			require.Equal(t, []string{"slack-ops"}, res.Targets, "a silenced alert keeps its routes (recorded), it just notifies nobody")
		})
	}

	// Without a receive time the engine's clock decides.
	eng.Now = func() time.Time { return at("2026-11-20T23:00:00Z") }
	res, err := eng.Evaluate(alert(func(a *incidenthub.Alert) { a.ReceivedAt = time.Time{} }))
	require.NoError(t, err)
	require.Equal(t, "nightly-batch", res.SilencedBy)
	eng.Now = func() time.Time { return at("2026-11-20T12:00:00Z") }
	res, err = eng.Evaluate(alert(func(a *incidenthub.Alert) { a.ReceivedAt = time.Time{} }))
	require.NoError(t, err)
	require.False(t, res.Silenced)
}

// Every problem in the config and its rules files is reported at once, with
// file:line:column and key; the golden file is the exact text users see.
func TestValidationGolden(t *testing.T) {
	t.Parallel()
	cfg := "testdata/invalid/hub.yaml"
	_, _, err := rules.Load(cfg, func(string) string { return "" }, rules.WithTargets("slack-ops", "pagerduty"))
	require.Error(t, err)
	got := err.Error() + "\n"
	golden := "testdata/invalid/errors.golden"
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), got)
}

func TestValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   string
		files map[string]string
		want  []string
	}{
		{"no rules dir", "routing: {rules_dir: nope}\n", nil, []string{"hub.yaml:1:11: routing.rules_dir: directory", "does not exist"}},
		{"unknown target without targets defined", "routing: {rules_dir: rules, default: [slack]}\n",
			map[string]string{"a.yaml": "rules:\n  - {name: a, when: 'true', route: [pd]}\n"},
			[]string{`hub.yaml:1:39: routing.default[0]: unknown target "slack"`, `a.yaml:2:37: rules[0].route[0]: unknown target "pd"`}},
		{"duplicate names across files", "routing: {rules_dir: rules}\n",
			map[string]string{"a.yaml": "rules:\n  - {name: x, when: 'true', continue: true}\n", "b.yaml": "rules:\n\n  - name: x\n    when: 'false'\n"},
			[]string{`b.yaml:3:5: rules[0].name: duplicate rule name "x" (first defined at `, `a.yaml:2)`}},
		{"catch-all that continues is fine", "routing: {rules_dir: rules}\n",
			map[string]string{"a.yaml": "rules:\n  - {name: x, when: 'true', continue: true}\n  - {name: y, when: 'true'}\n"}, nil},
		{"a constant-true condition is a catch-all", "routing: {rules_dir: rules}\n",
			map[string]string{"a.yaml": "rules:\n  - {name: x, when: '1 == 1', drop: true}\n  - {name: y, when: 'true'}\n"},
			[]string{`a.yaml:3:5: rules[1]: unreachable: rule "x"`}},
		{"unknown key in a rule", "routing: {rules_dir: rules}\n",
			map[string]string{"a.yaml": "rules:\n  - {name: x, when: 'true', routes: [a]}\n"},
			[]string{`a.yaml:2:29: rules[0].routes: unknown key (known keys: continue, description, drop, min_alerts, name, notify_after, resolve, route, set, when)`}},
		{"non-string set value", "routing: {rules_dir: rules}\n",
			map[string]string{"a.yaml": "rules:\n  - name: x\n    when: 'true'\n    set: {severity: 'severity_rank + 1'}\n"},
			[]string{`a.yaml:4:21: rules[0].set.severity: expected string, but got int`}},
		{"bad source correlation key", "sources:\n  - {name: a, kind: generic, auth: {type: none}, correlation_key: 'labels.x +'}\n", nil,
			[]string{`hub.yaml:2:50: sources[0].correlation_key: unexpected token EOF`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, eng, err := rules.Load(setup(t, tc.cfg, tc.files), func(string) string { return "" })
			if tc.want == nil {
				require.NoError(t, err)
				require.NotNil(t, eng)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestVersionChangesWithContent(t *testing.T) {
	t.Parallel()
	path := setup(t, baseConfig, map[string]string{"a.yaml": "rules: []\n"})
	getenv := func(string) string { return "" }
	_, e1, err := rules.Load(path, getenv, targets)
	require.NoError(t, err)
	_, e2, err := rules.Load(path, getenv, targets)
	require.NoError(t, err)
	require.Equal(t, e1.Version, e2.Version)
	require.Len(t, e1.Version, 16)
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(path), "rules", "a.yaml"), []byte("rules: []\n# changed\n"), 0o644))
	_, e3, err := rules.Load(path, getenv, targets)
	require.NoError(t, err)
	require.NotEqual(t, e1.Version, e3.Version)
}

// BenchmarkEvaluate200 evaluates 200 rules against one alert: 199 that do
// not match (a mix of field, label and severity conditions) and a last
// one that does.
func BenchmarkEvaluate200(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("rules:\n")
	for i := range 199 {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&sb, "  - {name: r%d, when: 'service == \"svc-%d\" && severity == \"critical\"', route: [slack-ops]}\n", i, i)
		case 1:
			fmt.Fprintf(&sb, "  - {name: r%d, when: 'labels.cluster == \"c-%d\"', route: [slack-ops]}\n", i, i)
		case 2:
			fmt.Fprintf(&sb, "  - {name: r%d, when: 'alert_type in [\"A%d\", \"B%d\"] || host startsWith \"db-%d\"', route: [slack-ops]}\n", i, i, i, i)
		case 3:
			fmt.Fprintf(&sb, "  - {name: r%d, when: 'environment == \"env-%d\" and severity_rank >= 3', set: {labels.team: '\"t%d\"'}, continue: true}\n", i, i, i)
		}
	}
	sb.WriteString("  - {name: last, when: 'service == \"payments\" && status == \"firing\"', route: [pagerduty-payments], set: {labels.team: '\"payments\"'}}\n")
	eng := load(b, map[string]string{"bench.yaml": sb.String()})
	require.Equal(b, 200, eng.Rules())
	a := alert()
	r, err := eng.Route(a)
	require.NoError(b, err)
	require.Equal(b, []string{"pagerduty-payments"}, r.Targets)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := eng.Route(a); err != nil {
			b.Fatal(err)
		}
	}
}

// The example rules validate once their targets exist.
func TestExampleRules(t *testing.T) {
	t.Parallel()
	getenv := func(k string) string {
		return map[string]string{"INCIDENTHUB_SOURCE_TOKEN": "x", "SLACK_BOT_TOKEN": "xoxb-1",
			"PAGERDUTY_ROUTING_KEY": "R0123456789ABCDEFGHIJKLMNOPQRSTU", "JIRA_API_TOKEN": "t"}[k]
	}
	_, eng, err := rules.Load("../examples/rules.yaml", getenv)
	require.NoError(t, err)
	require.Equal(t, 9, eng.Rules())
	require.Len(t, eng.Silences(), 2)
	require.Len(t, eng.InhibitRules(), 2)

	res, err := eng.Evaluate(alert(func(a *incidenthub.Alert) {
		a.Source, a.AlertType, a.Labels = "datadog", "DiskFull", map[string]string{"role": "primary", "cluster": "eu-1"}
	}))
	require.NoError(t, err)
	require.Equal(t, []string{"pagerduty-payments", "slack-payments"}, res.Targets)
	require.Equal(t, incidenthub.SeverityCritical, res.Alert.Severity)
	require.Equal(t, "payments/DiskFull/eu-1", res.Key)
	require.Equal(t, "all", res.Resolve)
	require.Zero(t, res.NotifyAfter)

	res, err = eng.Evaluate(alert(func(a *incidenthub.Alert) { a.AlertType = "NodeNotReady" }))
	require.NoError(t, err)
	require.Equal(t, 2*time.Minute, res.NotifyAfter)
	require.Equal(t, 2, res.MinAlerts)
	require.Equal(t, "rule node-problems-wait", res.NotifyAfterFrom)
}

// The dry run normalizes with the config's mappings, so a source whose kind
// is defined only in a YAML mapping file can be tested too.
func TestDryRunCustomSource(t *testing.T) {
	t.Parallel()
	_, eng, err := rules.Load("../examples/custom-sources.yaml", func(k string) string {
		if k == "INCIDENTHUB_SOURCE_TOKEN" {
			return "tok"
		}
		return ""
	})
	require.NoError(t, err)
	payload, err := os.ReadFile("../mappings/testdata/homegrown/crit.json")
	require.NoError(t, err)
	rep, err := eng.Test("checks", payload, time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, "homegrown", rep.Kind)
	require.NotEmpty(t, rep.Alerts)
}

// The dry run shows the warnings the event would record, as JSON and as
// text.
func TestDryRunWarnings(t *testing.T) {
	t.Parallel()
	_, eng, err := rules.Load("../examples/custom-sources.yaml", func(k string) string {
		if k == "INCIDENTHUB_SOURCE_TOKEN" {
			return "tok"
		}
		return ""
	})
	require.NoError(t, err)
	payload, err := os.ReadFile("../mappings/testdata/homegrown/bad-ts.json")
	require.NoError(t, err)
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	rep, err := eng.Test("checks", payload, at)
	require.NoError(t, err)
	require.Equal(t, []incidenthub.Warning{{Field: "starts_at", Path: "ts", Value: "2024-05-01 11:58",
		Message: `invalid timestamp "2024-05-01 11:58" (want epoch seconds, e.g. 1406662672)`}}, rep.Warnings)
	require.Equal(t, at, rep.Alerts[0].Normalized.StartsAt, "the receive time stands in")
	var out strings.Builder
	rep.WriteText(&out)
	require.Contains(t, out.String(), `warning: starts_at: invalid timestamp "2024-05-01 11:58" (want epoch seconds, e.g. 1406662672) (at ts; starts_at left as if absent)`)

	payload, err = os.ReadFile("../mappings/testdata/homegrown/crit.json")
	require.NoError(t, err)
	rep, err = eng.Test("checks", payload, at)
	require.NoError(t, err)
	require.NotNil(t, rep.Warnings, "an empty list, not null, in JSON")
	require.Empty(t, rep.Warnings)
}

// Inhibit rules' problems are reported with file:line:column and key, all
// at once; the golden file is the exact text users see.
func TestInhibitValidationGolden(t *testing.T) {
	t.Parallel()
	_, _, err := rules.Load("testdata/invalid-inhibit/hub.yaml", func(string) string { return "" })
	require.Error(t, err)
	got := err.Error() + "\n"
	golden := "testdata/invalid-inhibit/errors.golden"
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), got)
}

// Inhibit rules read Alertmanager's forms: a list of matchers, a map of
// equalities, regex maps and source_matchers/target_matchers; an alert's
// evaluation says which sides it matches, with its equal values.
func TestInhibitRules(t *testing.T) {
	t.Parallel()
	const file = `
inhibit_rules:
  - name: cluster-down
    source_match: ['alertname="ClusterDown"', 'severity="critical"']
    target_match: ['alertname!="ClusterDown"']
    equal: [cluster, environment]
  - name: am-style
    source_match: {alertname: NodeDown}
    source_match_re: {labels.zone: "eu-.*"}
    target_matchers: ['severity=~"warning|info"']
    target_match_re: {host: "pay-.*"}
    equal: [host]
`
	eng := load(t, map[string]string{"inhibit.yaml": file})
	rs := eng.InhibitRules()
	require.Len(t, rs, 2)
	require.Equal(t, `{alertname="ClusterDown", severity="critical"}`, rs[0].Source.String())
	require.Equal(t, `{alertname!="ClusterDown"}`, rs[0].Target.String())
	require.Equal(t, []string{"cluster", "environment"}, rs[0].Equal)
	require.Equal(t, `{alertname="NodeDown", labels.zone=~"eu-.*"}`, rs[1].Source.String())
	require.Equal(t, `{host=~"pay-.*", severity=~"warning|info"}`, rs[1].Target.String())
	require.True(t, strings.HasPrefix(rs[0].Key, "cluster-down@"), rs[0].Key)
	require.Equal(t, "inhibit.yaml", filepath.Base(rs[0].File))
	require.Equal(t, 3, rs[0].Line)

	child := alert(func(a *incidenthub.Alert) {
		a.Labels = map[string]string{"alertname": "HighLatency", "cluster": "eu-1"}
	})
	res, err := eng.Evaluate(child)
	require.NoError(t, err)
	require.Len(t, res.Inhibits, 2)
	require.Equal(t, "cluster-down", res.Inhibits[0].Rule)
	require.Equal(t, rs[0].Key, res.Inhibits[0].Key)
	require.Equal(t, `["eu-1","prod"]`, res.Inhibits[0].Equal)
	require.True(t, res.Inhibits[0].Target)
	require.False(t, res.Inhibits[0].Source)
	require.Equal(t, `["pay-1"]`, res.Inhibits[1].Equal)

	parent := alert(func(a *incidenthub.Alert) {
		a.Severity = incidenthub.SeverityCritical
		a.Labels = map[string]string{"alertname": "ClusterDown", "cluster": "eu-1"}
	})
	res, err = eng.Evaluate(parent)
	require.NoError(t, err)
	require.Len(t, res.Inhibits, 1, "a critical ClusterDown is a source only")
	require.True(t, res.Inhibits[0].Source)
	require.False(t, res.Inhibits[0].Target)
	require.Equal(t, `["eu-1","prod"]`, res.Inhibits[0].Equal, "same values as the child's")
	require.Equal(t, res.Inhibits, eng.InhibitSources(parent))
	require.Empty(t, eng.InhibitSources(child))

	// The key changes with the rule's definition, not with its file's other content.
	again := load(t, map[string]string{"inhibit.yaml": "# a comment\n" + file})
	require.Equal(t, rs[0].Key, again.InhibitRules()[0].Key)
	changed := load(t, map[string]string{"inhibit.yaml": strings.Replace(file, "equal: [cluster, environment]", "equal: [cluster]", 1)})
	require.NotEqual(t, rs[0].Key, changed.InhibitRules()[0].Key)
}

// The dry run shows each alert's part in the inhibit rules, and whether
// another alert of the payload or (looked up) an open incident mutes it.
func TestDryRunInhibit(t *testing.T) {
	t.Parallel()
	eng := load(t, map[string]string{"inhibit.yaml": `
inhibit_rules:
  - name: cluster-down
    source_match: ['alertname="ClusterDown"']
    target_match: ['alertname!="ClusterDown"']
    equal: [cluster]
`})
	payload := []byte(`{"alerts": [
  {"status": "firing", "fingerprint": "a1", "labels": {"alertname": "ClusterDown", "cluster": "eu-1", "severity": "critical"}},
  {"status": "firing", "fingerprint": "a2", "labels": {"alertname": "PodCrash", "cluster": "eu-1", "service": "api"}},
  {"status": "firing", "fingerprint": "a3", "labels": {"alertname": "PodCrash", "cluster": "us-1", "service": "api"}},
  {"status": "firing", "fingerprint": "a4", "labels": {"alertname": "Other", "service": "api"}, "annotations": {}}]}`)
	rep, err := eng.Test("am", payload, time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Len(t, rep.Alerts, 4)
	parent, child, other, noCluster := rep.Alerts[0], rep.Alerts[1], rep.Alerts[2], rep.Alerts[3]
	require.False(t, parent.Inhibited)
	require.Len(t, parent.Inhibits, 1)
	require.Equal(t, "source", parent.Inhibits[0].Side)
	require.True(t, child.Inhibited)
	require.Equal(t, "alert 1 of this payload (rule cluster-down)", child.InhibitedBy)
	got, err := json.Marshal(child.Inhibits[0])
	require.NoError(t, err)
	want, err := json.Marshal(map[string]any{"rule": "cluster-down", "file": child.Inhibits[0].File, "line": 3, "side": "target",
		"equal": map[string]string{"cluster": "eu-1"}, "source_match": `{alertname="ClusterDown"}`, "target_match": `{alertname!="ClusterDown"}`,
		"inhibited_by_alert": 1})
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got))
	require.False(t, other.Inhibited, "another cluster")
	require.Equal(t, map[string]string{"cluster": "us-1"}, other.Inhibits[0].Equal)
	require.False(t, noCluster.Inhibited, "a missing label is not eu-1")

	var text strings.Builder
	rep.WriteText(&text)
	for _, want := range []string{
		"  inhibit: INHIBITED by alert 1 of this payload (rule cluster-down) (recorded, notifies nobody until that resolves)\n",
		`    source of cluster-down (` + child.Inhibits[0].File + `:3): while it fires, mutes alerts matching {alertname!="ClusterDown"} with cluster="eu-1"` + "\n",
		`    target of cluster-down (` + child.Inhibits[0].File + `:3): muted while an alert matching {alertname="ClusterDown"} with cluster="us-1" fires` + "\n",
		"  inhibit: not inhibited by this payload (open incidents not looked up: rules test --incidents)\n",
	} {
		require.Contains(t, text.String(), want)
	}

	// With the database: an open incident for us-1 mutes alert 3; the
	// incident is named before the payload's alert.
	var asked []string
	require.NoError(t, rep.FindInhibitors(func(in processor.Inhibit) (int64, error) {
		asked = append(asked, in.Equal)
		if in.Equal == `["us-1"]` || in.Equal == `["eu-1"]` {
			return 42, nil
		}
		return 0, nil
	}))
	require.Equal(t, []string{`["eu-1"]`, `["us-1"]`, `[""]`}, asked, "targets only")
	require.Equal(t, "incident #42 (rule cluster-down)", rep.Alerts[1].InhibitedBy)
	require.Equal(t, "incident #42 (rule cluster-down)", rep.Alerts[2].InhibitedBy)
	require.Zero(t, rep.Alerts[1].Inhibits[0].InhibitedByAlert)
	require.False(t, rep.Alerts[3].Inhibited)
	text.Reset()
	rep.WriteText(&text)
	require.Contains(t, text.String(), "  inhibit: not inhibited now (no open incident or alert of this payload is a source)\n")
}

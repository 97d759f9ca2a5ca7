package app_test

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
)

// monitoringDir holds the shipped alerting rules and dashboard.
var monitoringDir = filepath.Join("..", "..", "docs", "monitoring")

// promql parses the expressions of the rules and dashboard.
var promql = parser.NewParser(parser.Options{})

// metricNames returns the metric names expr selects.
func metricNames(t *testing.T, where, expr string) []string {
	t.Helper()
	e, err := promql.ParseExpr(expr)
	require.NoError(t, err, "%s: %s", where, expr)
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	require.NotEmpty(t, names, "%s selects no metric: %s", where, expr)
	return names
}

// checkMonitoringDocs checks docs/monitoring and the README's metrics list
// against a scrape of a hub that has seen traffic: the rules parse as
// Prometheus parses them (rulefmt, as promtool check rules does), the
// dashboard is valid JSON whose every query parses, and every metric they
// name is one the hub exposes; the README lists exactly the hub's metrics.
func checkMonitoringDocs(t *testing.T, m families) {
	t.Helper()

	// Alerting rules.
	file := filepath.Join(monitoringDir, "prometheus-rules.yml")
	groups, errs := rulefmt.ParseFile(file, false, model.UTF8Validation, promql, slog.New(slog.DiscardHandler))
	require.Empty(t, errs, "%s does not load in Prometheus", file)
	var alerts []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "%s: only alerting rules", file)
			require.NotEmpty(t, r.Annotations["summary"], "%s: %s has a summary", file, r.Alert)
			alerts = append(alerts, r.Alert)
			for _, name := range metricNames(t, file+": "+r.Alert, r.Expr) {
				require.True(t, m.exposed(name), "%s: %s uses %s, which the hub does not expose", file, r.Alert, name)
			}
		}
	}
	for _, want := range []string{"IncidentHubBacklogGrowing", "IncidentHubEventsOldestPending", "IncidentHubDeliveriesDead",
		"IncidentHubCircuitOpen", "IncidentHubConfigReloadFailed", "IncidentHubRegistryFailing"} {
		require.Contains(t, alerts, want, file)
	}

	// Dashboard.
	file = filepath.Join(monitoringDir, "grafana-dashboard.json")
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var dash struct {
		Title  string      `json:"title"`
		UID    string      `json:"uid"`
		Panels []dashPanel `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &dash), "%s is not valid JSON", file)
	require.NotEmpty(t, dash.Title)
	require.NotEmpty(t, dash.UID)
	// Grafana's variables, as Prometheus would receive them.
	vars := strings.NewReplacer("$__rate_interval", "5m", "$job", ".+")
	ids := map[int]bool{}
	queries := 0
	var walk func([]dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			require.False(t, ids[p.ID], "%s: panel id %d twice", file, p.ID)
			ids[p.ID] = true
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			require.NotEmpty(t, p.Targets, "%s: panel %q has no query", file, p.Title)
			for _, q := range p.Targets {
				queries++
				for _, name := range metricNames(t, file+": "+p.Title, vars.Replace(q.Expr)) {
					require.True(t, m.exposed(name), "%s: panel %q uses %s, which the hub does not expose", file, p.Title, name)
				}
			}
		}
	}
	walk(dash.Panels)
	require.Greater(t, queries, 10)

	// The README's list: every metric the hub exposes, and no other.
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	section := string(readme)
	start := strings.Index(section, "\n### Metrics\n")
	require.GreaterOrEqual(t, start, 0, "README has a ### Metrics section")
	section = section[start+1:]
	if end := regexp.MustCompile(`\n##+ `).FindStringIndex(section[4:]); end != nil {
		section = section[:end[0]+4]
	}
	listed := regexp.MustCompile("`(incidenthub_[a-z_]+)").FindAllStringSubmatch(section, -1)
	documented := map[string]bool{}
	for _, l := range listed {
		documented[l[1]] = true
		require.True(t, m.exposed(l[1]), "README lists %s, which the hub does not expose", l[1])
	}
	var exposed []string
	for name := range m {
		if strings.HasPrefix(name, "incidenthub_") {
			exposed = append(exposed, name)
		}
	}
	slices.Sort(exposed)
	for _, name := range exposed {
		require.True(t, documented[name], "README's ### Metrics does not list %s", name)
	}
}

type dashPanel struct {
	ID      int         `json:"id"`
	Type    string      `json:"type"`
	Title   string      `json:"title"`
	Panels  []dashPanel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

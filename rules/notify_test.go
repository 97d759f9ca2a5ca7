package rules_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/rules"
)

const holdConfig = `
sources:
  - name: gen
    kind: generic
    auth: {type: none}
routing:
  rules_dir: rules
  default: [slack-catchall]
  notify_after: 1m
  min_alerts: 2
`

const holdRules = `
rules:
  - name: batch-waits
    when: 'service == "batch"'
    notify_after: 10m
    min_alerts: 3
    continue: true
  - name: batch-nightly
    when: 'service == "batch" && labels.job == "nightly"'
    notify_after: 30m
  - name: page-at-once
    when: 'severity == "critical"'
    route: [pagerduty-payments]
    notify_after: 0s
    min_alerts: 0
`

// routing's notify_after and min_alerts apply to every alert; the last
// matching rule that sets one wins (0 included), and the result says
// where each came from.
func TestNotifyHoldRouting(t *testing.T) {
	t.Parallel()
	_, eng, err := rules.Load(setup(t, holdConfig, map[string]string{"a.yaml": holdRules}), func(string) string { return "" }, targets)
	require.NoError(t, err)
	cases := []struct {
		name          string
		mod           func(*incidenthub.Alert)
		after         time.Duration
		afterFrom     string
		minAlerts     int
		minAlertsFrom string
	}{
		{"routing defaults", func(*incidenthub.Alert) {}, time.Minute, "routing", 2, "routing"},
		{"a rule's own", func(a *incidenthub.Alert) { a.Service = "batch" }, 10 * time.Minute, "rule batch-waits", 3, "rule batch-waits"},
		{"a later rule's notify_after, the earlier's min_alerts", func(a *incidenthub.Alert) { a.Service, a.Labels["job"] = "batch", "nightly" },
			30 * time.Minute, "rule batch-nightly", 3, "rule batch-waits"},
		{"zero overrides the defaults", func(a *incidenthub.Alert) { a.Severity = incidenthub.SeverityCritical }, 0, "rule page-at-once", 0, "rule page-at-once"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := eng.Evaluate(alert(tc.mod))
			require.NoError(t, err)
			require.Equal(t, tc.after, res.NotifyAfter)
			require.Equal(t, tc.afterFrom, res.NotifyAfterFrom)
			require.Equal(t, tc.minAlerts, res.MinAlerts)
			require.Equal(t, tc.minAlertsFrom, res.MinAlertsFrom)
			r, err := eng.Route(alert(tc.mod))
			require.NoError(t, err)
			require.Equal(t, tc.after, r.NotifyAfter, "the processor gets the same")
			require.Equal(t, tc.minAlerts, r.MinAlerts)
		})
	}

	// Without routing defaults or a matching rule, nothing is held.
	res, err := load(t, map[string]string{"a.yaml": holdRules}).Evaluate(alert())
	require.NoError(t, err)
	require.Zero(t, res.NotifyAfter)
	require.Zero(t, res.MinAlerts)
	require.Empty(t, res.NotifyAfterFrom)
}

// Bad values are reported with file, line and key, all at once.
func TestNotifyHoldValidation(t *testing.T) {
	t.Parallel()
	_, _, err := rules.Load(setup(t, "routing: {rules_dir: rules, notify_after: -5s}\n", map[string]string{"a.yaml": `rules:
  - name: a
    when: 'true'
    continue: true
    notify_after: -1m
    min_alerts: -1
  - name: b
    when: 'true'
    continue: true
    notify_after: later
  - name: c
    when: 'false'
    drop: true
    min_alerts: 2
`}), func(string) string { return "" })
	require.Error(t, err)
	for _, want := range []string{
		`hub.yaml:1:29: routing.notify_after: must not be negative (0s notifies at once)`,
		`a.yaml:5:5: rules[0].notify_after: must not be negative (0s notifies at once)`,
		`a.yaml:6:5: rules[0].min_alerts: must not be negative (0 or 1 notifies on the first alert)`,
		`a.yaml:10:5: rules[1].notify_after: invalid duration "later"`,
		`a.yaml:13:5: rules[2].drop: a dropping rule cannot also delay notifications (notify_after, min_alerts): the alert is discarded`,
	} {
		require.Contains(t, err.Error(), want)
	}
}

// rules test shows the hold, as text and as JSON; an alert without one
// shows nothing about it.
func TestDryRunNotifyHold(t *testing.T) {
	t.Parallel()
	_, eng, err := rules.Load(setup(t, holdConfig, map[string]string{"a.yaml": holdRules}), func(string) string { return "" }, targets)
	require.NoError(t, err)
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	rep, err := eng.Test("gen", []byte(`{"alerts": [{"fingerprint":"b1","status":"firing","severity":"warning","service":"batch","alert_type":"JobLate","title":"nightly late"},
		{"fingerprint":"p1","status":"firing","severity":"critical","service":"payments","alert_type":"Down","title":"payments down"}]}`), at)
	require.NoError(t, err)
	require.Len(t, rep.Alerts, 2)
	var out strings.Builder
	rep.WriteText(&out)
	text := out.String()
	require.Contains(t, text, "  first notification: after 10m0s [rule batch-waits] and once it has 3 member alerts [rule batch-waits] (the incident opens at once; a blip resolved before then notifies nobody)\n")
	require.Equal(t, 1, strings.Count(text, "first notification:"), "the critical alert notifies at once: %s", text)

	raw, err := json.Marshal(rep)
	require.NoError(t, err)
	var doc struct {
		Alerts []map[string]any `json:"alerts"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Equal(t, "10m0s", doc.Alerts[0]["notify_after"])
	require.Equal(t, "rule batch-waits", doc.Alerts[0]["notify_after_from"])
	require.EqualValues(t, 3, doc.Alerts[0]["min_alerts"])
	require.NotContains(t, doc.Alerts[1], "notify_after")
	require.NotContains(t, doc.Alerts[1], "min_alerts")
}

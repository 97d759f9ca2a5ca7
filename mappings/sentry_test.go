package mappings_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/mappings"
)

func TestSentryNotMapped(t *testing.T) {
	t.Parallel()
	want := "(want metric_alert critical, warning or resolved; issue status unresolved, resolved or ignored; event_alert triggered)"
	requireNotMapped(t, "sentry", []notMapped{
		{"installation webhook", `{"action":"created","data":{"installation":{"uuid":"a8e5d37a"}}}`,
			`$: required field "resource" is missing (a Sentry issue alert, metric alert or issue webhook has data.event, data.metric_alert or data.issue; see docs/sources.md)`},
		{"bad metric action", `{"action":"muted","data":{"metric_alert":{"id":"4","alert_rule":{"name":"r"}}}}`,
			`$: unknown Sentry webhook "metric_alert muted" ` + want},
		{"bad issue status", `{"action":"created","data":{"issue":{"id":"1","title":"t","status":"reprocessing"}}}`,
			`$: unknown Sentry webhook "issue reprocessing" ` + want},
		{"event alert not triggered", `{"action":"resolved","data":{"event":{"event_id":"e1","title":"t"}}}`,
			`$: unknown Sentry webhook "event_alert resolved" ` + want},
		{"event not an object", `{"action":"triggered","data":{"event":"e4874d66"}}`,
			`data.event: expected an object, got string`},
		{"metric alert without rule name", `{"action":"critical","data":{"metric_alert":{"id":"4"}}}`,
			`data.metric_alert.alert_rule.name: required field "alert_type" is missing`},
		// A bad date_started is a warning, not an error: TestNormalizeWarnings.
	})
}

// TestSentrySeverity pins event and issue levels; a metric alert's action
// is its severity.
func TestSentrySeverity(t *testing.T) {
	t.Parallel()
	for level, want := range map[string]incidenthub.Severity{"fatal": sevCritical, "error": sevHigh, "warning": sevWarning, "info": sevInfo, "debug": sevInfo, "sample": sevWarning} {
		require.Equal(t, want, severityOf(t, "sentry", "issue-alert.json", setMember([]string{"data", "event"}, "level", level)), "event level %s", level)
		require.Equal(t, want, severityOf(t, "sentry", "issue-created.json", setMember([]string{"data", "issue"}, "level", level)), "issue level %s", level)
	}
	require.Equal(t, sevCritical, severityOf(t, "sentry", "metric-critical.json", nil))
	require.Equal(t, sevWarning, severityOf(t, "sentry", "metric-warning.json", nil))
	require.Equal(t, sevInfo, severityOf(t, "sentry", "metric-resolved.json", nil))
}

// TestSentryIssueStatus: an issue webhook's state is the issue's status,
// whatever the action.
func TestSentryIssueStatus(t *testing.T) {
	t.Parallel()
	for status, want := range map[string]incidenthub.AlertStatus{
		"unresolved": incidenthub.AlertFiring, "resolved": incidenthub.AlertResolved, "ignored": incidenthub.AlertResolved,
	} {
		alerts, err := normalizeAlerts("sentry", "sentry", edited(t, "sentry", "issue-assigned.json", setMember([]string{"data", "issue"}, "status", status)), receivedAt)
		require.NoError(t, err)
		require.Equal(t, want, alerts[0].Status, status)
	}
}

// TestSentryHost: an event's server_name tag (else its server_name), or a
// metric alert rule's server_name filter.
func TestSentryHost(t *testing.T) {
	t.Parallel()
	host := func(kind, name string, edit func(m map[string]any)) string {
		alerts, err := normalizeAlerts(kind, "sentry", edited(t, kind, name, edit), receivedAt)
		require.NoError(t, err)
		return alerts[0].Host
	}
	require.Equal(t, "ledger-web-4", host("sentry", "issue-alert.json", nil))
	require.Equal(t, "ledger-web-9", host("sentry", "issue-alert.json", func(m map[string]any) {
		e := obj(m, "data", "event")
		e["tags"] = []any{[]any{"level", "error"}}
		e["server_name"] = "ledger-web-9"
	}))
	require.Equal(t, "", host("sentry", "metric-critical.json", nil))
	for query, want := range map[string]string{
		"server_name:web-3":                     "web-3",
		"level:error server_name:web-3":         "web-3",
		`level:error server_name:"web-3" foo:1`: "web-3",
		"level:error !server_name:web-3":        "",
		"level:error":                           "",
	} {
		got := host("sentry", "metric-critical.json", setMember([]string{"data", "metric_alert", "alert_rule"}, "query", query))
		require.Equal(t, want, got, "query %q", query)
	}
}

func TestSentryDedup(t *testing.T) {
	t.Parallel()
	requireDistinctDedup(t, "sentry", "metric-critical.json", "metric-warning.json", "metric-resolved.json", "issue-alert.json",
		"issue-created.json", "issue-assigned.json", "issue-resolved.json", "issue-archived.json", "issue-unresolved.json")
	// Resolved again after a regression (a later lastSeen): not a duplicate
	// of the first resolve.
	again := edited(t, "sentry", "issue-resolved.json", setMember([]string{"data", "issue"}, "lastSeen", "2024-05-01T11:42:15.902113Z"))
	require.NotEqual(t, mappings.DedupKey("sentry", readTestdata(t, "sentry", "issue-resolved.json")), mappings.DedupKey("sentry", again))
}

func TestSentryResolves(t *testing.T) {
	t.Parallel()
	requireResolves(t, "sentry", "metric-critical.json", "metric-resolved.json", mustTime(t, "2024-05-01T09:50:00Z"))
	requireResolves(t, "sentry", "issue-alert.json", "issue-resolved.json", mustTime(t, "2024-05-01T10:07:41.119204Z"))
	requireResolves(t, "sentry", "issue-created.json", "issue-archived.json", mustTime(t, "2024-05-01T10:07:41.119204Z"))
}

func TestSentryStormTemplates(t *testing.T) {
	t.Parallel()

}

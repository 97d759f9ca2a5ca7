package mappings_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
)

func TestGCPMonitoringNotMapped(t *testing.T) {
	t.Parallel()
	requireNotMapped(t, "gcp-monitoring", []notMapped{
		{"no incident", `{"version":"1.2"}`,
			`incident: required field "incident" is missing (is this a Cloud Monitoring webhook notification? see docs/sources.md)`},
		{"incident not an object", `{"version":"1.2","incident":"0.a"}`,
			`incident: expected an object, got string`},
		{"no incident_id", `{"incident":{"state":"open","condition_name":"c"}}`,
			`incident.incident_id: required field "incident_id" is missing`},
		{"bad state", `{"incident":{"incident_id":"0.a","state":"muted","condition_name":"c"}}`,
			`incident.state: unknown incident state "muted" (want open or closed)`},
		{"bad severity", `{"incident":{"incident_id":"0.a","state":"open","condition_name":"c","severity":"Severe"}}`,
			`incident.severity: unknown severity "Severe" (want Critical, Error, Warning or No severity)`},
		// A bad or out-of-range started_at is a warning: TestNormalizeWarnings.
		{"no condition or policy", `{"incident":{"incident_id":"0.a","state":"open"}}`,
			`$: required field "alert_type" is missing`},
	})
}

// TestGCPMonitoringSeverity pins the policy severity levels, and the
// "severity" user label older policies use.
func TestGCPMonitoringSeverity(t *testing.T) {
	t.Parallel()
	for word, want := range map[string]incidenthub.Severity{"Critical": sevCritical, "Error": sevHigh, "Warning": sevWarning, "No severity": sevWarning, "CRITICAL": sevCritical} {
		got := severityOf(t, "gcp-monitoring", "open.json", setMember([]string{"incident"}, "severity", word))
		require.Equal(t, want, got, "severity %s", word)
	}
	require.Equal(t, sevWarning, severityOf(t, "gcp-monitoring", "open.json", setMember([]string{"incident"}, "severity", nil)))
	for label, want := range map[string]incidenthub.Severity{"P2": sevHigh, "critical": sevCritical, "sev-3": sevWarning} {
		got := severityOf(t, "gcp-monitoring", "open.json", func(m map[string]any) {
			obj(m, "incident")["severity"] = "No severity"
			obj(m, "incident", "policy_user_labels")["severity"] = label
		})
		require.Equal(t, want, got, "severity label %s", label)
	}
}

func TestGCPMonitoringDedup(t *testing.T) {
	t.Parallel()
	requireDistinctDedup(t, "gcp-monitoring", "open.json", "closed.json", "uptime-open.json", "cloud-run-closed-no-end.json")
}

func TestGCPMonitoringResolves(t *testing.T) {
	t.Parallel()
	requireResolves(t, "gcp-monitoring", "open.json", "closed.json", mustTime(t, "2024-05-01T09:59:00Z"))
	// closed without ended_at: no start of its own either.
	body := edited(t, "gcp-monitoring", "closed.json", setMember([]string{"incident"}, "ended_at", nil))
	alerts, err := normalizeAlerts("gcp-monitoring", "gcp", body, receivedAt)
	require.NoError(t, err)
	require.Equal(t, receivedAt, alerts[0].StartsAt)
	require.Nil(t, alerts[0].EndsAt)
}

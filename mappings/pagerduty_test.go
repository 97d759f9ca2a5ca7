package mappings_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/mappings"
)

func TestPagerDutyNotMapped(t *testing.T) {
	t.Parallel()
	notIncident := "is not an incident: this event (a note, a responder request, a status update, a service change) raises no alert; subscribe to the incident events listed in docs/sources.md"
	requireNotMapped(t, "pagerduty", []notMapped{
		{"v2 webhook", `{"messages":[{"event":"incident.trigger","incident":{"id":"PIJ90N7"}}]}`,
			`event.event_type: required field "event_type" is missing (is this a PagerDuty V3 webhook subscription? see docs/sources.md)`},
		{"note", `{"event":{"id":"01","event_type":"incident.annotated","data":{"type":"incident_note","content":"on it","incident":{"id":"PGR0VU2"}}}}`,
			`event.data.type: "incident_note" ` + notIncident},
		{"responder request", `{"event":{"id":"01","event_type":"incident.responder.added","data":{"type":"incident_responder","incident":{"id":"PGR0VU2"}}}}`,
			`event.data.type: "incident_responder" ` + notIncident},
		{"service event", `{"event":{"id":"01","event_type":"service.updated","data":{"type":"service","id":"PF9KMXH"}}}`,
			`event.data.type: "service" ` + notIncident},
		{"bad status", `{"event":{"id":"01","event_type":"incident.triggered","data":{"type":"incident","id":"P1","status":"snoozed","title":"x"}}}`,
			`event.data.status: unknown incident status "snoozed" (want triggered, acknowledged or resolved)`},
		{"no incident id", `{"event":{"id":"01","event_type":"incident.triggered","data":{"type":"incident","status":"triggered","title":"x"}}}`,
			`event.data.id: required field "fingerprint" is missing`},
		// A bad occurred_at is a warning: TestNormalizeWarnings.
	})
}

// TestPagerDutySeverity: the incident priority through the severity words,
// else the urgency.
func TestPagerDutySeverity(t *testing.T) {
	t.Parallel()
	data := []string{"event", "data"}
	for word, want := range map[string]incidenthub.Severity{"high": sevHigh, "low": sevWarning} {
		require.Equal(t, want, severityOf(t, "pagerduty", "escalated-low-urgency.json", setMember(data, "urgency", word)), "urgency %s", word)
	}
	require.Equal(t, sevWarning, severityOf(t, "pagerduty", "escalated-low-urgency.json", setMember(data, "urgency", nil)))
	for word, want := range map[string]incidenthub.Severity{"P1": sevCritical, "P2": sevHigh, "P3": sevWarning, "P4": sevInfo, "P5": sevInfo, "SEV-1": sevWarning} {
		priority := map[string]any{"summary": word, "type": "priority_reference"}
		require.Equal(t, want, severityOf(t, "pagerduty", "escalated-low-urgency.json", setMember(data, "priority", priority)), "priority %s", word)
	}
}

// TestPagerDutyTitle: the title's last " on <one word>" is the host, the
// rest the alert type.
func TestPagerDutyTitle(t *testing.T) {
	t.Parallel()
	for title, want := range map[string][2]string{
		"Disk usage above 90% on ledger-db-1":     {"Disk usage above 90%", "ledger-db-1"},
		"Errors on checkout on web-3.example.org": {"Errors on checkout", "web-3.example.org"},
		"Errors on checkout page":                 {"Errors on checkout page", ""},
		"Backup failed":                           {"Backup failed", ""},
		"on web-1":                                {"on web-1", ""},
	} {
		alerts, err := normalizeAlerts("pagerduty", "pd", edited(t, "pagerduty", "triggered.json", setMember([]string{"event", "data"}, "title", title)), receivedAt)
		require.NoError(t, err)
		require.Equal(t, want[0], alerts[0].AlertType, title)
		require.Equal(t, want[1], alerts[0].Host, title)
		require.Equal(t, title, alerts[0].Title)
	}
}

func TestPagerDutyDedup(t *testing.T) {
	t.Parallel()
	requireDistinctDedup(t, "pagerduty", "triggered.json", "acknowledged.json", "resolved.json", "reopened.json", "priority-updated.json")
	require.Equal(t, "01EZ7B3G6P2KQ9M4VXN8R5T1WC", mappings.DedupKey("pagerduty", readTestdata(t, "pagerduty", "triggered.json")))
}

func TestPagerDutyResolves(t *testing.T) {
	t.Parallel()
	requireResolves(t, "pagerduty", "triggered.json", "resolved.json", mustTime(t, "2024-05-01T09:41:06Z"))
	requireResolves(t, "pagerduty", "acknowledged.json", "resolved.json", mustTime(t, "2024-05-01T09:41:06Z"))
	// The reopen fires at its own time, after the resolve, so it reopens.
	reopened, err := normalizeAlerts("pagerduty", "pd", readTestdata(t, "pagerduty", "reopened.json"), receivedAt)
	require.NoError(t, err)
	resolved, err := normalizeAlerts("pagerduty", "pd", readTestdata(t, "pagerduty", "resolved.json"), receivedAt)
	require.NoError(t, err)
	require.True(t, reopened[0].EventTime().After(resolved[0].EventTime()))
}

func TestPagerDutyStormTemplates(t *testing.T) {
	t.Parallel()

}

package mappings_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/mappings"
)

func TestNewRelicNotMapped(t *testing.T) {
	t.Parallel()
	requireNotMapped(t, "newrelic", []notMapped{
		{"no state", `{"id":"0ea2df1c","title":"x"}`,
			`state: required field "state" is missing (is this a New Relic workflow webhook with the default payload, or a legacy webhook channel? see docs/sources.md)`},
		{"bad state", `{"id":"0ea2df1c","state":"MUTED","alertConditionNames":["c"]}`,
			`state: unknown state "MUTED" (want ACTIVATED, CREATED, ACKNOWLEDGED or CLOSED; a legacy channel's open, acknowledged or closed)`},
		{"bad legacy state", `{"incident_id":1,"current_state":"resolved","condition_name":"c"}`,
			`current_state: unknown state "resolved" (want ACTIVATED, CREATED, ACKNOWLEDGED or CLOSED; a legacy channel's open, acknowledged or closed)`},
		{"bad priority", `{"id":"0ea2df1c","state":"ACTIVATED","priority":"URGENT","alertConditionNames":["c"]}`,
			`priority: unknown priority "URGENT" (want CRITICAL, HIGH, MEDIUM or LOW)`},
		{"bad legacy severity", `{"incident_id":1,"current_state":"open","condition_name":"c","severity":"HIGH"}`,
			`severity: unknown severity "HIGH" (want CRITICAL, WARNING or INFO)`},
		{"conditions not a list", `{"id":"0ea2df1c","state":"ACTIVATED","alertConditionNames":"c"}`,
			`alertConditionNames: expected an array, got string`},
		// A bad createdAt is a warning, not an error: TestNormalizeWarnings.
		{"nothing to name it by", `{"id":"0ea2df1c","state":"ACTIVATED"}`,
			`alertConditionNames[0]: required field "alert_type" is missing`},
	})
}

// TestNewRelicSeverity pins workflow priorities and legacy severities.
func TestNewRelicSeverity(t *testing.T) {
	t.Parallel()
	for word, want := range map[string]incidenthub.Severity{"CRITICAL": sevCritical, "HIGH": sevHigh, "MEDIUM": sevWarning, "LOW": sevInfo} {
		require.Equal(t, want, severityOf(t, "newrelic", "workflow-activated.json", setMember(nil, "priority", word)), "priority %s", word)
	}
	require.Equal(t, sevWarning, severityOf(t, "newrelic", "workflow-activated.json", setMember(nil, "priority", nil)))
	for word, want := range map[string]incidenthub.Severity{"CRITICAL": sevCritical, "WARNING": sevWarning, "INFO": sevInfo} {
		require.Equal(t, want, severityOf(t, "newrelic", "legacy-open.json", setMember(nil, "severity", word)), "severity %s", word)
	}
}

// TestNewRelicStates: both payloads' states; the legacy channel's test
// notification fires.
func TestNewRelicStates(t *testing.T) {
	t.Parallel()
	for state, want := range map[string]incidenthub.AlertStatus{
		"CREATED": incidenthub.AlertFiring, "ACTIVATED": incidenthub.AlertFiring,
		"ACKNOWLEDGED": incidenthub.AlertFiring, "CLOSED": incidenthub.AlertResolved,
	} {
		alerts, err := normalizeAlerts("newrelic", "nr", edited(t, "newrelic", "workflow-activated.json", setMember(nil, "state", state)), receivedAt)
		require.NoError(t, err)
		require.Equal(t, want, alerts[0].Status, state)
	}
	for state, want := range map[string]incidenthub.AlertStatus{
		"open": incidenthub.AlertFiring, "acknowledged": incidenthub.AlertFiring,
		"closed": incidenthub.AlertResolved, "test": incidenthub.AlertFiring,
	} {
		alerts, err := normalizeAlerts("newrelic", "nr", edited(t, "newrelic", "legacy-open.json", setMember(nil, "current_state", state)), receivedAt)
		require.NoError(t, err)
		require.Equal(t, want, alerts[0].Status, state)
	}
}

func TestNewRelicDedup(t *testing.T) {
	t.Parallel()
	requireDistinctDedup(t, "newrelic", "workflow-activated.json", "workflow-acknowledged.json", "workflow-closed.json",
		"workflow-closed-custom.json", "legacy-open.json", "legacy-acknowledged.json", "legacy-closed.json")
	// The next update (a new updatedAt) is not a retry.
	updated := edited(t, "newrelic", "workflow-activated.json", func(m map[string]any) {
		m["updatedAt"] = json.Number("1714557500000")
		m["priority"] = "HIGH"
	})
	require.NotEqual(t, mappings.DedupKey("newrelic", readTestdata(t, "newrelic", "workflow-activated.json")), mappings.DedupKey("newrelic", updated))
	// An unreadable updatedAt (a warning, not an error) still tells the
	// issue's changes apart.
	odd := func(ms string) []byte {
		return edited(t, "newrelic", "workflow-activated.json", setMember(nil, "updatedAt", map[string]any{"ms": json.Number(ms)}))
	}
	first, second := mappings.DedupKey("newrelic", odd("1714557500000")), mappings.DedupKey("newrelic", odd("1714557600000"))
	require.NotEmpty(t, first)
	require.NotEqual(t, first, second)
	require.Equal(t, first, mappings.DedupKey("newrelic", odd("1714557500000")), "a retry is still a duplicate")
}

func TestNewRelicResolves(t *testing.T) {
	t.Parallel()
	requireResolves(t, "newrelic", "workflow-activated.json", "workflow-closed.json", mustTime(t, "2024-05-01T09:55:12.457Z"))
	requireResolves(t, "newrelic", "legacy-open.json", "legacy-closed.json", time.Time{})
}

func TestNewRelicStormTemplates(t *testing.T) {
	t.Parallel()

}

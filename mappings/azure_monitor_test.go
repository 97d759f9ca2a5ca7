package mappings_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/mappings"
)

func TestAzureMonitorNotMapped(t *testing.T) {
	t.Parallel()
	requireNotMapped(t, "azure-monitor", []notMapped{
		{"legacy metric schema", `{"schemaId":"AzureMonitorMetricAlert","data":{"status":"Activated","context":{}}}`,
			`schemaId: schemaId "AzureMonitorMetricAlert" is not the common alert schema (turn on "Enable the common alert schema" in the action group's webhook action; see docs/sources.md)`},
		{"no essentials", `{"data":{}}`,
			`data.essentials.alertRule: required field "rule" is missing (is "Enable the common alert schema" on in the action group's webhook action? see docs/sources.md)`},
		{"no monitorCondition", `{"data":{"essentials":{"alertRule":"cpu"}}}`,
			`data.essentials.monitorCondition: required field "condition" is missing`},
		{"bad monitorCondition", `{"data":{"essentials":{"alertRule":"cpu","monitorCondition":"Activated"}}}`,
			`data.essentials.monitorCondition: unknown monitorCondition "Activated" (want Fired or Resolved)`},
		{"bad severity", `{"data":{"essentials":{"alertRule":"cpu","monitorCondition":"Fired","severity":"Sev9"}}}`,
			`data.essentials.severity: unknown severity "Sev9" (want Sev0, Sev1, Sev2, Sev3 or Sev4)`},
		{"targets not a list", `{"data":{"essentials":{"alertRule":"cpu","monitorCondition":"Fired","alertTargetIDs":"/subscriptions/x"}}}`,
			`data.essentials.alertTargetIDs: expected an array, got string`},
		// A bad firedDateTime is a warning, not an error: TestNormalizeWarnings.
	})
}

// TestAzureMonitorSeverity pins Sev0 … Sev4 (docs/sources.md#azure-monitor).
func TestAzureMonitorSeverity(t *testing.T) {
	t.Parallel()
	for word, want := range map[string]incidenthub.Severity{"Sev0": sevCritical, "Sev1": sevHigh, "Sev2": sevWarning, "Sev3": sevInfo, "Sev4": sevInfo, "sev0": sevCritical} {
		got := severityOf(t, "azure-monitor", "metric-fired.json", setMember([]string{"data", "essentials"}, "severity", word))
		require.Equal(t, want, got, "severity %s", word)
	}
	require.Equal(t, sevWarning, severityOf(t, "azure-monitor", "metric-fired.json", setMember([]string{"data", "essentials"}, "severity", nil)))
}

// TestAzureMonitorService: a "service" custom property, else the resource
// group (lower case), else the resource type.
func TestAzureMonitorService(t *testing.T) {
	t.Parallel()
	service := func(edit func(m map[string]any)) string {
		alerts, err := normalizeAlerts("azure-monitor", "az", edited(t, "azure-monitor", "metric-fired.json", edit), receivedAt)
		require.NoError(t, err)
		return alerts[0].Service
	}
	require.Equal(t, "checkout", service(nil))
	noProperty := func(m map[string]any) { delete(obj(m, "data", "customProperties"), "service") }
	require.Equal(t, "checkout-prod", service(noProperty), "targetResourceGroup, lower case")
	require.Equal(t, "checkout-prod", service(func(m map[string]any) {
		noProperty(m)
		delete(obj(m, "data", "essentials"), "targetResourceGroup")
	}), "the resource group in the ARM id")
	require.Equal(t, "microsoft.compute/virtualmachines", service(func(m map[string]any) {
		noProperty(m)
		delete(obj(m, "data", "essentials"), "targetResourceGroup")
		obj(m, "data", "essentials")["alertTargetIDs"] = []any{"/subscriptions/7b4e2f8a/providers/Microsoft.Compute/virtualMachines/vm-9"}
	}), "no resource group: the resource type")
}

func TestAzureMonitorDedup(t *testing.T) {
	t.Parallel()
	requireDistinctDedup(t, "azure-monitor", "metric-fired.json", "metric-resolved.json", "log-fired.json", "log-resolved.json",
		"resource-health-unavailable.json", "resource-health-available.json", "service-health.json", "service-health-resolved.json")

	// A Resource Health outage after the recovery is a new delivery (a new
	// alert instance), though its alert and state are those of the first.
	again := edited(t, "azure-monitor", "resource-health-unavailable.json", func(m map[string]any) {
		obj(m, "data", "essentials")["alertId"] = "/subscriptions/7b4e2f8a-3c1d-4e5f-9a6b-0c8d7e6f5a4b/providers/Microsoft.AlertsManagement/alerts/2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
	})
	first := mappings.DedupKey("azure-monitor", readTestdata(t, "azure-monitor", "resource-health-unavailable.json"))
	require.NotEqual(t, first, mappings.DedupKey("azure-monitor", again))
}

func TestAzureMonitorResolves(t *testing.T) {
	t.Parallel()
	requireResolves(t, "azure-monitor", "metric-fired.json", "metric-resolved.json", mustTime(t, "2024-05-01T09:58:24.3713213Z"))
	requireResolves(t, "azure-monitor", "log-fired.json", "log-resolved.json", time.Time{})
	requireResolves(t, "azure-monitor", "service-health.json", "service-health-resolved.json", mustTime(t, "2024-05-01T07:05:00Z"))
	requireResolves(t, "azure-monitor", "resource-health-unavailable.json", "resource-health-available.json", time.Time{})
}

func TestAzureMonitorStormTemplates(t *testing.T) {
	t.Parallel()

}

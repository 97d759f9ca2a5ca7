package mappings_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/mappings"
)

// exampleSet loads the example mappings under examples/mappings.
func exampleSet(t testing.TB) *mappings.Set {
	t.Helper()
	ms, err := mappings.LoadPath(filepath.Join("..", "examples", "mappings"))
	require.NoError(t, err)
	set, err := mappings.NewSet(ms...)
	require.NoError(t, err)
	return set
}

// TestExampleMappingsGolden maps testdata/<kind>/*.json of every example
// mapping (a homegrown monitor) against golden files, like the built-in
// kinds.
func TestExampleMappingsGolden(t *testing.T) {
	set := exampleSet(t)
	require.Equal(t, []string{"alertmanager", "amazon-sns-cloudwatch", "azure-monitor", "datadog", "dynatrace", "elastic", "gcp-monitoring", "generic", "grafana", "homegrown", "honeycomb", "newrelic", "opsgenie", "pagerduty", "pingdom", "sentry", "uptime-kuma", "zabbix"}, set.Kinds())
	for _, kind := range []string{"homegrown"} {
		runGolden(t, set, kind)
	}
}

func TestExampleMappingsErrors(t *testing.T) {
	t.Parallel()
	set := exampleSet(t)
	cases := []struct{ kind, body, message string }{
		{"homegrown", `{"state":"CRIT"}`, `check.name: required field "check" is missing`},
		{"homegrown", `{"check":{"name":"x"},"state":"MELTING"}`, `state: unknown check state "MELTING" (want OK, WARN, CRIT or UNKNOWN)`},
	}
	for _, tc := range cases {
		_, err := set.Normalize(tc.kind, "src", []byte(tc.body), receivedAt)
		var e *incidenthub.Error
		require.ErrorAs(t, err, &e, tc.body)
		require.Equal(t, incidenthub.EUNPROCESSABLE, e.Code)
		require.Equal(t, tc.message, e.Message)
	}
}

package mappings_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

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
// mapping (a homegrown monitor, Amazon SNS + CloudWatch) against golden
// files, like the built-in kinds.
func TestExampleMappingsGolden(t *testing.T) {
	set := exampleSet(t)
	require.Equal(t, []string{"alertmanager", "datadog", "generic", "grafana", "homegrown", "sns-cloudwatch"}, set.Kinds())
	for _, kind := range []string{"homegrown", "sns-cloudwatch"} {
		runGolden(t, set, kind)
	}
}

func TestExampleMappingsErrors(t *testing.T) {
	t.Parallel()
	set := exampleSet(t)
	cases := []struct{ kind, body, message string }{
		{"homegrown", `{"state":"CRIT"}`, `check.name: required field "check" is missing`},
		{"homegrown", `{"check":{"name":"x"},"state":"MELTING"}`, `state: unknown check state "MELTING" (want OK, WARN, CRIT or UNKNOWN)`},
		{"sns-cloudwatch", `{"Type":"SubscriptionConfirmation","Message":"You have chosen to subscribe to the topic"}`,
			"Message: value is not valid JSON: invalid character 'Y' looking for beginning of value"},
		{"sns-cloudwatch", `{"Type":"Notification"}`, "Message: required alert document is missing"},
		{"sns-cloudwatch", `{"Message":"{\"NewStateValue\":\"ALARM\"}"}`, `Message.AlarmName: required field "name" is missing`},
		{"sns-cloudwatch", `{"Message":"[1]"}`, "Message: expected an object, got array"},
	}
	for _, tc := range cases {
		_, err := set.Normalize(tc.kind, "src", []byte(tc.body), receivedAt)
		var e *incidenthub.Error
		require.ErrorAs(t, err, &e, tc.body)
		require.Equal(t, incidenthub.EUNPROCESSABLE, e.Code)
		require.Equal(t, tc.message, e.Message)
	}
}

// TestSNSDedupAndTimes: the SNS MessageId identifies a delivery, and
// CloudWatch's "+0000" times are read.
func TestSNSDedupAndTimes(t *testing.T) {
	t.Parallel()
	set := exampleSet(t)
	body, err := os.ReadFile(filepath.Join("testdata", "sns-cloudwatch", "alarm.json"))
	require.NoError(t, err)
	require.Equal(t, "5c2f9d3e-1a7b-5e4c-9f0d-3b2a1c0d9e8f", set.DedupKey("sns-cloudwatch", body))
	res, err := set.Normalize("sns-cloudwatch", "aws", body, receivedAt)
	alerts := res.Alerts
	require.NoError(t, err)
	require.Equal(t, time.Date(2024, 5, 1, 10, 0, 12, 345e6, time.UTC), alerts[0].StartsAt)
}

package mappings_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/mappings"
)

// Helpers for the per-kind tests (azure_monitor_test.go, …).

// edited re-encodes testdata/<kind>/<name> after edit changes its decoded
// JSON (nil: unchanged).
func edited(t *testing.T, kind, name string, edit func(m map[string]any)) []byte {
	t.Helper()
	return reencode(t, readTestdata(t, kind, name), edit)
}

// obj walks m along keys, each naming an object member.
func obj(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		m = m[k].(map[string]any)
	}
	return m
}

// setMember returns an edit that sets (or, for nil, deletes) the member
// key of the object at path.
func setMember(path []string, key string, v any) func(m map[string]any) {
	return func(m map[string]any) {
		if v == nil {
			delete(obj(m, path...), key)
			return
		}
		obj(m, path...)[key] = v
	}
}

// notMapped is a body that must not map, and the exact message.
type notMapped struct{ name, body, message string }

// requireNotMapped checks that each body of kind is unprocessable with
// its message.
func requireNotMapped(t *testing.T, kind string, cases []notMapped) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			alerts, err := normalizeAlerts(kind, "src", []byte(tc.body), receivedAt)
			require.Error(t, err)
			require.Nil(t, alerts)
			var e *incidenthub.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, incidenthub.EUNPROCESSABLE, e.Code)
			require.Equal(t, tc.message, e.Message)
		})
	}
}

// severityOf maps testdata/<kind>/<name> after edit and returns the
// alert's severity.
func severityOf(t *testing.T, kind, name string, edit func(m map[string]any)) incidenthub.Severity {
	t.Helper()
	alerts, err := normalizeAlerts(kind, "src", edited(t, kind, name, edit), receivedAt)
	require.NoError(t, err)
	require.Len(t, alerts, 1)
	return alerts[0].Severity
}

// requireDistinctDedup checks that testdata/<kind>/<name> of every name
// has a dedup key, and that no two share one.
func requireDistinctDedup(t *testing.T, kind string, names ...string) {
	t.Helper()
	seen := map[string]string{}
	for _, name := range names {
		k := mappings.DedupKey(kind, readTestdata(t, kind, name))
		require.NotEmpty(t, k, "%s/%s", kind, name)
		require.NotContains(t, seen, k, "%s/%s has the dedup key of %s", kind, name, seen[k])
		seen[k] = name
	}
}

// requireResolves checks that testdata/<kind>/<resolved> resolves the alert
// of <firing> (same fingerprint), is not older than it, and starts at start
// (the zero time: the resolve has no start of its own and takes the
// receive time).
func requireResolves(t *testing.T, kind, firing, resolved string, start time.Time) {
	t.Helper()
	norm := func(name string) incidenthub.Alert {
		alerts, err := normalizeAlerts(kind, "src", readTestdata(t, kind, name), receivedAt)
		require.NoError(t, err)
		require.Len(t, alerts, 1)
		return alerts[0]
	}
	f, r := norm(firing), norm(resolved)
	require.Equal(t, incidenthub.AlertResolved, r.Status, "%s/%s", kind, resolved)
	require.Equal(t, f.Fingerprint, r.Fingerprint, "%s: %s resolves %s", kind, resolved, firing)
	require.False(t, r.EventTime().Before(f.EventTime()), "%s: %s is older than %s", kind, resolved, firing)
	if start.IsZero() {
		start = receivedAt
	}
	require.Equal(t, start, r.StartsAt, "%s/%s", kind, resolved)
}

// mustTime parses an RFC 3339 test time.
func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return v
}

const (
	sevCritical = incidenthub.SeverityCritical
	sevHigh     = incidenthub.SeverityHigh
	sevWarning  = incidenthub.SeverityWarning
	sevInfo     = incidenthub.SeverityInfo
)

// normalizeAlerts is mappings.Normalize for tests that look at the alerts
// only (warnings are checked by the golden tests).
func normalizeAlerts(kind, source string, body []byte, at time.Time) ([]incidenthub.Alert, error) {
	res, err := mappings.Normalize(kind, source, body, at)
	return res.Alerts, err
}

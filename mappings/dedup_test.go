package mappings_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/mappings"
)

func readTestdata(t *testing.T, kind, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", kind, name))
	require.NoError(t, err)
	return b
}

// reencode decodes body and encodes it again: Go writes object keys in
// sorted order and without the original whitespace, so the result has the
// same content in a different key order. Numbers keep every digit (an
// epoch in nanoseconds does not survive a float64).
func reencode(t *testing.T, body []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&m))
	if edit != nil {
		edit(m)
	}
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return out
}

func TestDedupKeySamePayloadSameKey(t *testing.T) {
	t.Parallel()
	for _, kind := range mappings.Kinds() {
		for _, in := range inputs(t, kind) {
			body, err := os.ReadFile(in)
			require.NoError(t, err)
			key := mappings.DedupKey(kind, body)
			require.Equal(t, key, mappings.DedupKey(kind, slices.Clone(body)), in)

			// Key order and whitespace in the JSON do not matter.
			again := reencode(t, body, nil)
			require.NotEqual(t, string(body), string(again), "re-encoding should change the bytes of %s", in)
			require.Equal(t, key, mappings.DedupKey(kind, again), in)
		}
	}
}

func TestDedupKeyValues(t *testing.T) {
	t.Parallel()
	amFiring := readTestdata(t, "alertmanager", "firing.json")
	amKey := mappings.DedupKey("alertmanager", amFiring)
	require.Len(t, amKey, 64, "hex sha256")

	cases := []struct {
		name string
		kind string
		body []byte
		want string
	}{
		{"datadog id", "datadog", readTestdata(t, "datadog", "triggered.json"), "7439847305239548091"},
		{"datadog numeric id keeps every digit", "datadog", []byte(`{"id": 8306082202796025694}`), "8306082202796025694"},
		{"datadog without id", "datadog", []byte(`{"alert_id":"1"}`), ""},
		{"generic single id", "generic", readTestdata(t, "generic", "single.json"), "evt-20240501-0001"},
		{"generic envelope id", "generic", readTestdata(t, "generic", "batch.json"), "batch-42"},
		{"generic without id", "generic", readTestdata(t, "generic", "minimal.json"), ""},
		{"not JSON", "alertmanager", []byte(`{"alerts":`), ""},
		{"no alerts", "grafana", []byte(`{"status":"firing"}`), ""},
		{"bad startsAt", "alertmanager", []byte(`{"alerts":[{"status":"firing","fingerprint":"a","startsAt":"x"}]}`), ""},
		{"unknown kind", "nagios", amFiring, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, mappings.DedupKey(tc.kind, tc.body))
		})
	}
}

func TestDedupKeyFiringVersusResolved(t *testing.T) {
	t.Parallel()
	amFiring := readTestdata(t, "alertmanager", "firing.json")
	amResolved := readTestdata(t, "alertmanager", "resolved.json")
	require.NotEqual(t, mappings.DedupKey("alertmanager", amFiring), mappings.DedupKey("alertmanager", amResolved))

	// Only the status changes: still a different delivery.
	onlyStatus := reencode(t, amFiring, func(m map[string]any) {
		m["alerts"].([]any)[0].(map[string]any)["status"] = "resolved"
	})
	require.NotEqual(t, mappings.DedupKey("alertmanager", amFiring), mappings.DedupKey("alertmanager", onlyStatus))

	gFiring := readTestdata(t, "grafana", "multi-firing.json")
	gOneResolved := reencode(t, gFiring, func(m map[string]any) {
		m["alerts"].([]any)[1].(map[string]any)["status"] = "resolved"
	})
	require.NotEqual(t, mappings.DedupKey("grafana", gFiring), mappings.DedupKey("grafana", gOneResolved))

	ddTriggered := readTestdata(t, "datadog", "triggered.json")
	ddRecovered := readTestdata(t, "datadog", "recovered.json")
	require.NotEqual(t, mappings.DedupKey("datadog", ddTriggered), mappings.DedupKey("datadog", ddRecovered))
}

func TestDedupKeyAlertmanagerIdentity(t *testing.T) {
	t.Parallel()
	multi := readTestdata(t, "alertmanager", "multi.json")
	key := mappings.DedupKey("alertmanager", multi)

	// The order of alerts[] and the group-level fields are not the identity.
	reversed := reencode(t, multi, func(m map[string]any) {
		slices.Reverse(m["alerts"].([]any))
		m["receiver"] = "someone-else"
		m["groupKey"] = "{}:{}"
	})
	require.Equal(t, key, mappings.DedupKey("alertmanager", reversed))

	// The same instant written in another time zone is the same start.
	otherZone := []byte(strings.Replace(string(multi), "2024-05-01T11:52:10.123+02:00", "2024-05-01T09:52:10.123Z", 1))
	require.NotEqual(t, string(multi), string(otherZone))
	require.Equal(t, key, mappings.DedupKey("alertmanager", otherZone))

	// A new start time (the alert fired again) is a new delivery.
	refired := []byte(strings.Replace(string(multi), "2024-05-01T11:52:10.123+02:00", "2024-05-01T12:52:10.123+02:00", 1))
	require.NotEqual(t, key, mappings.DedupKey("alertmanager", refired))

	// So is a different set of alerts.
	fewer := reencode(t, multi, func(m map[string]any) {
		m["alerts"] = m["alerts"].([]any)[:2]
	})
	require.NotEqual(t, key, mappings.DedupKey("alertmanager", fewer))
}

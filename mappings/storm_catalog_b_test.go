package mappings_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/mappings"
)

// stormData is what a kind's storm templates see (BRIEF seam 3).
type stormData struct {
	Service, AlertType, Host string
	Index                    int
	ID                       string
	Time                     time.Time
}

// catalogB are the kinds this file and catalog_b_test.go check: whether
// each sends its own times (a kind that does not gets the receive time as
// starts_at and no ends_at) and a dedup key in its payload.
var catalogB = []struct {
	kind         string
	times, dedup bool
}{
	{"zabbix", true, true},
	{"opsgenie", true, true},
	{"uptime-kuma", true, true},
	{"pingdom", true, true},
	{"honeycomb", false, false},
	{"dynatrace", true, true},
	{"elastic", true, true},
}

// renderStorm renders testdata/<kind>/storm/<state>.json.tmpl with d.
func renderStorm(t *testing.T, kind, state string, d stormData) []byte {
	t.Helper()
	path := filepath.Join("testdata", kind, "storm", state+".json.tmpl")
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	tmpl, err := template.New(filepath.Base(path)).Option("missingkey=error").Parse(string(text))
	require.NoError(t, err, path)
	var buf bytes.Buffer
	require.NoError(t, tmpl.Execute(&buf, d), path)
	require.True(t, json.Valid(buf.Bytes()), "%s renders invalid JSON:\n%s", path, buf.String())
	return buf.Bytes()
}

// TestStormTemplatesCatalogB renders every catalog-B kind's storm
// templates for several (service, alert type, host) triples and checks
// what the storm harness relies on: one alert per payload with the
// triple's service, alert type and host; the resolve has the firing's
// fingerprint and is not a duplicate of it; different hosts, services or
// alert types never share a fingerprint.
func TestStormTemplatesCatalogB(t *testing.T) {
	t.Parallel()
	start := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	triples := []struct{ service, alertType, host string }{
		{"checkout", "HighLatency", "web-1"},
		{"checkout", "HighLatency", "web-2"},
		{"billing", "HighLatency", "web-1"},
		{"checkout", "DiskFull", "web-1"},
	}
	for _, k := range catalogB {
		t.Run(k.kind, func(t *testing.T) {
			t.Parallel()
			seen := map[string]string{} // fingerprint -> triple
			for i, tr := range triples {
				triple := fmt.Sprintf("%s/%s/%s", tr.service, tr.alertType, tr.host)
				fireAt := start.Add(time.Duration(i) * time.Minute)
				resolveAt := fireAt.Add(30 * time.Minute)
				firing := renderStorm(t, k.kind, "firing", stormData{tr.service, tr.alertType, tr.host, i, fmt.Sprintf("storm-%d-f", i), fireAt})
				resolved := renderStorm(t, k.kind, "resolved", stormData{tr.service, tr.alertType, tr.host, i, fmt.Sprintf("storm-%d-r", i), resolveAt})

				fa := normalizeOne(t, k.kind, firing)
				ra := normalizeOne(t, k.kind, resolved)
				for _, a := range []incidenthub.Alert{fa, ra} {
					require.Equal(t, tr.service, a.Service, "%s: service", triple)
					require.Equal(t, tr.alertType, a.AlertType, "%s: alert_type", triple)
					require.Equal(t, tr.host, a.Host, "%s: host", triple)
				}
				require.Equal(t, incidenthub.AlertFiring, fa.Status, triple)
				require.Equal(t, incidenthub.AlertResolved, ra.Status, triple)
				require.Equal(t, fa.Fingerprint, ra.Fingerprint, "%s: the resolve must close the firing alert", triple)
				if prior, ok := seen[fa.Fingerprint]; ok {
					t.Fatalf("%s and %s share fingerprint %q", prior, triple, fa.Fingerprint)
				}
				seen[fa.Fingerprint] = triple

				if k.times {
					require.WithinDuration(t, fireAt, fa.StartsAt, time.Second, "%s: firing starts_at", triple)
					require.NotNil(t, ra.EndsAt, "%s: resolved ends_at", triple)
					require.WithinDuration(t, resolveAt, *ra.EndsAt, time.Second, "%s: resolved ends_at", triple)
				}
				fk, rk := mappings.DedupKey(k.kind, firing), mappings.DedupKey(k.kind, resolved)
				if fk != "" || rk != "" {
					require.NotEqual(t, fk, rk, "%s: the resolve must not be a duplicate of the firing", triple)
				}
			}
		})
	}
}

func normalizeOne(t *testing.T, kind string, body []byte) incidenthub.Alert {
	t.Helper()
	alerts, err := mappings.Normalize(kind, kind+"-storm", body, receivedAt)
	require.NoError(t, err, "%s", body)
	require.Len(t, alerts, 1)
	checkInvariants(t, alerts[0], kind+"-storm")
	return alerts[0]
}

package mappings_test

import (
	"bytes"
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

// stormData is what a storm template sees (the storm harness's data):
// testdata/<kind>/storm/{firing,resolved}.json.tmpl render one payload
// holding one alert of this service, alert type and host.
type stormData struct {
	Service, AlertType, Host string
	Index                    int
	ID                       string // unique per rendered payload
	Time                     time.Time
}

// renderStorm renders testdata/<kind>/storm/<name>.json.tmpl with d.
func renderStorm(t *testing.T, kind, name string, d stormData) []byte {
	t.Helper()
	path := filepath.Join("testdata", kind, "storm", name+".json.tmpl")
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	tmpl, err := template.New(filepath.Base(path)).Option("missingkey=error").Parse(string(text))
	require.NoError(t, err, path)
	var buf bytes.Buffer
	require.NoError(t, tmpl.Execute(&buf, d), path)
	return buf.Bytes()
}

// stormKinds are the built-in kinds that ship storm templates.
func stormKinds(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, kind := range mappings.Kinds() {
		if _, err := os.Stat(filepath.Join("testdata", kind, "storm", "firing.json.tmpl")); err == nil {
			out = append(out, kind)
		}
	}
	return out
}

// requireStormTemplates fails unless kind ships both storm templates (the
// storm harness fails for a built-in kind without them).
func requireStormTemplates(t *testing.T, kind string) {
	t.Helper()
	for _, name := range []string{"firing", "resolved"} {
		_, err := os.Stat(filepath.Join("testdata", kind, "storm", name+".json.tmpl"))
		require.NoError(t, err, kind)
	}
	require.Contains(t, stormKinds(t), kind)
}

// TestStormTemplates is the mapping-level half of the storm check: for each
// kind with storm templates, a firing and a resolved payload rendered for
// the same (service, alert type, host) normalize to that service, alert
// type and host and share a fingerprint, so the resolve resolves the alert
// the firing opened; another host is another alert of the same correlation
// key; another service or alert type is another key; the resolve is not
// older than the firing; and neither a second host nor the resolve is a
// duplicate delivery of the first firing, while a retry of it is.
// headerDedup are the kinds whose payload carries no delivery identity:
// their sources set idempotency_header (Honeycomb's delivery id header).
var headerDedup = map[string]bool{"honeycomb": true}

func TestStormTemplates(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 5, 1, 9, 30, 0, 0, time.UTC)
	for _, kind := range stormKinds(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			type rendered struct {
				firing, resolved       incidenthub.Alert
				firingKey, resolvedKey string
			}
			normalize := func(body []byte, status incidenthub.AlertStatus, d stormData) incidenthub.Alert {
				t.Helper()
				alerts, err := mappings.Normalize(kind, "storm", body, d.Time.Add(time.Minute))
				require.NoError(t, err, "%s\n%s", d.ID, body)
				require.Len(t, alerts, 1, "one payload holds one alert")
				a := alerts[0]
				require.Equal(t, status, a.Status, d.ID)
				require.Equal(t, d.Service, a.Service, "service of %s", d.ID)
				require.Equal(t, d.AlertType, a.AlertType, "alert_type of %s", d.ID)
				require.Equal(t, d.Host, a.Host, "host of %s", d.ID)
				return a
			}
			// A storm over 20 hosts, then the same host under another
			// service and under another alert type.
			var cases []stormData
			for i := range 20 {
				cases = append(cases, stormData{Service: "checkout", AlertType: "HighCPU", Host: fmt.Sprintf("web-%d", i+1)})
			}
			cases = append(cases,
				stormData{Service: "payments", AlertType: "HighCPU", Host: "web-1"},
				stormData{Service: "checkout", AlertType: "DiskFull", Host: "web-1"})
			for i := range cases {
				cases[i].Index = i
			}
			got := make([]rendered, len(cases))
			for i, d := range cases {
				fd := d
				fd.ID, fd.Time = "storm-firing-"+d.Host+"-"+d.Service+"-"+d.AlertType, t0.Add(time.Duration(i)*time.Second)
				rd := d
				rd.ID, rd.Time = "storm-resolved-"+d.Host+"-"+d.Service+"-"+d.AlertType, t0.Add(10*time.Minute+time.Duration(i)*time.Second)
				fb, rb := renderStorm(t, kind, "firing", fd), renderStorm(t, kind, "resolved", rd)
				r := rendered{
					firing:   normalize(fb, incidenthub.AlertFiring, fd),
					resolved: normalize(rb, incidenthub.AlertResolved, rd),
				}
				r.firingKey, r.resolvedKey = mappings.DedupKey(kind, fb), mappings.DedupKey(kind, rb)
				require.Equal(t, r.firing.Fingerprint, r.resolved.Fingerprint, "the resolve must resolve the alert the firing opened")
				require.False(t, r.resolved.EventTime().Before(r.firing.EventTime()), "the resolve must not be older than the firing")
				if headerDedup[kind] {
					require.Empty(t, r.firingKey, "%s identifies deliveries by a header, not its body", kind)
				} else {
					require.NotEmpty(t, r.firingKey, "a firing has a dedup key")
					require.NotEqual(t, r.firingKey, r.resolvedKey, "a resolve is not a duplicate of the firing")
					require.Equal(t, r.firingKey, mappings.DedupKey(kind, renderStorm(t, kind, "firing", fd)), "a retry is a duplicate")
				}
				got[i] = r
			}
			seen := map[string]int{}
			for i, r := range got {
				if j, dup := seen[r.firing.Fingerprint]; dup {
					t.Fatalf("cases %d and %d share fingerprint %q", j, i, r.firing.Fingerprint)
				}
				seen[r.firing.Fingerprint] = i
				for j := range i {
					if headerDedup[kind] {
						break
					}
					require.NotEqual(t, got[j].firingKey, r.firingKey, "cases %d and %d are different deliveries", j, i)
				}
			}
		})
	}
}

package mappings_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/stormtest"
	"github.com/incidenthub/incidenthub/mappings"
)

// stormPayloads renders a few firing and resolved payloads of kind's
// storm templates (testdata/<kind>/storm), for tests and fuzz seeds.
func stormPayloads(t testing.TB, kind string) (firing, resolved [][]byte, data []stormtest.KindData) {
	t.Helper()
	k, err := stormtest.LoadKindTemplates("testdata", kind)
	require.NoError(t, err)
	fired := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	for i, d := range []stormtest.KindData{
		{Service: "checkout", AlertType: "HighErrorRate", Host: "web-01"},
		{Service: "checkout", AlertType: "HighErrorRate", Host: "web-02"},
		{Service: "billing", AlertType: "DiskFull", Host: "db-1"},
	} {
		d.Index, d.ID = i, fmt.Sprintf("00000000-0000-4000-8000-%012d", 2*i)
		d.Time = fired.Add(time.Duration(i) * time.Second)
		d.FiredAt = d.Time
		f, err := k.Render(false, d)
		require.NoError(t, err)
		d.ID = fmt.Sprintf("00000000-0000-4000-8000-%012d", 2*i+1)
		d.Time = d.FiredAt.Add(30 * time.Minute)
		r, err := k.Render(true, d)
		require.NoError(t, err)
		firing, resolved, data = append(firing, f), append(resolved, r), append(data, d)
	}
	return firing, resolved, data
}

// headerDedup are the kinds whose payload carries no delivery identity:
// their sources set idempotency_header (Honeycomb's delivery id header).
var headerDedup = map[string]bool{"honeycomb": true}

// TestStormTemplates checks every built-in kind's storm templates without
// a hub (the storm itself is internal/app's TestKindStorms): each renders
// one alert with the service, alert type and host it was given, without
// warnings, the resolve names the alert the firing opened, and no payload
// is taken for a duplicate of another (a retry of the same payload is:
// the dedup key depends on the body alone).
func TestStormTemplates(t *testing.T) {
	t.Parallel()
	for _, kind := range mappings.Kinds() {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			firing, resolved, data := stormPayloads(t, kind)
			fps, keys := map[string]bool{}, map[string]bool{}
			for i, d := range data {
				f, err := mappings.Normalize(kind, kind, firing[i], d.FiredAt.Add(time.Minute))
				require.NoError(t, err, "firing %d:\n%s", i, firing[i])
				r, err := mappings.Normalize(kind, kind, resolved[i], d.Time.Add(time.Minute))
				require.NoError(t, err, "resolved %d:\n%s", i, resolved[i])
				for _, res := range []mappings.Result{f, r} {
					require.Len(t, res.Alerts, 1)
					require.Empty(t, res.Warnings)
					a := res.Alerts[0]
					require.Equal(t, [3]string{d.Service, d.AlertType, d.Host}, [3]string{a.Service, a.AlertType, a.Host}, "service, alert type and host")
				}
				fa, ra := f.Alerts[0], r.Alerts[0]
				require.Equal(t, incidenthub.AlertFiring, fa.Status)
				require.Equal(t, incidenthub.AlertResolved, ra.Status)
				require.Equal(t, fa.Fingerprint, ra.Fingerprint, "the resolve must name the alert the firing opened")
				if stormtest.NoPayloadTimes[kind] {
					// No time in the payload: the firing starts when it is
					// received, and the resolve neither starts nor ends.
					require.Equal(t, incidenthub.StartsAtReceived, fa.StartsAtFrom, "%s sends no time", kind)
					require.True(t, d.FiredAt.Add(time.Minute).Equal(fa.StartsAt), "the firing starts when received")
					require.Equal(t, incidenthub.StartsAtReceived, ra.StartsAtFrom, "%s sends no time", kind)
					require.Nil(t, ra.EndsAt, "%s sends no time", kind)
				} else {
					require.Empty(t, fa.StartsAtFrom, "the firing carries its start")
					require.True(t, d.FiredAt.Equal(fa.StartsAt), "the firing starts at its .Time")
				}
				require.False(t, fps[fa.Fingerprint], "each alert has its own fingerprint")
				fps[fa.Fingerprint] = true
				if ra.StartsAtFrom == "" {
					require.True(t, d.FiredAt.Equal(ra.StartsAt), "a resolve that carries a start carries the firing's (.FiredAt)")
				}
				if ra.EndsAt != nil {
					require.True(t, d.Time.Equal(*ra.EndsAt), "a resolve ends at its .Time")
				}
				fk, rk := mappings.DedupKey(kind, firing[i]), mappings.DedupKey(kind, resolved[i])
				if headerDedup[kind] {
					require.Empty(t, fk, "%s identifies deliveries by a header, not its body", kind)
					continue
				}
				require.NotEmpty(t, fk, "a firing has a dedup key")
				require.NotEqual(t, fk, rk, "a resolve is not a duplicate of the firing")
				require.False(t, keys[fk] || keys[rk], "another alert's payload is not a duplicate")
				keys[fk], keys[rk] = true, true
			}
		})
	}
}

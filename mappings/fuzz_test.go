package mappings_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/mappings"
)

// FuzzNormalize feeds arbitrary bodies to every kind: Normalize and
// DedupKey must never panic, an error must be EINVALID exactly when the
// body is not JSON and EUNPROCESSABLE otherwise, and every alert returned
// must satisfy the invariants of the normalized alert.
//
//	go test -run xxx -fuzz FuzzNormalize -fuzztime 20s ./mappings/
func FuzzNormalize(f *testing.F) {
	kinds := mappings.Kinds()
	for i, kind := range kinds {
		for _, in := range inputs(f, kind) {
			body, err := os.ReadFile(in)
			require.NoError(f, err)
			f.Add(uint8(i), body)
		}
	}
	for i := range kinds {
		for _, s := range []string{
			``, `null`, `[]`, `{}`, `"x"`, `{"alerts":[]}`, `{"alerts":[{}]}`, `{"alerts":[null]}`,
			`{"alerts":[{"status":"firing","labels":{"alertname":"A"}}]}`,
			`{"alert_id":"1","alert_transition":"Recovered","title":"[Recovered on {a:b]}] [P2]"}`,
			`{"status":"resolved","alert_type":"a","ends_at":"0001-01-01T00:00:00Z"}`,
		} {
			f.Add(uint8(i), []byte(s))
		}
	}

	f.Fuzz(func(t *testing.T, k uint8, body []byte) {
		kind := kinds[int(k)%len(kinds)]
		_ = mappings.DedupKey(kind, body)
		res, err := mappings.Normalize(kind, "fuzz", body, receivedAt)
		alerts := res.Alerts
		if err != nil {
			require.Nil(t, alerts)
			require.Nil(t, res.Warnings)
			var e *incidenthub.Error
			require.ErrorAs(t, err, &e)
			if json.Valid(body) {
				require.Equal(t, incidenthub.EUNPROCESSABLE, e.Code, e.Message)
			} else {
				require.Equal(t, incidenthub.EINVALID, e.Code, e.Message)
			}
			require.NotEmpty(t, e.Message)
			return
		}
		require.True(t, json.Valid(body), "mapped a body that is not JSON")
		require.NotEmpty(t, alerts)
		for _, a := range alerts {
			checkInvariants(t, a, "fuzz")
		}
		checkWarnings(t, res)
		_, err = json.Marshal(res)
		require.NoError(t, err, "alerts and warnings must encode (times in range)")
	})
}

package mappings_test

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/mappings"
)

// fuzzKindEnv restricts FuzzNormalize to one kind: its seeds and its
// mapping only, so each kind can be fuzzed for its own time budget.
const fuzzKindEnv = "INCIDENTHUB_FUZZ_KIND"

// fuzzKinds are the kinds FuzzNormalize feeds: every built-in kind, or the
// one INCIDENTHUB_FUZZ_KIND names.
func fuzzKinds(f *testing.F) []string {
	kinds := mappings.Kinds()
	one := os.Getenv(fuzzKindEnv)
	if one == "" {
		return kinds
	}
	if !slices.Contains(kinds, one) {
		f.Fatalf("%s=%q is no built-in kind (want one of %v)", fuzzKindEnv, one, kinds)
	}
	return []string{one}
}

// FuzzNormalize feeds arbitrary bodies to every kind: Normalize and
// DedupKey must never panic, an error must be EINVALID exactly when the
// body is not JSON and EUNPROCESSABLE otherwise, and every alert and
// warning returned must satisfy the invariants of the normalized alert.
// Seeds: each kind's golden inputs, its storm payloads and a few edge
// cases. One kind at a time:
//
//	INCIDENTHUB_FUZZ_KIND=datadog go test ./mappings -run x -fuzz FuzzNormalize -fuzztime 60s
func FuzzNormalize(f *testing.F) {
	kinds := fuzzKinds(f)
	for i, kind := range kinds {
		for _, in := range inputs(f, kind) {
			body, err := os.ReadFile(in)
			require.NoError(f, err)
			f.Add(uint8(i), body)
		}
		firing, resolved, _ := stormPayloads(f, kind)
		for _, body := range append(firing, resolved...) {
			f.Add(uint8(i), body)
		}
		for _, s := range []string{
			``, `null`, `[]`, `{}`, `"x"`, `{"alerts":[]}`, `{"alerts":[{}]}`, `{"alerts":[null]}`,
			`{"alerts":[{"status":"firing","labels":{"alertname":"A"}}]}`,
			`{"alerts":[{"status":"resolved","labels":{"alertname":"A"},"startsAt":"yesterday","endsAt":12}]}`,
			`{"alert_id":"1","alert_transition":"Recovered","title":"[Recovered on {a:b]}] [P2]"}`,
			`{"alert_id":"1","alert_transition":"Triggered","date":"soon","last_updated":"1714557600000"}`,
			`{"status":"resolved","alert_type":"a","ends_at":"0001-01-01T00:00:00Z"}`,
			`{"status":"firing","alert_type":"a","starts_at":"99999-01-01T00:00:00Z"}`,
		} {
			f.Add(uint8(i), []byte(s))
		}
	}

	f.Fuzz(func(t *testing.T, k uint8, body []byte) {
		kind := kinds[int(k)%len(kinds)]
		_ = mappings.DedupKey(kind, body)
		res, err := mappings.Normalize(kind, "fuzz", body, receivedAt)
		if err != nil {
			require.Nil(t, res.Alerts)
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
		require.NotEmpty(t, res.Alerts)
		for _, a := range res.Alerts {
			checkInvariants(t, a, "fuzz")
			switch a.StartsAtFrom {
			case "":
			case incidenthub.StartsAtReceived:
				require.Equal(t, receivedAt, a.StartsAt, "a start the payload did not carry is the receive time")
			default:
				t.Fatalf("normalization gave starts_at_from %q", a.StartsAtFrom)
			}
		}
		checkWarnings(t, res)
		_, err = json.Marshal(res)
		require.NoError(t, err, "alerts and warnings must encode (times in range)")
	})
}

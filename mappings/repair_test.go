package mappings_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/mappings"
)

// Values taken from a payload are text every database stores: a NUL
// (\u0000) and invalid UTF-8 become U+FFFD, an overlong fingerprint its
// SHA-256, an overlong service is cut; the same payload always gives the
// same alert, so a resolve still finds its firing.
func TestNormalizeRepairsText(t *testing.T) {
	t.Parallel()
	longFP := strings.Repeat("0123456789", 100)
	body := []byte(`{"alerts":[{"status":"firing","labels":{"alertname":"A\u0000","instance":"h\u0000","k\u0000":"v\u0000",` +
		`"service":"` + strings.Repeat("s", 3000) + `"},` +
		`"annotations":{"summary":"s\u0000"},"fingerprint":"` + longFP + `","generatorURL":"http://x/\u0000"}]}`)
	res, err := mappings.Normalize("alertmanager", "am", body, receivedAt)
	require.NoError(t, err)
	a := res.Alerts[0]
	checkInvariants(t, a, "am")
	require.Equal(t, "A\uFFFD", a.AlertType)
	require.Equal(t, "v\uFFFD", a.Labels["k\uFFFD"])
	require.Equal(t, "s\uFFFD", a.Title)
	require.Equal(t, strings.Repeat("s", incidenthub.MaxServiceBytes-len("…"))+"…", a.Service)
	sum := sha256.Sum256([]byte(longFP))
	require.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), a.Fingerprint)

	again, err := mappings.Normalize("alertmanager", "am", body, receivedAt)
	require.NoError(t, err)
	require.Equal(t, a, again.Alerts[0])

	res, err = mappings.Normalize("generic", "gen", []byte("{\"status\":\"firing\",\"alert_type\":\"caf\xe9\",\"title\":\"\\ud800 lone\"}"), receivedAt)
	require.NoError(t, err)
	require.Equal(t, "caf\uFFFD", res.Alerts[0].AlertType)
	require.Equal(t, "\uFFFD lone", res.Alerts[0].Title, "a lone surrogate escape decodes as U+FFFD")
	require.True(t, incidenthub.ValidText(res.Alerts[0].Fingerprint))
}

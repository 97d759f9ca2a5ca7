package correlation_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// A correlation key of any length and content correlates on both
// databases: one longer than MaxKeyBytes (PostgreSQL cannot index it) is
// kept as its start plus its SHA-256, so long keys stay apart and the same
// key still finds its incident.
func TestLongAndOddKeys(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	sum := sha256.Sum256(nil)
	for b.Len() < 8<<10 { // incompressible: no B-tree entry takes it
		sum = sha256.Sum256(sum[:])
		b.WriteString(hex.EncodeToString(sum[:]))
	}
	long := b.String()
	k := correlation.StorableKey(long)
	require.LessOrEqual(t, len(k), correlation.MaxKeyBytes)
	require.True(t, strings.HasPrefix(k, long[:100]))
	require.NotEqual(t, k, correlation.StorableKey(long+"x"))
	require.Equal(t, "svc\uFFFD/t", correlation.StorableKey("svc\x00/t"))
	require.Equal(t, "svc/t", correlation.StorableKey("svc/t"))

	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		c := newClock(t, storetest.Open(t, dialect))
		key := func(k string) func(*correlation.Input) { return func(in *correlation.Input) { in.Key = k } }
		first := c.fire("a", key(long))
		require.Equal(t, correlation.Opened, first.Outcome)
		require.Equal(t, k, first.Key)
		c.advance(time.Second)
		require.Equal(t, first.IncidentID, c.fire("b", key(long)).IncidentID, "the same long key finds its incident")
		other := c.fire("c", key(long+"x"))
		require.Equal(t, correlation.Opened, other.Outcome, "a different long key is another incident")
		require.Equal(t, incidenthub.IncidentOpen, c.incident(first.IncidentID).Status)
	})
}

package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// A JSON column never holds \u0000 (PostgreSQL's JSONB refuses it): a NUL
// is written as U+FFFD. A backslash followed by "u0000" is text, not a NUL,
// and is kept.
func TestJSONValueHasNoNUL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   map[string]string
		want string
	}{
		{map[string]string{"a": "x"}, `{"a":"x"}`},
		{map[string]string{"a": "x\x00y"}, `{"a":"x\ufffdy"}`},
		{map[string]string{"k\x00": "\x00\x00"}, `{"k\ufffd":"\ufffd\ufffd"}`},
		{map[string]string{"a": `\u0000`}, `{"a":"\\u0000"}`},
		{map[string]string{"a": "\\\x00"}, `{"a":"\\\ufffd"}`},
		{map[string]string{"a": "caf\xe9"}, `{"a":"caf\ufffd"}`},
	} {
		v, err := store.JSON[map[string]string]{V: c.in}.Value()
		require.NoError(t, err)
		require.Equal(t, c.want, v, "%q", c.in)
	}
}

// incompressible returns n bytes of hex that PostgreSQL cannot compress
// into an index entry.
func incompressible(n int) string {
	var b strings.Builder
	sum := sha256.Sum256(nil)
	for b.Len() < n {
		sum = sha256.Sum256(sum[:])
		b.WriteString(hex.EncodeToString(sum[:]))
	}
	return b.String()[:n]
}

// Every column an inbound event's text reaches takes NUL and invalid UTF-8
// on both databases: headers (JSON), the dedup key (an indexed TEXT: stored
// as its SHA-256 when it is not valid text or too long to index), the
// error and the note.
func TestEventTextColumns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		long := incompressible(8 << 10) // no B-tree entry takes 8 KB
		for _, key := range []string{"k\x00", "k\x00\x00", "k\xff", "k\xfe", long, long + "x"} {
			ev := event("a", ptr(key))
			ev.Headers.V = map[string]string{"X-Nul": "a\x00b", "X-Bin": "\xff"}
			id, dup, err := st.InsertEvent(ctx, ev)
			require.NoError(t, err, "key %.20q", key)
			require.False(t, dup, "distinct keys stay distinct: %.20q", key)
			again, dup, err := st.InsertEvent(ctx, event("a", ptr(key)))
			require.NoError(t, err)
			require.True(t, dup, "a repeat finds its original: %.20q", key)
			require.Equal(t, id, again)

			got, err := st.GetEvent(ctx, id)
			require.NoError(t, err)
			sum := sha256.Sum256([]byte(key))
			require.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), *got.DedupKey)
			require.Equal(t, map[string]string{"X-Nul": "a\ufffdb", "X-Bin": "\ufffd"}, got.Headers.V)
		}
		// A valid key that fits is stored as it is.
		id, _, err := st.InsertEvent(ctx, event("a", ptr("plain-ü")))
		require.NoError(t, err)
		got, err := st.GetEvent(ctx, id)
		require.NoError(t, err)
		require.Equal(t, "plain-ü", *got.DedupKey)

		require.NoError(t, st.Tx(ctx, func(tx *gorm.DB) error {
			return store.FinishEvent(tx, got, store.Outcome{Status: store.EventUnmapped, Error: "labels.k\x00: bad \xff", Note: "n\x00"})
		}))
		got, err = st.GetEvent(ctx, id)
		require.NoError(t, err)
		require.Equal(t, store.EventUnmapped, got.Status)
		require.Equal(t, "labels.k\ufffd: bad \ufffd", got.Error)
		require.Equal(t, "n\ufffd", got.Note)
	})
}

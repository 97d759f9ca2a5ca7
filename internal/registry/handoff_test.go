package registry_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/registry"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

func TestHandoff(t *testing.T) {
	t.Parallel()
	keys := testKeys(t)
	r := registry.New(registry.Options{Keys: keys})
	sealed, err := r.SealHandoff("new-secret-1b2c", "session-a/inbound/am")
	require.NoError(t, err)
	require.NotContains(t, sealed, "new-secret-1b2c")

	got, err := r.OpenHandoff(sealed, "session-a/inbound/am")
	require.NoError(t, err)
	require.Equal(t, "new-secret-1b2c", got)

	// Bound to its purpose: another session or entry cannot open it.
	_, err = r.OpenHandoff(sealed, "session-b/inbound/am")
	require.Error(t, err)
	_, err = r.OpenHandoff(sealed, "session-a/inbound/other")
	require.Error(t, err)
	// Nor is it a stored secret's ciphertext: the stored AAD differs.
	_, err = keys.Open(sealed, "registry/inbound/am")
	require.Error(t, err)

	_, err = r.SealHandoff("x", "")
	require.Error(t, err)
	_, err = registry.New(registry.Options{}).SealHandoff("x", "p")
	require.Error(t, err, "no key, no hand-off")
}

func TestWriteCSV(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		f := newFixture(t, dialect, testKeys(t))
		f.clock.Add(2 * time.Hour)
		list, err := f.reg.List(context.Background(), registry.ListFilter{})
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, registry.WriteCSV(&buf, list))
		rows, err := csv.NewReader(&buf).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 3)
		require.Equal(t, registry.CSVHeader, rows[0])
		col := func(row []string, name string) string {
			for i, h := range registry.CSVHeader {
				if h == name {
					return row[i]
				}
			}
			t.Fatalf("no column %s", name)
			return ""
		}
		require.Equal(t, "am", col(rows[1], "name"))
		require.Equal(t, "platform", col(rows[1], "owner"))
		require.Equal(t, "#platform", col(rows[1], "owner_contact"))
		require.Equal(t, "2026-03-31T12:00:00Z", col(rows[1], "next_rotation_at"))
		require.Equal(t, "open", col(rows[2], "name"))
		require.Equal(t, "", col(rows[2], "owner"))
		require.Equal(t, "stale", col(rows[1], "flags"), "am expects an event every hour; none came")
		require.NotContains(t, buf.String(), configSecret)
	})
}

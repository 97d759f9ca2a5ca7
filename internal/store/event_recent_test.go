package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

func TestRecentEventsOf(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		var ids []string
		for i := range 5 {
			ev := event("am", nil)
			ev.ReceivedAt = base.Add(time.Duration(i) * time.Minute)
			ev.Body = []byte(`{"n":` + string(rune('0'+i)) + `}`)
			id, _, err := st.InsertEvent(ctx, ev)
			require.NoError(t, err)
			ids = append(ids, id)
		}
		_, _, err := st.InsertEvent(ctx, event("other", nil))
		require.NoError(t, err)

		got, err := st.RecentEventsOf(ctx, "am", 3)
		require.NoError(t, err)
		require.Len(t, got, 3)
		require.Equal(t, []string{ids[4], ids[3], ids[2]}, []string{got[0].ID, got[1].ID, got[2].ID}, "newest first")
		require.Equal(t, "am", got[0].Source)
		require.Equal(t, store.EventPending, got[0].Status)
		require.Equal(t, 7, got[0].Size, `len({"n":4})`)
		require.True(t, got[0].ReceivedAt.Equal(base.Add(4*time.Minute)), "%v", got[0].ReceivedAt)

		none, err := st.RecentEventsOf(ctx, "nobody", 10)
		require.NoError(t, err)
		require.Empty(t, none)
	})
}

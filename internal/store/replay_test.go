package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

func TestReplay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		insert := func(source, status string) string {
			t.Helper()
			ev := event(source, nil)
			id, _, err := st.InsertEvent(ctx, ev)
			require.NoError(t, err)
			require.NoError(t, st.DB.Model(&store.Event{}).Where("id = ?", id).
				Updates(map[string]any{"status": status, "error": "boom", "attempts": 5}).Error)
			return id
		}
		code := func(err error) string { return incidenthub.ErrorCode(err) }

		unmapped := insert("a", store.EventUnmapped)
		ev, err := st.ReplayEvent(ctx, unmapped, "checks", false)
		require.NoError(t, err)
		require.Equal(t, store.EventPending, ev.Status)
		got, err := st.GetEvent(ctx, unmapped)
		require.NoError(t, err)
		require.Equal(t, store.EventPending, got.Status)
		require.Equal(t, "checks", got.Kind, "replay takes the source's current kind")
		require.Empty(t, got.Error)
		require.Zero(t, got.Attempts)
		require.Nil(t, got.ProcessedAt)

		_, err = st.ReplayEvent(ctx, unmapped, "", false)
		require.Equal(t, incidenthub.ECONFLICT, code(err), "already pending")

		failed := insert("a", store.EventFailed)
		_, err = st.ReplayEvent(ctx, failed, "", false)
		require.NoError(t, err)
		got, err = st.GetEvent(ctx, failed)
		require.NoError(t, err)
		require.Equal(t, "generic", got.Kind, "empty kind keeps the event's")

		processed := insert("a", store.EventProcessed)
		_, err = st.ReplayEvent(ctx, processed, "", false)
		require.Equal(t, incidenthub.ECONFLICT, code(err))
		require.ErrorContains(t, err, "force=true")
		_, err = st.ReplayEvent(ctx, processed, "", true)
		require.NoError(t, err)

		_, err = st.ReplayEvent(ctx, "nope", "", true)
		require.Equal(t, incidenthub.ENOTFOUND, code(err))

		// Bulk: only the source's events with that status.
		for range 3 {
			insert("b", store.EventUnmapped)
		}
		insert("b", store.EventFailed)
		insert("b", store.EventProcessed)
		insert("c", store.EventUnmapped)
		n, err := st.ReplaySource(ctx, "b", store.EventUnmapped, "generic")
		require.NoError(t, err)
		require.EqualValues(t, 3, n)
		n, err = st.ReplaySource(ctx, "b", store.EventUnmapped, "generic")
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = st.ReplaySource(ctx, "b", store.EventFailed, "generic")
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		_, err = st.ReplaySource(ctx, "b", store.EventProcessed, "generic")
		require.Equal(t, incidenthub.EINVALID, code(err))
		pending, err := st.CountEvents(ctx, store.EventPending)
		require.NoError(t, err)
		require.EqualValues(t, 2+1+4, pending, "a's three replays and b's four")
	})
}

package processor_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// TestFinished: Finished hears each event that reaches a final status —
// processed, unmapped, or failed on its last attempt (not before) — with
// the time since its receipt.
func TestFinished(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		type heard struct {
			source, status string
			since          time.Duration
		}
		var got []heard
		p := processor.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), 1, time.Second)
		p.Finished = func(source, status string, since time.Duration) { got = append(got, heard{source, status, since}) }

		old := time.Now().UTC().Add(-time.Minute)
		for _, body := range []string{`{"status":"firing","alert_type":"a","service":"s"}`, `{"status":"firing"}`} {
			_, _, err := st.InsertEvent(ctx, &store.Event{Source: "gen", Kind: "generic", ReceivedAt: old, Body: []byte(body)})
			require.NoError(t, err)
		}
		drainAll(t, p)
		require.Len(t, got, 2)
		require.Equal(t, store.EventProcessed, got[0].status)
		require.Equal(t, store.EventUnmapped, got[1].status)
		for _, h := range got {
			require.Equal(t, "gen", h.source)
			require.GreaterOrEqual(t, h.since, time.Minute, "measured from receipt")
		}

		// A failing event: its attempts before the last are not final.
		got = nil
		p.Router = failingRouter{} // processor_test.go
		id, _, err := st.InsertEvent(ctx, &store.Event{Source: "gen", Kind: "generic", ReceivedAt: old, Body: []byte(`{"status":"firing","alert_type":"b","service":"s"}`)})
		require.NoError(t, err)
		require.NoError(t, st.DB.Model(&store.Event{}).Where("id = ?", id).Update("attempts", processor.MaxAttempts-2).Error)
		did, err := p.ProcessOne(ctx)
		require.NoError(t, err)
		require.True(t, did)
		require.Empty(t, got, "one attempt left")
		require.NoError(t, st.DB.Model(&store.Event{}).Where("id = ?", id).Update("retry_at", nil).Error)
		did, err = p.ProcessOne(ctx)
		require.NoError(t, err)
		require.True(t, did)
		require.Len(t, got, 1)
		require.Equal(t, store.EventFailed, got[0].status)
		ev, err := st.GetEvent(ctx, id)
		require.NoError(t, err)
		require.Equal(t, store.EventFailed, ev.Status)
	})
}

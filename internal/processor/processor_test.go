package processor_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

func insert(t *testing.T, st *store.Store, kind, file string) string {
	t.Helper()
	body, err := os.ReadFile(file)
	require.NoError(t, err)
	id, _, err := st.InsertEvent(context.Background(), &store.Event{
		Source: kind, Kind: kind, ReceivedAt: time.Now().UTC(), Body: body,
		Headers: store.JSON[map[string]string]{V: map[string]string{}},
	})
	require.NoError(t, err)
	return id
}

func TestProcessEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		ok := insert(t, st, "alertmanager", "../../mappings/testdata/alertmanager/multi.json")
		bad, _, err := st.InsertEvent(ctx, &store.Event{
			Source: "alertmanager", Kind: "alertmanager", ReceivedAt: time.Now().UTC(), Body: []byte(`{"alerts":[{"labels":{}}]}`),
		})
		require.NoError(t, err)

		p := processor.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), 1, time.Second)
		var seen []string
		p.Observe = func(source, status string, _ time.Duration) { seen = append(seen, status) }
		for {
			did, err := p.ProcessOne(ctx)
			require.NoError(t, err)
			if !did {
				break
			}
		}
		require.Equal(t, []string{store.EventProcessed, store.EventUnmapped}, seen)

		ev, err := st.GetEvent(ctx, ok)
		require.NoError(t, err)
		require.Equal(t, store.EventProcessed, ev.Status)
		require.NotEmpty(t, ev.Alerts.V)
		list, _, err := st.ListIncidents(ctx, store.IncidentFilter{})
		require.NoError(t, err)
		require.NotEmpty(t, list)

		ev, err = st.GetEvent(ctx, bad)
		require.NoError(t, err)
		require.Equal(t, store.EventUnmapped, ev.Status)
		require.Contains(t, ev.Error, "alertname", "the reason names the missing field")
	})
}

// Run drains events stored before it started (as after a restart) and
// returns when its context ends.
func TestRunDrainsBacklog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		st := storetest.Open(t, dialect)
		for range 10 {
			insert(t, st, "generic", "../../mappings/testdata/generic/single.json")
		}
		p := processor.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), 3, 50*time.Millisecond)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { p.Run(ctx); close(done) }()
		require.Eventually(t, func() bool {
			n, err := st.CountEvents(context.Background(), store.EventPending)
			return err == nil && n == 0
		}, 20*time.Second, 20*time.Millisecond)
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
		n, err := st.CountEvents(context.Background(), store.EventProcessed)
		require.NoError(t, err)
		require.EqualValues(t, 10, n)
	})
}

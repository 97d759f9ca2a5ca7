package processor_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
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

type failingRouter struct{}

func (failingRouter) Route(incidenthub.Alert) (processor.Routing, error) {
	return processor.Routing{}, errors.New("routing backend unavailable")
}

// A failed attempt leaves the event pending but backs it off: it is not
// claimed again before its retry time, so a transient failure does not use
// up every attempt at once.
func TestFailedAttemptBacksOff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		id := insert(t, st, "generic", "../../mappings/testdata/generic/single.json")
		p := processor.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), 1, time.Second)
		p.Router = failingRouter{}

		did, err := p.ProcessOne(ctx)
		require.NoError(t, err)
		require.True(t, did)
		ev, err := st.GetEvent(ctx, id)
		require.NoError(t, err)
		require.Equal(t, store.EventPending, ev.Status)
		require.Equal(t, 1, ev.Attempts)
		require.Contains(t, ev.Error, "routing backend unavailable")
		require.NotNil(t, ev.RetryAt)
		require.True(t, ev.RetryAt.After(time.Now().UTC()))

		did, err = p.ProcessOne(ctx)
		require.NoError(t, err)
		require.False(t, did, "not claimed again before its retry time")

		require.NoError(t, st.DB.Model(&store.Event{}).Where("id = ?", id).Update("retry_at", time.Now().UTC().Add(-time.Second)).Error)
		did, err = p.ProcessOne(ctx)
		require.NoError(t, err)
		require.True(t, did, "claimed once its retry time has passed")
		ev, err = st.GetEvent(ctx, id)
		require.NoError(t, err)
		require.Equal(t, 2, ev.Attempts)
	})
}

func TestRetryBackoff(t *testing.T) {
	t.Parallel()
	require.Equal(t, time.Second, processor.RetryBackoff(1))
	require.Equal(t, 5*time.Second, processor.RetryBackoff(2))
	require.Equal(t, 25*time.Second, processor.RetryBackoff(3))
	require.Equal(t, 10*time.Minute, processor.RetryBackoff(9))
}

// An unreadable alert time does not make the event unmapped: it is
// processed, the alert keeps the receive time, and the event records the
// warning.
func TestWarningsKeptWithEvent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		id := insert(t, st, "generic", "../../mappings/testdata/generic/bad-time.json")
		clean := insert(t, st, "generic", "../../mappings/testdata/generic/single.json")
		p := processor.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), 1, time.Second)
		for range 2 {
			did, err := p.ProcessOne(ctx)
			require.NoError(t, err)
			require.True(t, did)
		}
		ev, err := st.GetEvent(ctx, id)
		require.NoError(t, err)
		require.Equal(t, store.EventProcessed, ev.Status)
		require.Empty(t, ev.Error)
		require.Equal(t, []incidenthub.Warning{{Field: "starts_at", Path: "starts_at", Value: "yesterday 02:15",
			Message: `invalid timestamp "yesterday 02:15" (want RFC 3339, epoch seconds or milliseconds, or a common date format)`}}, ev.Warnings.V)
		require.Len(t, ev.Alerts.V, 1)
		require.True(t, ev.Alerts.V[0].StartsAt.Equal(ev.ReceivedAt), "the receive time stands in for the unreadable starts_at")
		list, _, err := st.ListIncidents(ctx, store.IncidentFilter{})
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, 2, list[0].AlertCount, "the alert correlated like any other")

		ev, err = st.GetEvent(ctx, clean)
		require.NoError(t, err)
		require.Nil(t, ev.Warnings.V)
	})
}

// A Datadog recovery carries only its recovery time: the resolved alert,
// in the event and in the incident, keeps the trigger's start.
func TestRecoveryKeepsStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		insert(t, st, "datadog", "../../mappings/testdata/datadog/triggered.json")
		recovered := insert(t, st, "datadog", "../../mappings/testdata/datadog/recovered.json")
		p := processor.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), 1, time.Second)
		for range 2 {
			did, err := p.ProcessOne(ctx)
			require.NoError(t, err)
			require.True(t, did)
		}
		triggered := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC) // its "date"
		ended := time.Date(2024, 5, 1, 10, 15, 0, 0, time.UTC)    // the recovery's "date"

		ev, err := st.GetEvent(ctx, recovered)
		require.NoError(t, err)
		require.Equal(t, store.EventProcessed, ev.Status)
		a := ev.Alerts.V[0]
		require.True(t, triggered.Equal(a.StartsAt), "event's alert starts_at %s", a.StartsAt)
		require.Equal(t, incidenthub.StartsAtFiring, a.StartsAtFrom)
		require.True(t, ended.Equal(*a.EndsAt))

		list, _, err := st.ListIncidents(ctx, store.IncidentFilter{})
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, incidenthub.IncidentResolved, list[0].Status)
		_, members, err := st.GetIncident(ctx, list[0].ID)
		require.NoError(t, err)
		require.True(t, triggered.Equal(members[0].Alert.StartsAt))
		require.True(t, ended.Equal(*members[0].Alert.EndsAt))
	})
}

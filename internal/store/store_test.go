package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

func event(source string, key *string) *store.Event {
	return &store.Event{
		Source: source, Kind: "generic", ReceivedAt: time.Now().UTC(), DedupKey: key,
		Headers: store.JSON[map[string]string]{V: map[string]string{"User-Agent": "t"}},
		Body:    []byte(`{"status":"firing"}`),
	}
}

func ptr(s string) *string { return &s }

func TestMigrations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st, err := store.Open(ctx, storetest.Options(t, dialect))
		require.NoError(t, err)
		defer st.Close()
		require.ErrorContains(t, st.Ready(ctx), "migrations pending")
		list, err := st.Migrations(ctx)
		require.NoError(t, err)
		require.NotEmpty(t, list)
		require.False(t, list[0].Applied)

		require.NoError(t, st.Migrate(ctx))
		require.NoError(t, st.Migrate(ctx), "migrating twice is a no-op")
		require.NoError(t, st.Ready(ctx))
		list, err = st.Migrations(ctx)
		require.NoError(t, err)
		for _, m := range list {
			require.True(t, m.Applied, "version %d", m.Version)
		}
	})
}

func TestInsertEventDedup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)

		id1, dup, err := st.InsertEvent(ctx, event("a", ptr("k1")))
		require.NoError(t, err)
		require.False(t, dup)
		id2, dup, err := st.InsertEvent(ctx, event("a", ptr("k1")))
		require.NoError(t, err)
		require.True(t, dup)
		require.Equal(t, id1, id2)

		// Same key from another source, and events without a key, are new.
		id3, dup, err := st.InsertEvent(ctx, event("b", ptr("k1")))
		require.NoError(t, err)
		require.False(t, dup)
		require.NotEqual(t, id1, id3)
		for range 2 {
			_, dup, err = st.InsertEvent(ctx, event("a", nil))
			require.NoError(t, err)
			require.False(t, dup)
		}
		n, err := st.CountEvents(ctx, store.EventPending)
		require.NoError(t, err)
		require.EqualValues(t, 4, n)

		got, err := st.GetEvent(ctx, id1)
		require.NoError(t, err)
		require.Equal(t, `{"status":"firing"}`, string(got.Body))
		require.Equal(t, "t", got.Headers.V["User-Agent"])
		require.Equal(t, store.EventPending, got.Status)
		require.Equal(t, 1, got.Duplicates, "the repeat is counted on the original")
		require.NotNil(t, got.LastDuplicateAt)
		first := *got.LastDuplicateAt

		// A third copy counts again and moves last_duplicate_at on; the
		// original's own fields stay as they were.
		later := event("a", ptr("k1"))
		later.ReceivedAt = first.Add(time.Minute)
		later.Body = []byte(`{"status":"resolved"}`)
		id4, dup, err := st.InsertEvent(ctx, later)
		require.NoError(t, err)
		require.True(t, dup)
		require.Equal(t, id1, id4)
		got, err = st.GetEvent(ctx, id1)
		require.NoError(t, err)
		require.Equal(t, 2, got.Duplicates)
		require.WithinDuration(t, later.ReceivedAt, *got.LastDuplicateAt, time.Millisecond)
		require.Equal(t, `{"status":"firing"}`, string(got.Body))
		other, err := st.GetEvent(ctx, id3)
		require.NoError(t, err)
		require.Zero(t, other.Duplicates)
		require.Nil(t, other.LastDuplicateAt)

		_, err = st.GetEvent(ctx, "nope")
		require.Equal(t, incidenthub.ENOTFOUND, incidenthub.ErrorCode(err))
	})
}

// Two workers claiming at once never get the same event, and a claim that
// rolls back leaves the event pending for the next worker.
func TestClaimPendingEvent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		idA, _, err := st.InsertEvent(ctx, event("a", nil))
		require.NoError(t, err)
		idB, _, err := st.InsertEvent(ctx, event("a", nil))
		require.NoError(t, err)

		errBoom := errors.New("boom")
		err = st.Tx(ctx, func(tx *gorm.DB) error {
			ev, err := store.ClaimPendingEvent(tx)
			require.NoError(t, err)
			require.Equal(t, idA, ev.ID, "oldest first")
			if dialect == store.Postgres {
				// A second worker skips the locked row.
				err := st.Tx(ctx, func(tx2 *gorm.DB) error {
					ev2, err := store.ClaimPendingEvent(tx2)
					require.NoError(t, err)
					require.Equal(t, idB, ev2.ID)
					return nil
				})
				require.NoError(t, err)
			}
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		got, err := st.GetEvent(ctx, idA)
		require.NoError(t, err)
		require.Equal(t, store.EventPending, got.Status, "rolled-back claim leaves the event pending")

		err = st.Tx(ctx, func(tx *gorm.DB) error {
			ev, err := store.ClaimPendingEvent(tx)
			require.NoError(t, err)
			return store.FinishEvent(tx, ev, store.Outcome{Status: store.EventProcessed})
		})
		require.NoError(t, err)
		got, err = st.GetEvent(ctx, idA)
		require.NoError(t, err)
		require.Equal(t, store.EventProcessed, got.Status)
		require.Equal(t, 1, got.Attempts)
		require.NotNil(t, got.ProcessedAt)
		require.Nil(t, got.Warnings.V)
	})
}

// FinishEvent keeps the warnings with the event; a replay clears them.
func TestFinishEventWarnings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		id, _, err := st.InsertEvent(ctx, event("a", nil))
		require.NoError(t, err)
		warnings := []incidenthub.Warning{{Field: "starts_at", Path: "alerts[0].startsAt", Value: "yesterday",
			Message: `invalid timestamp "yesterday" (want RFC 3339, e.g. 2024-05-01T12:00:00Z)`}}
		alerts := []incidenthub.Alert{{Source: "a", Fingerprint: "f", Status: incidenthub.AlertFiring, AlertType: "x"}}
		err = st.Tx(ctx, func(tx *gorm.DB) error {
			ev, err := store.ClaimPendingEvent(tx)
			require.NoError(t, err)
			return store.FinishEvent(tx, ev, store.Outcome{Status: store.EventProcessed, Alerts: alerts, Warnings: warnings})
		})
		require.NoError(t, err)
		got, err := st.GetEvent(ctx, id)
		require.NoError(t, err)
		require.Equal(t, warnings, got.Warnings.V)
		require.Len(t, got.Alerts.V, 1)

		_, err = st.ReplayEvent(ctx, id, "", true)
		require.NoError(t, err)
		got, err = st.GetEvent(ctx, id)
		require.NoError(t, err)
		require.Nil(t, got.Warnings.V, "a replay maps the event again: its old warnings go")
		var null int64
		require.NoError(t, st.DB.Model(&store.Event{}).Where("id = ? AND warnings IS NULL", id).Count(&null).Error)
		require.EqualValues(t, 1, null, "no warnings is SQL NULL")
	})
}

func TestOpenBadURLRedactsPassword(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err := store.Open(ctx, store.Options{URL: "postgres://u:topsecretpw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2"})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "topsecretpw")
}

// TestInsertEventWritesEveryColumn: InsertEvent's hand-written statement
// names every column of Event, so a field added to Event is stored too,
// and an event with every field set reads back as it was written.
func TestInsertEventWritesEveryColumn(t *testing.T) {
	sch, err := schema.Parse(&store.Event{}, &sync.Map{}, schema.NamingStrategy{})
	require.NoError(t, err)
	require.ElementsMatch(t, sch.DBNames, store.EventColumns)

	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		at := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
		later := at.Add(time.Minute)
		want := store.Event{
			ID: "0195f0a0-0000-7000-8000-000000000001", Source: "dd", Kind: "datadog", DedupKey: ptr("k"),
			ReceivedAt: at, RemoteAddr: "198.51.100.4", ContentType: "application/json; charset=utf-8",
			Headers: store.JSON[map[string]string]{V: map[string]string{"User-Agent": "Datadog/1"}},
			Body:    []byte(`{"id":"1"}`), Status: store.EventUnmapped, Error: "title is missing", Attempts: 2,
			Alerts:      store.JSON[[]incidenthub.Alert]{V: []incidenthub.Alert{{Source: "dd", Title: "t"}}},
			ProcessedAt: &later, RetryAt: &later, Duplicates: 3, LastDuplicateAt: &later,
		}
		ev := want
		id, dup, err := st.InsertEvent(ctx, &ev)
		require.NoError(t, err)
		require.False(t, dup)
		require.Equal(t, want.ID, id)
		got, err := st.GetEvent(ctx, id)
		require.NoError(t, err)
		for _, p := range []**time.Time{&got.ProcessedAt, &got.RetryAt, &got.LastDuplicateAt} {
			u := (**p).UTC()
			*p = &u
		}
		got.ReceivedAt = got.ReceivedAt.UTC()
		require.Equal(t, want, *got)
	})
}

// TestMigrateConcurrently: replicas starting at once on a fresh PostgreSQL
// database each migrate; they take turns (goose's session lock, River's
// advisory transaction lock) instead of racing to create the same objects.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts := store.Options{URL: storetest.PostgresURL(t)}
	const replicas = 4
	errs := make(chan error, replicas)
	for range replicas {
		go func() {
			st, err := store.Open(ctx, opts)
			if err != nil {
				errs <- err
				return
			}
			defer st.Close()
			errs <- st.Migrate(ctx)
		}()
	}
	for range replicas {
		require.NoError(t, <-errs)
	}

	// River's migrations alone, all at once on a fresh schema: without the
	// lock they race to CREATE TYPE river_job_state.
	opts = store.Options{URL: storetest.PostgresURL(t)}
	start := make(chan struct{})
	for range replicas {
		go func() {
			st, err := store.Open(ctx, opts)
			if err != nil {
				errs <- err
				return
			}
			defer st.Close()
			<-start
			errs <- st.MigrateRiver(ctx)
		}()
	}
	close(start)
	for range replicas {
		require.NoError(t, <-errs)
	}
}

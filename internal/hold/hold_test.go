package hold_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/hold"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

type recorder struct {
	mu      sync.Mutex
	changes []correlation.Change
}

func (r *recorder) IncidentChanged(_ *gorm.DB, ch correlation.Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, ch)
	return nil
}

func (r *recorder) ids() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int64
	for _, ch := range r.changes {
		out = append(out, ch.IncidentID)
	}
	return out
}

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// open opens an incident through correlation, as the processor does.
func open(t *testing.T, st *store.Store, fp string, status incidenthub.AlertStatus) int64 {
	t.Helper()
	var ch correlation.Change
	require.NoError(t, st.Tx(context.Background(), func(tx *gorm.DB) error {
		var err error
		ch, err = correlation.Apply(tx, correlation.Input{Alert: incidenthub.Alert{Source: "am", Fingerprint: fp,
			Status: status, Severity: incidenthub.SeverityCritical, Service: "svc-" + fp, AlertType: "down",
			Title: "down", StartsAt: t0, ReceivedAt: t0}, Targets: []string{"hook"}, Now: t0})
		return err
	}))
	require.NotZero(t, ch.IncidentID)
	return ch.IncidentID
}

func add(t *testing.T, st *store.Store, id int64, s hold.Spec) bool {
	t.Helper()
	var added bool
	require.NoError(t, st.Tx(context.Background(), func(tx *gorm.DB) error {
		var err error
		added, err = hold.Add(tx, id, s, "", t0)
		return err
	}))
	return added
}

func timelineKinds(t *testing.T, st *store.Store, id int64) []string {
	t.Helper()
	entries, _, err := st.Timeline(context.Background(), id, 0, 100)
	require.NoError(t, err)
	var kinds []string
	for _, e := range entries {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

func TestAddIsIdempotentAndGates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		st := storetest.Open(t, dialect)
		id := open(t, st, "a", incidenthub.AlertFiring)
		until := t0.Add(2 * time.Minute)
		require.True(t, add(t, st, id, hold.Spec{Kind: hold.Delay, Until: &until, Gate: true, Reason: "notify_after 2m"}))
		later := t0.Add(time.Hour)
		require.False(t, add(t, st, id, hold.Spec{Kind: hold.Delay, Until: &later, Gate: true}), "same kind and ref: kept as it is")
		require.True(t, add(t, st, id, hold.Spec{Kind: hold.Silence, Ref: "7"}))

		rows, err := hold.List(st.DB, id)
		require.NoError(t, err)
		require.Len(t, rows, 2)
		require.True(t, rows[0].Until.Equal(until), "the first hold's until is not moved")
		require.Equal(t, 2, countOf(timelineKinds(t, st, id), hold.TimelineHeld))

		gated, err := hold.Gated(st.DB, id)
		require.NoError(t, err)
		require.True(t, gated)
		other := open(t, st, "b", incidenthub.AlertFiring)
		require.True(t, add(t, st, other, hold.Spec{Kind: hold.Silence, Ref: "7"}))
		gated, err = hold.Gated(st.DB, other)
		require.NoError(t, err)
		require.False(t, gated, "a marker hold does not gate")
	})
}

func countOf(ss []string, s string) int {
	n := 0
	for _, x := range ss {
		if x == s {
			n++
		}
	}
	return n
}

func TestReleaseNotifiesOnceWhenNoHoldIsLeft(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		st := storetest.Open(t, dialect)
		rec := &recorder{}
		r := hold.NewReleaser(st, rec, nil)
		silenced := map[string]bool{"7": true}
		r.Register(hold.Silence, func(_ *gorm.DB, hs []hold.Row, _ time.Time) ([]int64, error) {
			var ended []int64
			for _, h := range hs {
				if !silenced[h.Ref] {
					ended = append(ended, h.ID)
				}
			}
			return ended, nil
		})
		id := open(t, st, "a", incidenthub.AlertFiring)
		until := t0.Add(2 * time.Minute)
		add(t, st, id, hold.Spec{Kind: hold.Delay, Until: &until, Gate: true})
		add(t, st, id, hold.Spec{Kind: hold.Silence, Ref: "7"})
		ctx := context.Background()

		n, err := r.Release(ctx, t0.Add(time.Minute))
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = r.Release(ctx, t0.Add(3*time.Minute))
		require.NoError(t, err)
		require.Zero(t, n, "the delay ended but the silence still holds")
		require.Empty(t, rec.ids())
		gated, err := hold.Gated(st.DB, id)
		require.NoError(t, err)
		require.False(t, gated, "the gate went with the delay")

		delete(silenced, "7")
		n, err = r.Release(ctx, t0.Add(4*time.Minute))
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, []int64{id}, rec.ids())
		n, err = r.Release(ctx, t0.Add(5*time.Minute))
		require.NoError(t, err)
		require.Zero(t, n, "released once")
		rows, err := hold.List(st.DB, id)
		require.NoError(t, err)
		require.Empty(t, rows)
		require.Contains(t, timelineKinds(t, st, id), hold.TimelineReleased)
	})
}

func TestResolvedBlipReleasesSilently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		st := storetest.Open(t, dialect)
		rec := &recorder{}
		r := hold.NewReleaser(st, rec, nil)
		id := open(t, st, "a", incidenthub.AlertFiring)
		until := t0.Add(2 * time.Minute)
		add(t, st, id, hold.Spec{Kind: hold.Delay, Until: &until, Gate: true})
		require.NoError(t, st.Tx(context.Background(), func(tx *gorm.DB) error {
			_, err := correlation.Apply(tx, correlation.Input{Alert: incidenthub.Alert{Source: "am", Fingerprint: "a",
				Status: incidenthub.AlertResolved, Severity: incidenthub.SeverityCritical, Service: "svc-a", AlertType: "down",
				StartsAt: t0, EndsAt: ptr(t0.Add(30 * time.Second)), ReceivedAt: t0.Add(30 * time.Second)}, Now: t0.Add(30 * time.Second)})
			return err
		}))
		n, err := r.Release(context.Background(), t0.Add(3*time.Minute))
		require.NoError(t, err)
		require.Zero(t, n, "resolved before anyone heard of it: nothing to send")
		require.Empty(t, rec.ids())
		rows, err := hold.List(st.DB, id)
		require.NoError(t, err)
		require.Empty(t, rows, "the hold is gone all the same")
	})
}

func TestMinAlertsCheckReleasesAtN(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		st := storetest.Open(t, dialect)
		rec := &recorder{}
		r := hold.NewReleaser(st, rec, nil)
		id := open(t, st, "a", incidenthub.AlertFiring)
		add(t, st, id, hold.Spec{Kind: hold.MinAlerts, Ref: "3", Gate: true})
		join := func(fp string) {
			require.NoError(t, st.Tx(context.Background(), func(tx *gorm.DB) error {
				ch, err := correlation.Apply(tx, correlation.Input{Alert: incidenthub.Alert{Source: "am", Fingerprint: fp,
					Status: incidenthub.AlertFiring, Severity: incidenthub.SeverityCritical, Service: "svc-a", AlertType: "down",
					StartsAt: t0, ReceivedAt: t0}, Now: t0})
				if err != nil {
					return err
				}
				_, err = r.Check(tx, t0, ch.IncidentID)
				return err
			}))
		}
		join("b")
		require.Empty(t, rec.ids(), "2 of 3 alerts")
		join("c")
		require.Equal(t, []int64{id}, rec.ids(), "the third alert releases it at once")
	})
}

// TestConcurrentReleasersReleaseOnce runs two replicas' releasers over the
// same holds: each incident is released once.
func TestConcurrentReleasersReleaseOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		st := storetest.Open(t, dialect)
		var ids []int64
		for i := range 30 {
			id := open(t, st, fmt.Sprintf("fp%d", i), incidenthub.AlertFiring)
			until := t0.Add(time.Minute)
			add(t, st, id, hold.Spec{Kind: hold.Delay, Until: &until, Gate: true})
			ids = append(ids, id)
		}
		rec := &recorder{}
		var wg sync.WaitGroup
		for range 2 {
			r := hold.NewReleaser(st, rec, nil)
			wg.Go(func() {
				_, err := r.Release(context.Background(), t0.Add(2*time.Minute))
				require.NoError(t, err)
			})
		}
		wg.Wait()
		require.ElementsMatch(t, ids, rec.ids())
	})
}

func ptr[T any](v T) *T { return &v }

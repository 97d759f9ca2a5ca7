package correlation_test

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
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

var t0 = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

func alert(fp string, status incidenthub.AlertStatus, at time.Time) incidenthub.Alert {
	a := incidenthub.Alert{
		Source: "am", Fingerprint: fp, Status: status, Severity: incidenthub.SeverityWarning,
		Service: "checkout", AlertType: "HighLatency", Title: "High latency", Host: "host-" + fp,
		StartsAt: t0, ReceivedAt: at,
	}
	if status == incidenthub.AlertResolved {
		a.EndsAt = &at
	}
	return a
}

func apply(t *testing.T, st *store.Store, a incidenthub.Alert) correlation.Change {
	t.Helper()
	return applyIn(t, st, correlation.Input{Alert: a, EventID: "ev-" + a.Fingerprint, Now: time.Now().UTC()})
}

func applyIn(t *testing.T, st *store.Store, in correlation.Input) correlation.Change {
	t.Helper()
	var ch correlation.Change
	err := st.Tx(context.Background(), func(tx *gorm.DB) error {
		var err error
		ch, err = correlation.Apply(tx, in)
		return err
	})
	require.NoError(t, err)
	return ch
}

func TestKey(t *testing.T) {
	t.Parallel()
	a := incidenthub.Alert{Source: "dd", Service: "api", AlertType: "cpu"}
	require.Equal(t, "api/cpu", correlation.Key(a))
	a.Service = ""
	require.Equal(t, "source:dd/cpu", correlation.Key(a))
	b := a
	b.Source = "am"
	require.NotEqual(t, correlation.Key(a), correlation.Key(b), "alerts without a service from different sources must not merge")
}

// Concurrent firing alerts for one key open exactly one incident: the
// partial unique index, not a mutex, decides the race.
func TestConcurrentAlertsOpenOneIncident(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		st := storetest.Open(t, dialect)
		const n = 20
		var wg sync.WaitGroup
		changes := make([]correlation.Change, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = st.Tx(context.Background(), func(tx *gorm.DB) error {
					var err error
					changes[i], err = correlation.Apply(tx, correlation.Input{
						Alert: alert(fmt.Sprint(i), incidenthub.AlertFiring, t0), EventID: "ev", Now: time.Now().UTC(),
						Targets: []string{"t" + fmt.Sprint(i%3)},
					})
					return err
				})
			})
		}
		close(start)
		wg.Wait()
		opened := 0
		for i := range n {
			require.NoError(t, errs[i])
			if changes[i].Outcome == correlation.Opened {
				opened++
			}
			require.Equal(t, changes[0].IncidentID, changes[i].IncidentID)
		}
		require.Equal(t, 1, opened)

		list, _, err := st.ListIncidents(context.Background(), store.IncidentFilter{})
		require.NoError(t, err)
		require.Len(t, list, 1)
		inc := list[0]
		require.Equal(t, "checkout/HighLatency", inc.CorrelationKey)
		require.Equal(t, incidenthub.IncidentOpen, inc.Status)
		require.Equal(t, n, inc.AlertCount)
		require.Equal(t, n, inc.FiringCount)
		require.Equal(t, n, inc.EventCount)
		require.Len(t, inc.Hosts, n)
		require.ElementsMatch(t, []string{"t0", "t1", "t2"}, inc.Targets, "routed targets accumulate on the incident")

		// Every member resolves: the incident resolves with the last one.
		for i := range n {
			ch := apply(t, st, alert(fmt.Sprint(i), incidenthub.AlertResolved, t0.Add(time.Minute)))
			if i < n-1 {
				require.Equal(t, correlation.Updated, ch.Outcome)
			} else {
				require.Equal(t, correlation.Resolved, ch.Outcome)
			}
		}
		got, members, err := st.GetIncident(context.Background(), inc.ID)
		require.NoError(t, err)
		require.Equal(t, incidenthub.IncidentResolved, got.Status)
		require.NotNil(t, got.ResolvedAt)
		require.Equal(t, 0, got.FiringCount)
		require.Len(t, members, n)
		for _, m := range members {
			require.Equal(t, incidenthub.AlertResolved, m.Status)
		}

		// After the reopen window the key is free again: a new firing opens
		// a new incident.
		refire := alert("0", incidenthub.AlertFiring, t0.Add(time.Hour))
		refire.StartsAt = t0.Add(time.Hour)
		ch := applyIn(t, st, correlation.Input{Alert: refire, EventID: "ev-refire", Now: time.Now().UTC().Add(time.Hour)})
		require.Equal(t, correlation.Opened, ch.Outcome)
		require.NotEqual(t, inc.ID, ch.IncidentID)
	})
}

func TestStaleAndOrphanEventsAreIgnored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		st := storetest.Open(t, dialect)

		// A resolve with no incident changes nothing.
		ch := apply(t, st, alert("a", incidenthub.AlertResolved, t0))
		require.Equal(t, correlation.Ignored, ch.Outcome)

		firing := alert("a", incidenthub.AlertFiring, t0.Add(2*time.Minute))
		firing.StartsAt = t0.Add(2 * time.Minute)
		require.Equal(t, correlation.Opened, apply(t, st, firing).Outcome)
		// A resolve older than the alert's last firing does not resolve it.
		ch = apply(t, st, alert("a", incidenthub.AlertResolved, t0.Add(time.Minute)))
		require.Equal(t, correlation.Ignored, ch.Outcome, "resolve older than the last firing")
		require.Contains(t, ch.Reason, "stale")
		// A resolve for an alert that is not a member is ignored too.
		require.Equal(t, correlation.Ignored, apply(t, st, alert("zz", incidenthub.AlertResolved, t0.Add(time.Hour))).Outcome)

		list, _, err := st.ListIncidents(context.Background(), store.IncidentFilter{Status: "open"})
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, 1, list[0].FiringCount)
	})
}

func TestSeverityOnlyRises(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		st := storetest.Open(t, dialect)
		a := alert("a", incidenthub.AlertFiring, t0)
		id := apply(t, st, a).IncidentID
		b := alert("b", incidenthub.AlertFiring, t0)
		b.Severity = incidenthub.SeverityCritical
		apply(t, st, b)
		c := alert("c", incidenthub.AlertFiring, t0)
		c.Severity = incidenthub.SeverityInfo
		apply(t, st, c)
		inc, _, err := st.GetIncident(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, incidenthub.SeverityCritical, inc.Severity)
	})
}

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

// recorder is the delivery side's seam, recording what it is told.
type recorder struct {
	mu      sync.Mutex
	changes []correlation.Change
}

func (r *recorder) IncidentChanged(tx *gorm.DB, ch correlation.Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, ch)
	return nil
}

func (r *recorder) all() []correlation.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]correlation.Change(nil), r.changes...)
}

// clock drives one scenario: source times and hub times both advance.
type clock struct {
	t      *testing.T
	st     *store.Store
	now    time.Time
	policy correlation.Policy
	n      int
}

func newClock(t *testing.T, st *store.Store) *clock {
	return &clock{t: t, st: st, now: t0, policy: correlation.DefaultPolicy()}
}

func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }

// fire sends a firing alert whose source time is the current time.
func (c *clock) fire(fp string, mod ...func(*correlation.Input)) correlation.Change {
	c.t.Helper()
	a := alert(fp, incidenthub.AlertFiring, c.now)
	a.StartsAt = c.now
	return c.send(a, mod...)
}

// resolve sends a resolved alert ending at the current time.
func (c *clock) resolve(fp string, mod ...func(*correlation.Input)) correlation.Change {
	c.t.Helper()
	a := alert(fp, incidenthub.AlertResolved, c.now)
	a.StartsAt = c.now.Add(-time.Minute)
	return c.send(a, mod...)
}

func (c *clock) send(a incidenthub.Alert, mod ...func(*correlation.Input)) correlation.Change {
	c.t.Helper()
	c.n++
	in := correlation.Input{Alert: a, EventID: fmt.Sprintf("ev-%d", c.n), Now: c.now, Policy: &c.policy}
	for _, m := range mod {
		m(&in)
	}
	return applyIn(c.t, c.st, in)
}

func (c *clock) incident(id int64) *incidenthub.Incident {
	c.t.Helper()
	inc, _, err := c.st.GetIncident(context.Background(), id)
	require.NoError(c.t, err)
	return inc
}

func (c *clock) timeline(id int64) []incidenthub.TimelineEntry {
	c.t.Helper()
	tl, _, err := c.st.Timeline(context.Background(), id, 0, 1000)
	require.NoError(c.t, err)
	return tl
}

func kinds(tl []incidenthub.TimelineEntry) []string {
	out := make([]string, len(tl))
	for i, e := range tl {
		out[i] = e.Kind
	}
	return out
}

func TestOutOfOrderEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		t.Run("resolve before firing", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			firing := alert("a", incidenthub.AlertFiring, t0)
			firing.StartsAt = t0
			resolved := alert("a", incidenthub.AlertResolved, t0.Add(time.Minute))

			ch := c.send(resolved)
			require.Equal(t, correlation.Ignored, ch.Outcome)
			require.False(t, ch.Notify)
			require.Zero(t, ch.IncidentID)
			ch = c.send(firing) // the firing arrives late: older than the resolve
			require.Equal(t, correlation.Ignored, ch.Outcome)
			require.Contains(t, ch.Reason, "stale firing")
			require.False(t, ch.Notify)
			list, _, err := c.st.ListIncidents(context.Background(), store.IncidentFilter{})
			require.NoError(t, err)
			require.Empty(t, list, "a resolved alert must not open an incident")

			// The alert's next firing, after that resolve, opens one.
			c.advance(2 * time.Minute)
			require.Equal(t, correlation.Opened, c.fire("a").Outcome)
		})
		t.Run("duplicate resolve", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			id := c.fire("a").IncidentID
			c.advance(time.Minute)
			ch := c.resolve("a")
			require.Equal(t, correlation.Resolved, ch.Outcome)
			require.True(t, ch.Notify)
			c.advance(time.Second)
			again := alert("a", incidenthub.AlertResolved, c.now.Add(-time.Second))
			ch = c.send(again)
			require.Equal(t, correlation.Duplicate, ch.Outcome)
			require.False(t, ch.Notify, "a duplicate causes no outbound work")
			require.Equal(t, id, ch.IncidentID)
			inc := c.incident(id)
			require.Equal(t, incidenthub.IncidentResolved, inc.Status)
			require.Equal(t, 3, inc.EventCount, "duplicates still count")
			require.Equal(t, []string{"opened", "alert_resolved", "resolved"}, kinds(c.timeline(id)))
		})
		t.Run("old firing after resolve", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			start := c.now
			id := c.fire("a").IncidentID
			c.advance(time.Minute)
			require.Equal(t, correlation.Resolved, c.resolve("a").Outcome)
			c.advance(time.Minute)
			old := alert("a", incidenthub.AlertFiring, start)
			old.StartsAt = start.Add(-time.Second)
			ch := c.send(old)
			require.Equal(t, correlation.Ignored, ch.Outcome)
			require.Equal(t, id, ch.IncidentID)
			require.False(t, ch.Notify)
			require.Equal(t, incidenthub.IncidentResolved, c.incident(id).Status, "a stale firing does not reopen")
			tl := c.timeline(id)
			last := tl[len(tl)-1]
			require.Equal(t, incidenthub.TimelineIgnored, last.Kind)
			require.Contains(t, last.Reason, "stale firing")
			require.Contains(t, last.Reason, "does not reopen it")
			require.Equal(t, "a", last.Fingerprint)
		})
		t.Run("old resolve after firing", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			c.advance(time.Hour)
			id := c.fire("a").IncidentID
			old := alert("a", incidenthub.AlertResolved, t0)
			ch := c.send(old)
			require.Equal(t, correlation.Ignored, ch.Outcome)
			require.Contains(t, ch.Reason, "stale resolve")
			require.Equal(t, incidenthub.IncidentOpen, c.incident(id).Status)
			require.Equal(t, incidenthub.TimelineIgnored, c.timeline(id)[1].Kind)
		})
		t.Run("duplicate firing", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			first := c.fire("a")
			a := alert("a", incidenthub.AlertFiring, c.now)
			a.StartsAt = c.now
			for range 3 {
				c.advance(time.Second)
				ch := c.send(a)
				require.Equal(t, correlation.Duplicate, ch.Outcome)
				require.False(t, ch.Notify)
			}
			inc, members, err := c.st.GetIncident(context.Background(), first.IncidentID)
			require.NoError(t, err)
			require.Equal(t, 4, inc.EventCount)
			require.Equal(t, 4, members[0].EventCount)
			require.Equal(t, c.now, inc.LastSeenAt.UTC())
			require.Len(t, c.timeline(inc.ID), 1, "duplicates are counted, not put on the timeline")
		})
	})
}

func TestReopenFlapAndSettle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		st := storetest.Open(t, dialect)
		c := newClock(t, st)
		c.policy.FlapThreshold = 2
		c.policy.FlapWindow = time.Hour
		id := c.fire("a").IncidentID

		cycle := func() (correlation.Change, correlation.Change) {
			c.advance(time.Minute)
			res := c.resolve("a")
			require.Equal(t, correlation.Resolved, res.Outcome)
			c.advance(5 * time.Minute) // inside the 15m reopen window
			re := c.fire("a")
			require.Equal(t, correlation.Reopened, re.Outcome)
			require.Equal(t, id, re.IncidentID, "a flap reopens the same incident")
			return res, re
		}
		for i := 1; i <= 2; i++ {
			res, re := cycle()
			require.True(t, res.Notify)
			require.True(t, re.Notify, "flap %d is below the threshold", i)
			require.False(t, re.Flapping)
		}
		_, re := cycle() // third flap within the hour: more than 2
		require.True(t, re.Flapping)
		require.False(t, re.Notify, "a flapping incident's reopen is held back")
		res, re := cycle()
		require.False(t, res.Notify, "and so is its resolve")
		require.False(t, re.Notify)
		inc := c.incident(id)
		require.True(t, inc.Flapping)
		require.Equal(t, 4, inc.FlapCount)
		require.Contains(t, kinds(c.timeline(id)), incidenthub.TimelineFlapping)

		// It settles after a flap window without flaps: one notification
		// with the current state.
		rec := &recorder{}
		sw := &correlation.Sweeper{Store: st, Policy: c.policy, Notifier: rec}
		r, err := sw.Sweep(context.Background(), c.now.Add(30*time.Minute))
		require.NoError(t, err)
		require.Zero(t, r.Settled, "not yet")
		r, err = sw.Sweep(context.Background(), c.now.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, 1, r.Settled)
		got := rec.all()
		require.Len(t, got, 1)
		require.Equal(t, correlation.Settled, got[0].Outcome)
		require.Equal(t, incidenthub.IncidentOpen, got[0].Status)
		require.True(t, got[0].Notify)
		require.False(t, c.incident(id).Flapping)

		// Outside the reopen window a firing opens a new incident.
		c.advance(time.Hour + time.Minute)
		require.Equal(t, correlation.Resolved, c.resolve("a").Outcome)
		c.advance(16 * time.Minute)
		ch := c.fire("a")
		require.Equal(t, correlation.Opened, ch.Outcome)
		require.NotEqual(t, id, ch.IncidentID)
	})
}

func TestResolvePolicies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		c := newClock(t, storetest.Open(t, dialect))
		with := func(policy string) func(*correlation.Input) {
			return func(in *correlation.Input) { in.Resolve = policy; in.Key = "k/" + policy }
		}
		for _, p := range []string{"all", "any", "manual"} {
			id := c.fire(p+"1", with(p)).IncidentID
			require.Equal(t, correlation.Joined, c.fire(p+"2", with(p)).Outcome)
			c.advance(time.Second)
			ch := c.resolve(p+"1", with(p))
			inc := c.incident(id)
			require.Equal(t, p, inc.ResolvePolicy)
			switch p {
			case "any":
				require.Equal(t, correlation.Resolved, ch.Outcome, "resolve: any resolves with the first alert")
			default:
				require.Equal(t, correlation.Updated, ch.Outcome)
				require.False(t, ch.Notify)
			}
			ch = c.resolve(p+"2", with(p))
			switch p {
			case "all":
				require.Equal(t, correlation.Resolved, ch.Outcome)
			case "manual":
				require.Equal(t, correlation.Updated, ch.Outcome, "resolve: manual waits for a person")
				require.Equal(t, incidenthub.IncidentOpen, c.incident(id).Status)
				require.Equal(t, 0, c.incident(id).FiringCount)
			}
		}
		// The config's default applies when routing sets none.
		c.policy.Resolve = correlation.ResolveManual
		id := c.fire("d").IncidentID
		require.Equal(t, "manual", c.incident(id).ResolvePolicy)

		_, err := correlation.Apply(nil, correlation.Input{Alert: alert("x", incidenthub.AlertFiring, t0), Resolve: "sometimes"})
		require.ErrorContains(t, err, `unknown resolve policy "sometimes"`)
	})
}

// Joins are throttled: at most one "N more alerts joined" notification per
// interval, and the sweep sends what a storm's tail left pending.
func TestJoinThrottle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		st := storetest.Open(t, dialect)
		c := newClock(t, st)
		c.policy.JoinNotifyInterval = time.Minute
		id := c.fire("a").IncidentID
		for i := range 50 { // 50 joins within the first interval: held
			c.advance(time.Second)
			ch := c.fire(fmt.Sprint("j", i))
			require.Equal(t, correlation.Joined, ch.Outcome)
			require.False(t, ch.Notify, "join %d", i)
		}
		c.advance(20 * time.Second)
		ch := c.fire("late")
		require.True(t, ch.Notify, "the interval has passed")
		require.Equal(t, 51, ch.Joined, "the summary counts every join since the last notification")
		for i := range 10 {
			c.advance(time.Second)
			require.False(t, c.fire(fmt.Sprint("k", i)).Notify)
		}
		// A severity raise is notified at once, carrying the pending joins.
		crit := alert("crit", incidenthub.AlertFiring, c.now)
		crit.StartsAt, crit.Severity = c.now, incidenthub.SeverityCritical
		ch = c.send(crit)
		require.Equal(t, correlation.SeverityRaised, ch.Outcome)
		require.True(t, ch.Notify)
		require.Equal(t, 11, ch.Joined)
		require.Equal(t, incidenthub.SeverityCritical, ch.Severity)
		for i := range 5 {
			require.False(t, c.fire(fmt.Sprint("m", i)).Notify)
		}

		rec := &recorder{}
		sw := &correlation.Sweeper{Store: st, Policy: c.policy, Notifier: rec}
		r, err := sw.Sweep(context.Background(), c.now.Add(30*time.Second))
		require.NoError(t, err)
		require.Zero(t, r.JoinsNotified)
		r, err = sw.Sweep(context.Background(), c.now.Add(time.Minute))
		require.NoError(t, err)
		require.Equal(t, 1, r.JoinsNotified)
		got := rec.all()
		require.Len(t, got, 1)
		require.Equal(t, correlation.Joined, got[0].Outcome)
		require.Equal(t, 5, got[0].Joined)
		require.Equal(t, id, got[0].IncidentID)
		r, err = sw.Sweep(context.Background(), c.now.Add(time.Hour))
		require.NoError(t, err)
		require.Zero(t, r.JoinsNotified, "sent once")
		require.Equal(t, 68, c.incident(id).AlertCount)
	})
}

// Sources that never resolve: the sweep resolves incidents that heard
// nothing for auto_resolve_after, once, even with several sweepers.
func TestAutoResolve(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		st := storetest.Open(t, dialect)
		c := newClock(t, st)
		c.policy.AutoResolveAfter = time.Hour
		var ids []int64
		for i := range 5 {
			ids = append(ids, c.fire(fmt.Sprint("a", i), func(in *correlation.Input) { in.Key = fmt.Sprint("svc/", i) }).IncidentID)
		}
		manual := c.fire("m", func(in *correlation.Input) { in.Key = "svc/manual"; in.Resolve = "manual" }).IncidentID
		c.advance(30 * time.Minute)
		c.fire("b", func(in *correlation.Input) { in.Key = "svc/0" }) // still active

		rec := &recorder{}
		var wg sync.WaitGroup
		results := make([]correlation.SweepResult, 3)
		for i := range results {
			wg.Go(func() {
				sw := &correlation.Sweeper{Store: st, Policy: c.policy, Notifier: rec}
				var err error
				results[i], err = sw.Sweep(context.Background(), c.now.Add(45*time.Minute))
				require.NoError(t, err)
			})
		}
		wg.Wait()
		total := 0
		for _, r := range results {
			total += r.AutoResolved
		}
		require.Equal(t, 4, total, "each inactive incident is resolved exactly once")
		require.Len(t, rec.all(), 4)
		for _, ch := range rec.all() {
			require.Equal(t, correlation.Resolved, ch.Outcome)
			require.Equal(t, correlation.AutoResolver, ch.Actor)
			require.True(t, ch.Notify)
		}
		require.Equal(t, incidenthub.IncidentOpen, c.incident(ids[0]).Status, "it heard an event 30m ago")
		require.Equal(t, incidenthub.IncidentOpen, c.incident(manual).Status, "resolve: manual is never auto-resolved")
		inc := c.incident(ids[1])
		require.Equal(t, incidenthub.IncidentResolved, inc.Status)
		require.Equal(t, correlation.AutoResolver, inc.ResolvedBy)
		tl := c.timeline(ids[1])
		require.Contains(t, tl[len(tl)-1].Reason, "no event for 1h0m0s")

		// The alert fires again soon after: the incident reopens.
		c.advance(50 * time.Minute)
		ch := c.fire("a1", func(in *correlation.Input) { in.Key = "svc/1" })
		require.Equal(t, correlation.Reopened, ch.Outcome)
		require.Equal(t, ids[1], ch.IncidentID)
	})
}

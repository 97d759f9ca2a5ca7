package correlation_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// from sets the alert's source: the same alert (same fingerprint) arriving
// through two sources of one kind, as an Alertmanager HA pair posting to
// two hub sources does.
func from(source string) func(*correlation.Input) {
	return func(in *correlation.Input) { in.Alert.Source = source }
}

// members returns the incident's members as "source/fingerprint status".
func memberStates(t *testing.T, c *clock, id int64) []string {
	t.Helper()
	_, ms, err := c.st.GetIncident(context.Background(), id)
	require.NoError(t, err)
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Source + "/" + m.Fingerprint + " " + string(m.Status)
	}
	return out
}

// A member alert is identified by (source, fingerprint): the same
// fingerprint from two sources is two members of the incident, each
// resolved by its own source's resolve.
func TestSameFingerprintFromTwoSources(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		t.Run("two members, each resolved by its source", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			id := c.fire("a", from("am-1")).IncidentID
			c.advance(time.Second)
			ch := c.fire("a", from("am-2"))
			require.Equal(t, correlation.Joined, ch.Outcome)
			require.Equal(t, id, ch.IncidentID)
			require.Equal(t, 2, ch.AlertCount)
			require.Equal(t, 2, ch.FiringCount)
			require.Equal(t, []string{"am-1/a firing", "am-2/a firing"}, memberStates(t, c, id))

			// Each source re-sending its alert is a duplicate of its own member.
			c.advance(time.Second)
			require.Equal(t, correlation.Duplicate, c.fire("a", from("am-2")).Outcome)

			c.advance(time.Minute)
			ch = c.resolve("a", from("am-1"))
			require.Equal(t, correlation.Updated, ch.Outcome, "the other source's alert still fires")
			require.Equal(t, 1, ch.FiringCount)
			require.Equal(t, incidenthub.IncidentOpen, c.incident(id).Status)
			require.Equal(t, []string{"am-1/a resolved", "am-2/a firing"}, memberStates(t, c, id))

			c.advance(time.Minute)
			ch = c.resolve("a", from("am-2"))
			require.Equal(t, correlation.Resolved, ch.Outcome)
			require.Equal(t, []string{"am-1/a resolved", "am-2/a resolved"}, memberStates(t, c, id))
			inc := c.incident(id)
			require.Equal(t, 2, inc.AlertCount)
			require.Equal(t, 0, inc.FiringCount)
		})
		t.Run("one payload carries both", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			a1, a2 := alert("a", incidenthub.AlertFiring, c.now), alert("a", incidenthub.AlertFiring, c.now)
			a1.Source, a2.Source = "am-1", "am-2"
			var chs []correlation.Change
			require.NoError(t, c.st.Tx(context.Background(), func(tx *gorm.DB) error {
				var err error
				chs, err = correlation.ApplyBatch(tx, []correlation.Input{
					{Alert: a1, EventID: "ev-1", Now: c.now}, {Alert: a2, EventID: "ev-1", Now: c.now},
				})
				return err
			}))
			require.Equal(t, correlation.Opened, chs[0].Outcome)
			require.Equal(t, correlation.Joined, chs[1].Outcome)
			require.Equal(t, []string{"am-1/a firing", "am-2/a firing"}, memberStates(t, c, chs[0].IncidentID))
		})
		t.Run("a resolve before its firing is remembered per source", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			start := c.now
			c.advance(time.Minute)
			require.Equal(t, correlation.Ignored, c.resolve("a", from("am-2")).Outcome)
			// am-1's firing is not judged by am-2's resolve.
			old := alert("a", incidenthub.AlertFiring, start)
			old.Source = "am-1"
			ch := c.send(old)
			require.Equal(t, correlation.Opened, ch.Outcome)
			// am-2's late firing, older than am-2's resolve, is stale.
			old.Source = "am-2"
			ch = c.send(old)
			require.Equal(t, correlation.Ignored, ch.Outcome)
			require.Contains(t, ch.Reason, "stale firing")
			require.Equal(t, []string{"am-1/a firing"}, memberStates(t, c, ch.IncidentID))
		})
		t.Run("stale checks are per source", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			start := c.now
			c.advance(time.Hour)
			id := c.fire("a", from("am-1")).IncidentID
			// am-2 saw the alert start an hour earlier: not stale, its own member.
			old := alert("a", incidenthub.AlertFiring, start)
			old.Source = "am-2"
			require.Equal(t, correlation.Joined, c.send(old).Outcome)
			require.Equal(t, []string{"am-1/a firing", "am-2/a firing"}, memberStates(t, c, id))
		})
		t.Run("split names the source", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			id := c.fire("a", from("am-1")).IncidentID
			c.fire("a", from("am-2"))
			c.fire("b", from("am-1"))
			err := c.st.Tx(context.Background(), func(tx *gorm.DB) error {
				_, err := correlation.SplitAlert(tx, id, "", "a", correlation.Action{Actor: "alice"})
				return err
			})
			require.Equal(t, incidenthub.EINVALID, incidenthub.ErrorCode(err))
			require.Contains(t, incidenthub.ErrorMessage(err), "several sources")

			var chs []correlation.Change
			require.NoError(t, c.st.Tx(context.Background(), func(tx *gorm.DB) error {
				var err error
				chs, err = correlation.SplitAlert(tx, id, "am-2", "a", correlation.Action{Actor: "alice"})
				return err
			}))
			split := chs[0].IncidentID
			require.Equal(t, []string{"am-2/a firing"}, memberStates(t, c, split))
			require.Equal(t, []string{"am-1/a firing", "am-1/b firing"}, memberStates(t, c, id))
			require.Contains(t, chs[1].Reason, "am-2", "the timeline says which source's alert left")

			// Each source's later events follow its own member.
			c.advance(time.Minute)
			require.Equal(t, split, c.resolve("a", from("am-2")).IncidentID)
			require.Equal(t, id, c.resolve("a", from("am-1")).IncidentID)
			require.Equal(t, incidenthub.IncidentResolved, c.incident(split).Status)
			require.Equal(t, incidenthub.IncidentOpen, c.incident(id).Status)
		})
		t.Run("merge keeps both sources' members", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			into := c.fire("a", from("am-1")).IncidentID
			other := alert("a", incidenthub.AlertFiring, c.now)
			other.Source, other.Service = "am-2", "payments"
			fromID := c.send(other).IncidentID
			require.NotEqual(t, into, fromID)
			require.NoError(t, c.st.Tx(context.Background(), func(tx *gorm.DB) error {
				_, err := correlation.Merge(tx, into, fromID, correlation.Action{Actor: "alice"})
				return err
			}))
			require.Equal(t, []string{"am-1/a firing", "am-2/a firing"}, memberStates(t, c, into))
			inc := c.incident(into)
			require.Equal(t, 2, inc.AlertCount)
			require.Equal(t, 2, inc.FiringCount)
		})
		t.Run("merge keeps one member per source and fingerprint, the latest", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			main := c.fire("a", from("am-1")).IncidentID
			c.fire("b", from("am-1"))
			var chs []correlation.Change
			require.NoError(t, c.st.Tx(context.Background(), func(tx *gorm.DB) error {
				var err error
				chs, err = correlation.SplitAlert(tx, main, "am-1", "a", correlation.Action{Actor: "alice"})
				return err
			}))
			split := chs[0].IncidentID
			c.advance(time.Minute)
			require.Equal(t, correlation.Resolved, c.resolve("a", from("am-1")).Outcome)
			c.advance(time.Minute)
			// a fires again: its key routes it back to the main incident, as a new member.
			require.Equal(t, main, c.fire("a", from("am-1")).IncidentID)
			require.NoError(t, c.st.Tx(context.Background(), func(tx *gorm.DB) error {
				_, err := correlation.Reopen(tx, split, correlation.Action{Actor: "alice"})
				return err
			}))
			require.Equal(t, []string{"am-1/a resolved"}, memberStates(t, c, split))
			require.NoError(t, c.st.Tx(context.Background(), func(tx *gorm.DB) error {
				_, err := correlation.Merge(tx, split, main, correlation.Action{Actor: "alice"})
				return err
			}))
			require.ElementsMatch(t, []string{"am-1/a firing", "am-1/b firing"}, memberStates(t, c, split),
				"the latest incarnation of a (firing) is kept")
			inc := c.incident(split)
			require.Equal(t, 2, inc.AlertCount)
			require.Equal(t, 2, inc.FiringCount)
		})
	})
}

// An incident reopened by hand may already hold an older incarnation of an
// alert whose later incident resolved: the alert's next firing takes that
// member rather than failing on the unique index.
func TestFiringIntoAnIncidentThatHoldsAnOlderIncarnation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		c := newClock(t, storetest.Open(t, dialect))
		first := c.fire("a").IncidentID
		c.advance(time.Minute)
		require.Equal(t, correlation.Resolved, c.resolve("a").Outcome)
		c.advance(c.policy.ReopenWindow + time.Minute)
		second := c.fire("a")
		require.Equal(t, correlation.Opened, second.Outcome, "past the reopen window: a new incident")
		c.advance(time.Minute)
		require.Equal(t, correlation.Resolved, c.resolve("a").Outcome)
		require.NoError(t, c.st.Tx(context.Background(), func(tx *gorm.DB) error {
			_, err := correlation.Reopen(tx, first, correlation.Action{Actor: "alice"})
			return err
		}))
		c.advance(time.Minute)
		ch := c.fire("a")
		require.Equal(t, first, ch.IncidentID, "the key routes to the reopened incident")
		require.Equal(t, []string{"am/a firing"}, memberStates(t, c, first))
		require.Equal(t, 1, ch.FiringCount)
		require.Equal(t, 1, ch.AlertCount)
		c.advance(time.Minute)
		require.Equal(t, correlation.Resolved, c.resolve("a").Outcome, "and its resolve resolves it")
	})
}

package correlation_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// recovery is a resolve as a source that sends only its recovery time
// maps it: ends_at is the recovery (nil: none at all), starts_at is the
// receive time the mapping filled in.
func recovery(fp string, received time.Time, ended *time.Time) incidenthub.Alert {
	a := alert(fp, incidenthub.AlertResolved, received)
	a.StartsAt, a.StartsAtFrom, a.EndsAt = received, incidenthub.StartsAtReceived, ended
	return a
}

// member returns the incident's member alert with fingerprint fp.
func member(t *testing.T, c *clock, id int64, fp string) incidenthub.IncidentAlert {
	t.Helper()
	_, members, err := c.st.GetIncident(context.Background(), id)
	require.NoError(t, err)
	for _, m := range members {
		if m.Fingerprint == fp {
			return m
		}
	}
	t.Fatalf("incident %d has no alert %s", id, fp)
	return incidenthub.IncidentAlert{}
}

// TestResolveKeepsStart: a resolve that carries only its recovery time
// keeps the start of the firing it resolves, in the change and in the
// stored member alert, while stale and out-of-order events are judged by
// the resolve's own time as before.
func TestResolveKeepsStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		t.Run("firing then resolve", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			fired := c.now
			id := c.fire("a").IncidentID
			c.advance(10 * time.Minute)
			ended := c.now.Add(-time.Minute) // the source's recovery time
			ch := c.send(recovery("a", c.now, &ended))
			require.Equal(t, correlation.Resolved, ch.Outcome)
			require.Equal(t, fired, ch.Alert.StartsAt, "the change carries the firing's start")
			require.Equal(t, incidenthub.StartsAtFiring, ch.Alert.StartsAtFrom)

			m := member(t, c, id, "a")
			require.Equal(t, incidenthub.AlertResolved, m.Status)
			require.True(t, fired.Equal(m.Alert.StartsAt), "stored starts_at %s, want the firing's %s", m.Alert.StartsAt, fired)
			require.Equal(t, incidenthub.StartsAtFiring, m.Alert.StartsAtFrom)
			require.True(t, ended.Equal(*m.Alert.EndsAt))
			require.True(t, ended.Equal(m.LastEventAt), "the resolve's own time is its end")
		})
		t.Run("resolve without any time", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			fired := c.now
			id := c.fire("a").IncidentID
			c.advance(5 * time.Minute)
			ch := c.send(recovery("a", c.now, nil))
			require.Equal(t, correlation.Resolved, ch.Outcome)
			m := member(t, c, id, "a")
			require.True(t, fired.Equal(m.Alert.StartsAt))
			require.Nil(t, m.Alert.EndsAt)
			require.True(t, c.now.Equal(m.LastEventAt), "without an end, the resolve's time is when the hub received it")
		})
		t.Run("firing without a start", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			firing := alert("a", incidenthub.AlertFiring, c.now)
			firing.StartsAt, firing.StartsAtFrom = c.now, incidenthub.StartsAtReceived
			received := c.now
			id := c.send(firing).IncidentID
			c.advance(time.Minute)
			ended := c.now
			require.Equal(t, correlation.Resolved, c.send(recovery("a", c.now, &ended)).Outcome)
			m := member(t, c, id, "a")
			require.True(t, received.Equal(m.Alert.StartsAt), "the start the hub recorded: when it received the firing")
			require.Equal(t, incidenthub.StartsAtFiring, m.Alert.StartsAtFrom)
		})
		t.Run("a start in the resolve wins", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			id := c.fire("a").IncidentID
			c.advance(time.Minute)
			own := c.now.Add(-30 * time.Second)
			a := alert("a", incidenthub.AlertResolved, c.now)
			a.StartsAt = own // the vendor repeats its own start in the resolve
			require.Equal(t, correlation.Resolved, c.send(a).Outcome)
			m := member(t, c, id, "a")
			require.True(t, own.Equal(m.Alert.StartsAt))
			require.Empty(t, m.Alert.StartsAtFrom)
		})
		t.Run("stale resolve after a re-fire", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			id := c.fire("a").IncidentID
			c.advance(10 * time.Minute)
			ended := c.now
			require.Equal(t, correlation.Resolved, c.send(recovery("a", c.now, &ended)).Outcome)
			c.advance(time.Minute)
			refired := c.now
			require.Equal(t, correlation.Reopened, c.fire("a").Outcome)
			// A recovery older than the re-fire arrives late.
			c.advance(time.Minute)
			late := refired.Add(-30 * time.Second)
			ch := c.send(recovery("a", c.now, &late))
			require.Equal(t, correlation.Ignored, ch.Outcome)
			require.Contains(t, ch.Reason, "stale resolve")
			m := member(t, c, id, "a")
			require.Equal(t, incidenthub.AlertFiring, m.Status, "the stale resolve does not resolve it")
			require.True(t, refired.Equal(m.Alert.StartsAt), "the re-fire's start")
			require.Equal(t, incidenthub.IncidentOpen, c.incident(id).Status)
		})
		t.Run("resolve before firing", func(t *testing.T) {
			c := newClock(t, storetest.Open(t, dialect))
			fired := c.now
			c.advance(5 * time.Minute)
			ended := c.now
			ch := c.send(recovery("a", c.now, &ended))
			require.Equal(t, correlation.Ignored, ch.Outcome, "the hub never saw the firing")
			require.True(t, c.now.Equal(ch.Alert.StartsAt), "nothing to keep: the receive time stays")
			require.Equal(t, incidenthub.StartsAtReceived, ch.Alert.StartsAtFrom)

			// Its firing, older than the resolve, arrives late: ignored.
			c.advance(time.Minute)
			late := alert("a", incidenthub.AlertFiring, c.now)
			late.StartsAt = fired
			ch = c.send(late)
			require.Equal(t, correlation.Ignored, ch.Outcome)
			require.Contains(t, ch.Reason, "stale firing")

			// A new firing after the resolve opens an incident, and its
			// recovery keeps that firing's start.
			c.advance(time.Minute)
			refired := c.now
			ch = c.fire("a")
			require.Equal(t, correlation.Opened, ch.Outcome)
			c.advance(time.Minute)
			ended = c.now
			require.Equal(t, correlation.Resolved, c.send(recovery("a", c.now, &ended)).Outcome)
			require.True(t, refired.Equal(member(t, c, ch.IncidentID, "a").Alert.StartsAt))
		})
	})
}

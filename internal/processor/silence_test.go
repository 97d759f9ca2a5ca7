package processor_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/hold"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/silence"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// notified records the changes worth notifying, as the delivery engine
// would hear them.
type notified struct {
	mu      sync.Mutex
	changes []correlation.Change
}

func (n *notified) IncidentChanged(_ *gorm.DB, ch correlation.Change) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ch.Notify {
		n.changes = append(n.changes, ch)
	}
	return nil
}

func (n *notified) outcomes(id int64) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, ch := range n.changes {
		if ch.IncidentID == id {
			out = append(out, string(ch.Outcome))
		}
	}
	return out
}

func insertAlert(t *testing.T, st *store.Store, id, fp, service, status string) string {
	t.Helper()
	body := fmt.Sprintf(`{"id": %q, "fingerprint": %q, "status": %q, "severity": "high", "service": %q,
		"alert_type": "5xx_rate", "title": "5xx rate high", "labels": {"alertname": "5xx-rate"}}`, id, fp, status, service)
	eventID, _, err := st.InsertEvent(context.Background(), &store.Event{Source: "gen", Kind: "generic", ReceivedAt: time.Now().UTC(),
		Body: []byte(body), Headers: store.JSON[map[string]string]{V: map[string]string{}}})
	require.NoError(t, err)
	return eventID
}

func drainAll(t *testing.T, p *processor.Processor) {
	t.Helper()
	for {
		did, err := p.ProcessOne(context.Background())
		require.NoError(t, err)
		if !did {
			return
		}
	}
}

func incidentOf(t *testing.T, st *store.Store, service string) int64 {
	t.Helper()
	list, _, err := st.ListIncidents(context.Background(), store.IncidentFilter{Service: service})
	require.NoError(t, err)
	require.Len(t, list, 1, "one incident for %s", service)
	return list[0].ID
}

// TestRuntimeSilence: an alert an active runtime silence matches still
// opens (and joins) its incident but notifies nobody, and the timeline
// names the silence; an alert it does not match notifies. Expiring the
// silence releases the held incident: it notifies exactly once.
func TestRuntimeSilence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		rec := &notified{}
		p := processor.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), 1, time.Second)
		p.Router = processor.DefaultRouter{"hook"}
		p.Notifier = rec
		p.Silencer = silence.Silencer{}

		sil, err := silence.Create(ctx, st.DB, silence.New{
			Matchers: []silence.Matcher{{Name: "service", Op: silence.Equal, Value: "checkout"}, {Name: "alertname", Op: silence.Regexp, Value: "5xx.*"}},
			Duration: time.Hour, CreatedBy: "alice", Comment: "deploy of checkout, CHG-42"})
		require.NoError(t, err)

		first := insertAlert(t, st, "e1", "fp-1", "checkout", "firing")
		insertAlert(t, st, "e2", "fp-2", "checkout", "firing") // joins, still silenced
		insertAlert(t, st, "e3", "fp-3", "billing", "firing")  // not matched
		drainAll(t, p)

		held, free := incidentOf(t, st, "checkout"), incidentOf(t, st, "billing")
		require.Empty(t, rec.outcomes(held), "a silenced incident notifies nobody")
		require.Equal(t, []string{"opened"}, rec.outcomes(free))
		inc, alerts, err := st.GetIncident(ctx, held)
		require.NoError(t, err)
		require.Equal(t, 2, inc.AlertCount, "silenced alerts still correlate")
		require.Len(t, alerts, 2)

		entries, _, err := st.Timeline(ctx, held, 0, 100)
		require.NoError(t, err)
		var heldBy []string
		for _, e := range entries {
			if e.Kind == hold.TimelineHeld {
				heldBy = append(heldBy, e.Reason)
				require.Equal(t, sil.ID, e.Details["ref"])
				require.Equal(t, first, e.EventID)
			}
		}
		require.Len(t, heldBy, 1, "one entry per silence, however many alerts it held")
		require.Contains(t, heldBy[0], sil.ID)
		require.Contains(t, heldBy[0], "deploy of checkout, CHG-42")
		holds, err := hold.List(st.DB, held)
		require.NoError(t, err)
		require.Len(t, holds, 1)
		require.Equal(t, sil.ID, holds[0].Ref)
		require.False(t, holds[0].Gate)

		// While the silence is in force, the releaser keeps the hold.
		rel := hold.NewReleaser(st, rec, nil)
		rel.Register(hold.Silence, silence.HoldChecker)
		n, err := rel.Release(ctx, time.Now().UTC())
		require.NoError(t, err)
		require.Zero(t, n)
		require.Empty(t, rec.outcomes(held))

		// Expired: what still fires notifies, once.
		_, err = silence.Expire(ctx, st.DB, sil.ID, "bob")
		require.NoError(t, err)
		insertAlert(t, st, "e4", "fp-4", "checkout", "firing") // after the end: notifies as usual
		drainAll(t, p)
		before := len(rec.outcomes(held))
		n, err = rel.Release(ctx, time.Now().UTC().Add(time.Second))
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Len(t, rec.outcomes(held), before+1)
		require.Equal(t, hold.TimelineReleased, rec.outcomes(held)[before])
		n, err = rel.Release(ctx, time.Now().UTC().Add(2*time.Second))
		require.NoError(t, err)
		require.Zero(t, n, "released once")
		holds, err = hold.List(st.DB, held)
		require.NoError(t, err)
		require.Empty(t, holds)
	})
}

// TestRuntimeSilenceEnds: a silence whose end passes (no one expires it)
// releases its incidents too; an expr silence holds alerts like matchers.
func TestRuntimeSilenceEnds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		rec := &notified{}
		p := processor.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), 1, time.Second)
		p.Router = processor.DefaultRouter{"hook"}
		p.Notifier = rec
		p.Silencer = silence.Silencer{}
		sil, err := silence.Create(ctx, st.DB, silence.New{Expr: `service == "search" && labels.alertname startsWith "5xx"`,
			Duration: time.Hour, CreatedBy: "alice", Comment: "search reindex"})
		require.NoError(t, err)
		insertAlert(t, st, "s1", "fp-s", "search", "firing")
		drainAll(t, p)
		id := incidentOf(t, st, "search")
		require.Empty(t, rec.outcomes(id))

		rel := hold.NewReleaser(st, rec, nil)
		rel.Register(hold.Silence, silence.HoldChecker)
		// The releaser asks as of a time past the silence's end.
		n, err := rel.Release(ctx, sil.EndsAt.Add(time.Second))
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, []string{hold.TimelineReleased}, rec.outcomes(id))
		entries, _, err := st.Timeline(ctx, id, 0, 100)
		require.NoError(t, err)
		last := entries[len(entries)-1]
		require.Equal(t, hold.TimelineReleased, last.Kind)
		require.True(t, strings.Contains(last.Reason, sil.ID), last.Reason)
	})
}

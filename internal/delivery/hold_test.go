package delivery_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/hold"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/rules"
)

// holdHub is a hub whose processor routes with the rules engine (so
// routing.notify_after and min_alerts apply, as in serve) and releases
// holds with rel.
type holdHub struct {
	*hub
	yaml string
	rel  *hold.Releaser
}

func newHoldHub(t *testing.T, dialect, yaml string) *holdHub {
	h := &holdHub{hub: newHub(t, dialect, yaml), yaml: yaml}
	h.wire()
	return h
}

// wire gives the hub a processor and a releaser on its current engine,
// as serve does.
func (h *holdHub) wire() {
	path := filepath.Join(h.t.TempDir(), "hub.yaml")
	require.NoError(h.t, os.WriteFile(path, []byte(h.yaml), 0o644))
	_, eng, err := rules.Load(path, func(string) string { return "" })
	require.NoError(h.t, err)
	h.rel = hold.NewReleaser(h.st, h.eng, slog.New(slog.DiscardHandler))
	h.proc = processor.New(h.st, slog.New(slog.DiscardHandler), 1, 50*time.Millisecond)
	h.proc.Router, h.proc.Notifier, h.proc.Holds = eng, h.eng, h.rel
}

// release runs the releaser as of at and returns how many incidents it
// let go.
func (h *holdHub) release(at time.Time) int {
	h.t.Helper()
	n, err := h.rel.Release(context.Background(), at)
	require.NoError(h.t, err)
	return n
}

// quiet asserts that r receives nothing more than it has for a moment.
func quiet(t *testing.T, r *receiver) {
	t.Helper()
	before := r.types()
	time.Sleep(700 * time.Millisecond)
	require.Equal(t, before, r.types())
}

func holdConfig(wh *receiver, routing string) string {
	return strings.Replace(hubConfig(wh, nil, ""), "routing: {default: [ops]}", "routing: {default: [ops], "+routing+"}", 1)
}

// notify_after: 2m. A blip that resolves after 30 s notifies nobody, even
// once the delay is over; an incident that lasts sends exactly one
// opened, at the end of the delay, and is delivered normally from then on.
// The releaser runs as of chosen times (its clock is an argument).
func TestNotifyAfter(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		wh := newReceiver(t)
		h := newHoldHub(t, dialect, holdConfig(wh, "notify_after: 2m"))
		h.start(h.eng)
		t0 := time.Now().UTC()

		h.alert("blip", "firing")
		h.drain()
		id := h.incidentID()
		holds, err := hold.List(h.st.DB, id)
		require.NoError(t, err)
		require.Len(t, holds, 1)
		require.Equal(t, string(hold.Delay), holds[0].Kind)
		require.True(t, holds[0].Gate)
		require.Zero(t, h.release(t0.Add(30*time.Second)))
		h.alert("blip", "resolved")
		h.drain()
		require.Zero(t, h.release(t0.Add(2*time.Minute+5*time.Second)), "resolved before anyone heard of it: nothing to tell")
		holds, err = hold.List(h.st.DB, id)
		require.NoError(t, err)
		require.Empty(t, holds, "the hold ended")
		quiet(t, wh)
		require.Empty(t, wh.types())
		require.Empty(t, h.deliveries(""))

		// It fires again (a reopen, within the reopen window): nobody has
		// heard of it, so the delay starts over.
		t2 := time.Now().UTC()
		h.alert("blip", "firing")
		h.drain()
		require.Equal(t, id, h.incidentID())
		require.Zero(t, h.release(t2.Add(time.Minute)))
		h.alert("blip", "resolved")
		h.drain()
		require.Zero(t, h.release(t2.Add(2*time.Minute+5*time.Second)))
		quiet(t, wh)
		require.Empty(t, wh.types(), "a flapping blip never pages either")

		// A second incident (its own key) that lasts.
		t1 := time.Now().UTC()
		h.insertRaw(`{"id":"l1","fingerprint":"last","status":"firing","severity":"high","service":"db","alert_type":"Down","title":"db down"}`)
		h.drain()
		require.Zero(t, h.release(t1.Add(2*time.Minute-5*time.Second)))
		h.insertRaw(`{"id":"l2","fingerprint":"last-2","status":"firing","severity":"critical","service":"db","alert_type":"Down","title":"db down"}`)
		h.drain() // a join and a severity raise during the wait: still held
		quiet(t, wh)
		require.Empty(t, wh.types())
		require.Equal(t, 1, h.release(t1.Add(2*time.Minute+5*time.Second)))
		waitTypes(t, wh, incidenthub.EventOpened)
		require.Equal(t, 2, wh.got()[0].Incident.AlertCount, "the opening carries the incident as it is now")
		require.Equal(t, incidenthub.SeverityCritical, wh.got()[0].Incident.Severity)

		h.insertRaw(`{"id":"l3","fingerprint":"last","status":"resolved","severity":"high","service":"db","alert_type":"Down","title":"db down"}`)
		h.insertRaw(`{"id":"l4","fingerprint":"last-2","status":"resolved","severity":"critical","service":"db","alert_type":"Down","title":"db down"}`)
		h.drain()
		waitTypes(t, wh, incidenthub.EventOpened, incidenthub.EventResolved)
	})
}

// A restart during the wait still notifies on time: the hold is a row,
// and the releaser of the new processor and engine on the same database
// lets it go at its until, not before. Real time, with notify_after: 3s.
func TestNotifyAfterRestart(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		wh := newReceiver(t)
		h := newHoldHub(t, dialect, holdConfig(wh, "notify_after: 3s"))
		h.rel.Interval = 100 * time.Millisecond
		require.NoError(t, h.eng.Start(context.Background()))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); h.rel.Run(ctx) }()

		t0 := time.Now()
		h.alert("a", "firing")
		h.drain()
		time.Sleep(time.Second)
		cancel() // "the hub stops"
		<-done
		stop(t, h.eng)
		require.Empty(t, wh.types())

		h.eng = h.engine(true) // "and starts again"
		h.wire()
		h.rel.Interval = 100 * time.Millisecond
		h.start(h.eng)
		ctx, cancel = context.WithCancel(context.Background())
		defer cancel()
		go h.rel.Run(ctx)

		var at time.Duration
		require.Eventually(t, func() bool {
			at = time.Since(t0)
			return len(wh.got()) > 0
		}, 20*time.Second, 10*time.Millisecond)
		var rel []struct{ At time.Time }
		require.NoError(t, h.st.DB.Raw("SELECT at FROM incident_timeline WHERE kind = ?", hold.TimelineReleased).Scan(&rel).Error)
		require.Len(t, rel, 1)
		released := rel[0].At.Sub(t0)
		t.Logf("released %s and received %s after the alert", released, at)
		require.GreaterOrEqual(t, released, 3*time.Second, "not before the delay")
		require.Less(t, released, 5*time.Second, "on time: the new releaser's first passes")
		require.GreaterOrEqual(t, at, 3*time.Second, "nothing before the delay")
		waitTypes(t, wh, incidenthub.EventOpened)
	})
}

// min_alerts: 3 sends nothing while the incident has 2 member alerts, and
// exactly one opened as soon as the third joins (the processor checks the
// hold at once; no releaser pass is needed). An incident that resolves
// below the threshold sends nothing.
func TestMinAlerts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		wh := newReceiver(t)
		h := newHoldHub(t, dialect, holdConfig(wh, "min_alerts: 3"))
		h.start(h.eng)

		h.alert("a", "firing")
		h.alert("b", "firing")
		h.drain()
		require.Zero(t, h.release(time.Now().UTC()))
		quiet(t, wh)
		require.Empty(t, wh.types())
		h.alert("c", "firing")
		h.drain()
		waitTypes(t, wh, incidenthub.EventOpened)
		require.Equal(t, 3, wh.got()[0].Incident.AlertCount)

		// Below the threshold until it resolves: nothing, ever.
		h.insertRaw(`{"id":"x1","fingerprint":"x","status":"firing","severity":"high","service":"db","alert_type":"Down","title":"db down"}`)
		h.insertRaw(`{"id":"x2","fingerprint":"y","status":"firing","severity":"high","service":"db","alert_type":"Down","title":"db down"}`)
		h.insertRaw(`{"id":"x3","fingerprint":"x","status":"resolved","severity":"high","service":"db","alert_type":"Down","title":"db down"}`)
		h.insertRaw(`{"id":"x4","fingerprint":"y","status":"resolved","severity":"high","service":"db","alert_type":"Down","title":"db down"}`)
		h.drain()
		require.Zero(t, h.release(time.Now().UTC()))
		quiet(t, wh)
		require.Equal(t, []string{incidenthub.EventOpened}, wh.types())
	})
}

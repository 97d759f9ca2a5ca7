package delivery_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/delivery"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// secondTarget is a webhook target named name on wh, with extra keys
// (e.g. an events: list) appended, for hubConfig's extra.
func secondTarget(name string, wh *receiver, extra string) string {
	return fmt.Sprintf(`  - name: %s
    type: webhook
    url: %s/hook
    secrets: [%s]
    headers: {X-Api-Key: %s}
    allow_private_network: true
    timeout: 2s
    retry: {schedule: [100ms], jitter: 0}
%s`, name, wh.URL, whSecret, apiKey, extra)
}

// act runs a person's action on incident id and tells the engine, as the
// API does.
func (h *hub) act(id int64, do func(*gorm.DB, int64, correlation.Action) (correlation.Change, error)) {
	h.t.Helper()
	require.NoError(h.t, h.st.Tx(context.Background(), func(tx *gorm.DB) error {
		ch, err := do(tx, id, correlation.Action{Actor: "alice"})
		if err != nil {
			return err
		}
		return h.eng.IncidentChanged(tx, ch)
	}))
}

func (h *hub) incidentID() int64 {
	h.t.Helper()
	var id int64
	require.NoError(h.t, h.st.DB.Raw("SELECT id FROM incidents ORDER BY id LIMIT 1").Scan(&id).Error)
	require.NotZero(h.t, id)
	return id
}

// waitTypes waits until r has received exactly the events want, then
// for a moment more to see that nothing else follows, and asserts it.
func waitTypes(t *testing.T, r *receiver, want ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && !slices.Equal(r.types(), want) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	require.Equal(t, want, r.types())
}

// A target with events: [incident.opened, incident.resolved] hears the
// opening and the resolve, nothing else: the acknowledge and the plain
// updates are skipped (its synced state moves past them, so the resolve
// says what changed since the skipped acknowledge). A target without the
// list hears everything.
func TestEventsFilter(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		all, few := newReceiver(t), newReceiver(t)
		yaml := hubConfig(all, nil, secondTarget("few", few, "    events: [incident.opened, incident.resolved]\n    update_interval: 0s\n"))
		yaml = strings.Replace(yaml, "routing: {default: [ops]}", "routing: {default: [ops, few]}", 1)
		h := newHub(t, dialect, yaml)
		h.start(h.eng)

		h.alert("a", "firing")
		h.drain()
		require.Eventually(t, func() bool { return len(few.got()) == 1 && len(all.got()) == 1 }, 20*time.Second, 10*time.Millisecond)
		id := h.incidentID()
		h.act(id, correlation.Acknowledge)
		waitTypes(t, all, incidenthub.EventOpened, incidenthub.EventAcknowledged)
		h.alert("b", "firing") // joins: a plain update, at most
		h.drain()
		h.alert("a", "resolved")
		h.alert("b", "resolved")
		h.drain()
		require.Eventually(t, func() bool {
			ty := all.types()
			return len(ty) > 0 && ty[len(ty)-1] == incidenthub.EventResolved
		}, 20*time.Second, 10*time.Millisecond)
		waitTypes(t, few, incidenthub.EventOpened, incidenthub.EventResolved)
		require.Equal(t, 2, few.got()[1].Incident.AlertCount)
		ty := all.types()
		require.Equal(t, []string{incidenthub.EventOpened, incidenthub.EventAcknowledged}, ty[:2], "types: %v", ty)
		require.Equal(t, incidenthub.EventResolved, ty[len(ty)-1])
		for _, d := range h.deliveries("") {
			if d.Target == "few" {
				require.Contains(t, []string{incidenthub.EventOpened, incidenthub.EventResolved}, d.Event, "no delivery row for a skipped change")
			}
		}
	})
}

// An acknowledge quickly followed by a resolve (and a reopen) reaches the
// target as each change, in order, each with the incident as it was then;
// the joins around them still collapse into those few calls. A target
// whose events: list leaves some out hears the rest, in order.
func TestTransitionsInOrder(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		all, few, late := newReceiver(t), newReceiver(t), newReceiver(t)
		yaml := hubConfig(all, nil, secondTarget("few", few, "    events: [incident.opened, incident.resolved]\n")+
			secondTarget("late", late, "    events: [incident.acknowledged, incident.resolved, incident.reopened]\n"))
		yaml = strings.Replace(yaml, "routing: {default: [ops]}", "routing: {default: [ops, few, late]}", 1)
		h := newHub(t, dialect, yaml)
		require.NoError(t, h.eng.Start(context.Background()))
		h.alert("a", "firing")
		h.drain()
		waitTypes(t, all, incidenthub.EventOpened)
		// No sync runs while the changes happen: they are all there when
		// the next one does.
		stop(t, h.eng)
		h.eng = h.engine(true)
		h.proc.Notifier = h.eng

		for i := range 20 {
			h.alert(fmt.Sprintf("b%d", i), "firing")
		}
		h.drain()
		h.act(h.incidentID(), correlation.Acknowledge)
		for i := range 20 {
			h.alert(fmt.Sprintf("c%d", i), "firing")
		}
		h.alert("a", "resolved")
		for i := range 20 {
			h.alert(fmt.Sprintf("b%d", i), "resolved")
			h.alert(fmt.Sprintf("c%d", i), "resolved")
		}
		h.drain()
		h.alert("a", "firing") // fires again within the reopen window
		h.drain()
		h.start(h.eng)

		want := []string{incidenthub.EventOpened, incidenthub.EventAcknowledged, incidenthub.EventResolved, incidenthub.EventReopened}
		waitTypes(t, all, want...)
		got := all.got()
		require.Equal(t, 1, got[0].Incident.AlertCount)
		require.Equal(t, 21, got[1].Incident.AlertCount, "the acknowledge carries the incident as it was then")
		require.Equal(t, incidenthub.IncidentAcknowledged, got[1].Incident.Status)
		require.Equal(t, 41, got[2].Incident.AlertCount)
		require.Equal(t, incidenthub.IncidentResolved, got[2].Incident.Status)
		require.Equal(t, incidenthub.IncidentOpen, got[3].Incident.Status)

		waitTypes(t, few, incidenthub.EventOpened, incidenthub.EventResolved)
		waitTypes(t, late, incidenthub.EventAcknowledged, incidenthub.EventResolved, incidenthub.EventReopened)
		// late skipped the opening: it counts as having it, so its first
		// message is diffed from it.
		first := late.got()[0]
		require.NotNil(t, first.Previous)
		require.Equal(t, 1, first.Previous.AlertCount)
		require.Equal(t, []string{incidenthub.ChangeStatus, incidenthub.ChangeAlertCount, incidenthub.ChangeFiringCount}, first.Changes)
	})
}

func stop(t *testing.T, e *delivery.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, e.Stop(ctx))
}

// silencingRouter routes like DefaultRouter and silences the alerts whose
// fingerprint starts with "quiet".
type silencingRouter struct{ processor.DefaultRouter }

func (r silencingRouter) Route(a incidenthub.Alert) (processor.Routing, error) {
	out, err := r.DefaultRouter.Route(a)
	out.Silenced = strings.HasPrefix(a.Fingerprint, "quiet")
	return out, err
}

// A change that notifies nobody (a silenced alert joining and raising the
// severity) does not reach the target because a sync runs after it for an
// earlier change (here a person's acknowledge, still queued): the sync
// brings the target to the state of the last change that notified. The
// next change that notifies carries everything since.
func TestSilencedChangeDoesNotRideAlong(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		wh := newReceiver(t)
		h := newHub(t, dialect, hubConfig(wh, nil, ""))
		h.proc.Router = silencingRouter{processor.DefaultRouter(h.cfg.Routing.Default)}
		require.NoError(t, h.eng.Start(context.Background()))
		h.alert("a", "firing")
		h.drain()
		waitTypes(t, wh, incidenthub.EventOpened)
		stop(t, h.eng) // the acknowledge's sync waits until after the silenced join
		h.eng = h.engine(true)
		h.proc.Notifier = h.eng

		id := h.incidentID()
		h.act(id, correlation.Acknowledge)
		h.insertRaw(`{"id":"q1","fingerprint":"quiet-1","status":"firing","severity":"critical","service":"checkout","alert_type":"HighLatency","title":"Checkout latency"}`)
		h.drain()
		inc, err := h.st.Incident(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, incidenthub.SeverityCritical, inc.Severity, "the silenced alert joined and raised the severity")
		require.Equal(t, 2, inc.AlertCount)

		h.start(h.eng)
		waitTypes(t, wh, incidenthub.EventOpened, incidenthub.EventAcknowledged)
		ack := wh.got()[1]
		require.Equal(t, incidenthub.SeverityHigh, ack.Incident.Severity, "the acknowledge as it was, without the silenced raise")
		require.Equal(t, 1, ack.Incident.AlertCount)

		h.act(id, correlation.Resolve)
		waitTypes(t, wh, incidenthub.EventOpened, incidenthub.EventAcknowledged, incidenthub.EventResolved)
		res := wh.got()[2]
		require.Equal(t, incidenthub.SeverityCritical, res.Incident.Severity, "the next change that notifies carries what was held back")
		require.Equal(t, 2, res.Incident.AlertCount)
	})
}

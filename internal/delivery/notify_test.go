package delivery_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
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

// settle waits until no delivery is open and nothing more arrives at the
// receivers for a moment.
func settle(t *testing.T, h *hub, rs ...*receiver) {
	t.Helper()
	count := func() int {
		n := 0
		for _, r := range rs {
			n += len(r.got())
		}
		return n
	}
	last, since := -1, time.Now()
	require.Eventually(t, func() bool {
		n := count()
		if n != last {
			last, since = n, time.Now()
			return false
		}
		open := len(h.deliveries(incidenthub.DeliveryPending)) + len(h.deliveries(incidenthub.DeliveryRetrying))
		return open == 0 && time.Since(since) > 400*time.Millisecond
	}, 30*time.Second, 20*time.Millisecond)
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
		settle(t, h, all, few)
		h.alert("b", "firing") // joins: a plain update, at most
		h.drain()
		h.alert("a", "resolved")
		h.alert("b", "resolved")
		h.drain()
		require.Eventually(t, func() bool {
			ty := few.types()
			return len(ty) > 0 && ty[len(ty)-1] == incidenthub.EventResolved
		}, 20*time.Second, 10*time.Millisecond)
		settle(t, h, all, few)

		require.Equal(t, []string{incidenthub.EventOpened, incidenthub.EventResolved}, few.types())
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

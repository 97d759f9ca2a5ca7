package delivery_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/delivery"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// reloadConfig is a config whose routing default is every target named,
// each a webhook to url (name → url).
func reloadConfig(targets ...[2]string) string {
	var names []string
	var b strings.Builder
	for _, t := range targets {
		names = append(names, t[0])
		fmt.Fprintf(&b, `  - name: %s
    type: webhook
    url: %s/hook
    secrets: [%s]
    headers: {X-Api-Key: %s}
    allow_private_network: true
    timeout: 2s
    retry: {schedule: [100ms], jitter: 0}
`, t[0], t[1], whSecret, apiKey)
	}
	return "routing: {default: [" + strings.Join(names, ", ") + "]}\ntargets:\n" + b.String()
}

// reload parses yaml and gives its targets to the engine, and its default
// route to the processor.
func (h *hub) reload(yaml string) delivery.TargetChanges {
	h.t.Helper()
	cfg, err := config.Parse("hub.yaml", []byte(yaml), func(string) string { return "" })
	require.NoError(h.t, err)
	ch, err := h.eng.Reload(context.Background(), cfg)
	require.NoError(h.t, err)
	h.proc.Router = processor.DefaultRouter(cfg.Routing.Default)
	return ch
}

// A target added by a reload receives deliveries; an unchanged one keeps
// its connector (the reload reports no change for it).
func TestReloadAddsTarget(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ops, added := newReceiver(t), newReceiver(t)
		h := newHub(t, dialect, reloadConfig([2]string{"ops", ops.URL}))
		h.start(h.eng)

		require.True(t, h.reload(reloadConfig([2]string{"ops", ops.URL})).Empty(), "same config: nothing changes")
		ch := h.reload(reloadConfig([2]string{"ops", ops.URL}, [2]string{"added", added.URL}))
		require.Equal(t, []string{"added"}, ch.Added)
		require.Empty(t, ch.Changed)
		require.Empty(t, ch.Removed)

		h.alert("a", "firing")
		h.drain()
		require.Eventually(t, func() bool { return len(added.got()) == 1 && len(ops.got()) == 1 }, 20*time.Second, 10*time.Millisecond)
		require.Equal(t, incidenthub.EventOpened, added.got()[0].Type)
		require.Contains(t, h.eng.TargetState(), "added")
	})
}

// A changed target: the attempt in flight during the reload finishes at
// the old URL; the next delivery goes to the new one.
func TestReloadChangesTargetURL(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		before, after := newReceiver(t), newReceiver(t)
		before.block = make(chan struct{})
		h := newHub(t, dialect, reloadConfig([2]string{"ops", before.URL}))
		h.start(h.eng)

		h.alert("a", "firing")
		h.drain()
		<-before.arrived // the opened delivery is being sent, held by the receiver
		ch := h.reload(reloadConfig([2]string{"ops", after.URL}))
		require.Equal(t, []string{"ops"}, ch.Changed)
		close(before.block)
		require.Eventually(t, func() bool { return len(before.got()) == 1 }, 20*time.Second, 10*time.Millisecond)
		require.Equal(t, incidenthub.EventOpened, before.got()[0].Type, "the attempt in flight finished with the old settings")

		h.alert("a", "resolved")
		h.drain()
		require.Eventually(t, func() bool { return len(after.got()) == 1 }, 20*time.Second, 10*time.Millisecond)
		require.Equal(t, incidenthub.EventResolved, after.got()[0].Type)
		require.Len(t, before.got(), 1, "nothing more went to the old URL")
		require.Eventually(t, func() bool { return len(h.deliveries(incidenthub.DeliveryDelivered)) == 2 }, 20*time.Second, 10*time.Millisecond)
	})
}

// A retrying delivery to a changed target is sent with the new settings
// on its next attempt, keeping its id and attempt count.
func TestReloadRetryingDeliveryMovesToNewURL(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		before, after := newReceiver(t), newReceiver(t)
		before.down.Store(true)
		h := newHub(t, dialect, reloadConfig([2]string{"ops", before.URL}))
		h.start(h.eng)

		h.alert("a", "firing")
		h.drain()
		require.Eventually(t, func() bool { return len(h.deliveries(incidenthub.DeliveryRetrying)) == 1 }, 20*time.Second, 10*time.Millisecond)
		h.reload(reloadConfig([2]string{"ops", after.URL}))
		require.Eventually(t, func() bool { return len(after.got()) == 1 }, 20*time.Second, 10*time.Millisecond)
		require.Eventually(t, func() bool { return len(h.deliveries(incidenthub.DeliveryDelivered)) == 1 }, 20*time.Second, 10*time.Millisecond)
		d := h.deliveries(incidenthub.DeliveryDelivered)
		require.Equal(t, d[0].MessageID, after.got()[0].ID, "the same delivery, not a new one")
		require.Greater(t, d[0].Attempts, 1)
	})
}

// A removed target's retrying delivery is marked dead with the reason;
// nothing more is sent to it, and its sync no longer counts as queued.
func TestReloadRemovesTarget(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ops, gone := newReceiver(t), newReceiver(t)
		gone.down.Store(true)
		h := newHub(t, dialect, reloadConfig([2]string{"ops", ops.URL}, [2]string{"gone", gone.URL}))
		h.start(h.eng)

		h.alert("a", "firing")
		h.drain()
		require.Eventually(t, func() bool { return len(h.deliveries(incidenthub.DeliveryRetrying)) == 1 }, 20*time.Second, 10*time.Millisecond)
		// A status change gone has still to hear (queued behind its
		// retrying delivery) is dropped with it.
		h.act(h.incidentID(), correlation.Acknowledge)
		transitions := func() int64 {
			var n int64
			require.NoError(t, h.st.DB.Table("delivery_transitions").Where("target = ?", "gone").Count(&n).Error)
			return n
		}
		require.EqualValues(t, 1, transitions())
		ch := h.reload(reloadConfig([2]string{"ops", ops.URL}))
		require.Equal(t, []string{"gone"}, ch.Removed)
		require.NotContains(t, h.eng.TargetState(), "gone")

		// (An attempt in flight at the reload records its outcome first.)
		require.Eventually(t, func() bool {
			if len(h.deliveries(incidenthub.DeliveryDead)) != 1 {
				return false
			}
			for _, d := range h.deliveries(incidenthub.DeliveryRetrying) {
				if d.Target == "gone" {
					return false
				}
			}
			return true
		}, 20*time.Second, 10*time.Millisecond)
		dead := h.deliveries(incidenthub.DeliveryDead)[0]
		require.Equal(t, "gone", dead.Target)
		require.Equal(t, delivery.RemovedByReload, dead.LastError)
		require.Nil(t, dead.NextAttemptAt)
		for _, d := range append(h.deliveries(incidenthub.DeliveryPending), h.deliveries(incidenthub.DeliveryRetrying)...) {
			require.NotEqual(t, "gone", d.Target, "no open delivery to the removed target")
		}

		// Changes after the removal reach the remaining target only, and the
		// removed one's queued job ends without sending.
		gone.mu.Lock()
		tried := gone.requests
		gone.mu.Unlock()
		h.alert("a", "resolved")
		h.drain()
		require.Eventually(t, func() bool { return len(ops.got()) == 3 }, 20*time.Second, 10*time.Millisecond)
		require.Zero(t, transitions(), "no status change left queued for the removed target")
		require.Eventually(t, func() bool {
			var queued int64
			require.NoError(t, h.st.DB.Table("delivery_syncs").Where("target = ? AND job_queued", "gone").Count(&queued).Error)
			return queued == 0
		}, 20*time.Second, 10*time.Millisecond)
		gone.mu.Lock()
		require.LessOrEqual(t, gone.requests, tried+1, "at most the attempt in flight at the reload")
		gone.mu.Unlock()
		require.Equal(t, delivery.RemovedByReload, h.deliveries(incidenthub.DeliveryDead)[0].LastError)
	})
}

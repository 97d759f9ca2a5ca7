package delivery_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/delivery"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// The resync sweep enqueues a fresh job for a pair whose River job is
// left running with nobody working it (its lease expired), and only for
// it: not while the pair's job waits to run, not while a live lease is
// held, not twice.
func TestResyncSweep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		wh := newReceiver(t)
		h := newHub(t, dialect, hubConfig(wh, nil, ""))
		e := h.engine(false) // insert-only: nothing works the jobs
		h.proc.Notifier = e
		h.alert("fp-1", "firing")
		h.drain()
		ctx := context.Background()

		var sync store.DeliverySync
		require.NoError(t, h.st.DB.Where("target = ?", "ops").Take(&sync).Error)
		require.True(t, sync.JobQueued)
		require.NotNil(t, sync.JobID, "enqueue records the pair's job")
		first := *sync.JobID
		n, err := e.Resync(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "the pair's job is waiting to run")

		// A process claimed it and died: River still says running, the
		// lease has run out.
		past := time.Now().UTC().Add(-time.Second)
		require.NoError(t, h.st.DB.Exec("UPDATE river_job SET state = 'running' WHERE id = ?", first).Error)
		require.NoError(t, h.st.DB.Model(&store.DeliverySync{}).Where("id = ?", sync.ID).
			Updates(map[string]any{"job_queued": false, "wake_at": nil, "lease_owner": first, "lease_until": past.Add(5 * time.Second)}).Error)
		n, err = e.Resync(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "its lease is still live")

		require.NoError(t, h.st.DB.Model(&store.DeliverySync{}).Where("id = ?", sync.ID).Update("lease_until", past).Error)
		n, err = e.Resync(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n, "the stuck pair gets a fresh job")
		require.NoError(t, h.st.DB.Take(&sync, sync.ID).Error)
		require.True(t, sync.JobQueued)
		require.NotEqual(t, first, *sync.JobID)
		var state string
		require.NoError(t, h.st.DB.Raw("SELECT state FROM river_job WHERE id = ?", *sync.JobID).Scan(&state).Error)
		require.Equal(t, "available", state)

		n, err = e.Resync(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "not twice: the fresh job waits to run")
	})
}

// A send that outlasts the pair's lease is not taken over (and sent
// again) by another replica: the working job's heartbeat keeps its lease
// while the target holds the request.
func TestHeartbeatKeepsLeaseDuringLongSend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		// Restored by the first cleanup registered, so the last to run:
		// after the engines below have stopped reading the timings.
		t.Cleanup(delivery.SetCatchupTimings(400*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond))
		wh := newReceiver(t)
		release := make(chan struct{})
		var once sync.Once
		free := func() { once.Do(func() { close(release) }) }
		t.Cleanup(free) // runs before the receiver's Close: a held request ends
		wh.block = release
		h := newHub(t, dialect, hubConfig(wh, nil, ""))
		h.start(h.eng)
		h.start(h.engine(true)) // a second replica, sweeping too
		h.alert("fp-1", "firing")
		h.drain()
		select {
		case <-wh.arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("no delivery reached the target")
		}
		time.Sleep(1500 * time.Millisecond) // almost 4 leases, within the target's 2s timeout
		wh.mu.Lock()
		requests := wh.requests
		wh.mu.Unlock()
		require.Equal(t, 1, requests, "nobody took the pair over while its send was in flight")
		free()
		require.Eventually(t, func() bool { return len(h.deliveries("delivered")) == 1 }, 10*time.Second, 20*time.Millisecond)
		wh.mu.Lock()
		defer wh.mu.Unlock()
		require.Equal(t, 1, wh.requests, "sent once")
	})
}

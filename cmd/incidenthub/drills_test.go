//go:build unix

package main

import (
	"flag"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/pgcluster"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// The failure drills: each runs the real binary through one fault while
// an alert storm is being sent, with senders that retry until they get a
// 202 (as Alertmanager and the other tools do), and reports what the
// issue's drills report: acked, stored, processed, incidents, deliveries,
// duplicates (a message the target acknowledged sent again), lost, and
// the catch-up time (from recovery until every incident's latest state
// is at the target and every delivery is recorded delivered). Each drill
// fails when anything acked is lost, anything is duplicated or the
// catch-up takes longer than 30 s.
//
// The README's test command runs them at the short size; the full size:
//
//	go test -v -run TestDrills ./cmd/incidenthub/ -drills.full
var drillsFull = flag.Bool("drills.full", false, "run the failure drills at full size (more alerts, longer faults)")

type drillSize struct {
	alerts   int           // sent in the storm
	services int           // the incidents they make
	fault    time.Duration // how long the database or target stays down
}

func drillSizeOf() drillSize {
	if *drillsFull {
		return drillSize{alerts: 300, services: 30, fault: 20 * time.Second}
	}
	return drillSize{alerts: 40, services: 5, fault: 3 * time.Second}
}

// storm sends size.alerts alerts, each until acked, to whichever hub
// target() returns at the time (a restarted or surviving replica).
type storm struct {
	acked   sync.Map // event id → struct{}
	n       atomic.Int64
	retries atomic.Int64
	done    chan struct{}
}

func startStorm(size drillSize, target func() *hub) *storm {
	s := &storm{done: make(chan struct{})}
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	next := atomic.Int64{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= size.alerts {
					return
				}
				svc := fmt.Sprintf("svc-%02d", i%size.services)
				body := fmt.Sprintf(`{"fingerprint": "drill-%d", "status": "firing", "severity": "high", "service": %q, "alert_type": "latency", "title": "%s slow"}`, i, svc, svc)
				for {
					code, id, err := post(client, target(), "generic", body)
					if err == nil && code == http.StatusAccepted {
						s.acked.Store(id, struct{}{})
						s.n.Add(1)
						break
					}
					s.retries.Add(1)
					time.Sleep(100 * time.Millisecond)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	go func() { wg.Wait(); close(s.done) }()
	return s
}

// processedAll reports whether every acked event is processed on h (an
// event a killed process had claimed is processed again by the next).
func (s *storm) processedAll(t *testing.T, h *hub) bool {
	all := true
	s.acked.Range(func(k, _ any) bool {
		var ev eventResponse
		if apiGet(t, h, "/api/v1/events/"+k.(string), &ev) != http.StatusOK || ev.Event.Status != "processed" {
			all = false
		}
		return all
	})
	return all
}

// caughtUp waits for every delivery and every incident's latest state at
// the target (waitCaughtUp) and every acked event processed, and returns
// the time since recovery.
func (s *storm) caughtUp(t *testing.T, h *hub, sk *sink, since time.Time, size drillSize) time.Duration {
	t.Helper()
	waitCaughtUp(t, h, sk, since, allOpen(size))
	eventually(t, "every acked event processed", func() bool { return s.processedAll(t, h) })
	took := time.Since(since)
	require.LessOrEqual(t, took, 30*time.Second, "caught up within 30 s of recovery")
	return took
}

func (s *storm) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(90 * time.Second):
		t.Fatalf("the storm was not acked within 90 s (%d acked)", s.n.Load())
	}
}

type drillReport struct {
	acked, stored, processed, incidents, deliveries, duplicates, lost int
	catchUp                                                           time.Duration
}

// report counts what the hub h and the sink s hold after the storm and
// asserts the drill's guarantees.
//
// resendOK: a kill -9 may come after the target acknowledged a message and
// before the hub recorded it; that message is sent again under its own
// webhook-id (which receivers dedup by, as Standard Webhooks asks), so the
// drills that kill a process count such re-sends without failing on them.
func (st *storm) report(t *testing.T, name string, h *hub, s *sink, size drillSize, catchUp time.Duration, resendOK bool) {
	t.Helper()
	var r drillReport
	r.catchUp = catchUp
	st.acked.Range(func(k, _ any) bool {
		r.acked++
		var ev eventResponse
		switch apiGet(t, h, "/api/v1/events/"+k.(string), &ev) {
		case http.StatusOK:
			r.stored++
			if ev.Event.Status == "processed" {
				r.processed++
			}
		case http.StatusNotFound:
			r.lost++
		}
		return true
	})
	r.incidents = len(incidentIDs(t, h))
	for _, d := range deliveriesOf(t, h) {
		if d.Status == "delivered" {
			r.deliveries++
		}
	}
	s.mu.Lock()
	for _, n := range s.acked {
		if n > 1 {
			r.duplicates++
		}
	}
	s.mu.Unlock()
	line := fmt.Sprintf("drill %-10s acked=%d stored=%d processed=%d incidents=%d deliveries=%d duplicates=%d lost=%d sender_retries=%d catch_up=%s",
		name, r.acked, r.stored, r.processed, r.incidents, r.deliveries, r.duplicates, r.lost, st.retries.Load(), catchUp.Round(100*time.Millisecond))
	t.Log(line)
	fmt.Println(line)
	require.Equal(t, size.alerts, r.acked, "every alert acked")
	require.Zero(t, r.lost, "nothing acked is lost")
	require.Equal(t, r.acked, r.stored)
	require.Equal(t, r.acked, r.processed, "every acked event processed")
	require.Equal(t, size.services, r.incidents, "the storm correlates into one incident per service")
	if !resendOK {
		require.Zero(t, r.duplicates, "no message the target acknowledged is sent again")
	}
	require.NotZero(t, r.deliveries)
}

// drillConfig is catchupConfig with a breaker that probes every second,
// so a recovered target is found at once.
func drillConfig(t *testing.T, dbPath, url string) string {
	return catchupConfigWith(t, dbPath, url, "    circuit_breaker: {failures: 5, probe_interval: 1s}\n")
}

// allOpen is every storm service with status open: the state each
// incident's last message must carry.
func allOpen(size drillSize) map[string]string {
	out := map[string]string{}
	for i := range size.services {
		out[fmt.Sprintf("svc-%02d", i)] = "open"
	}
	return out
}

func TestDrills(t *testing.T) {
	needBinary(t)
	size := drillSizeOf()

	// kill -9 mid-storm and mid-delivery: the senders retry against the
	// restarted process.
	t.Run("kill", func(t *testing.T) {
		s := newSink(t)
		s.delay = 50 * time.Millisecond
		cfg := drillConfig(t, filepath.Join(t.TempDir(), "hub.db"), s.URL)
		var cur atomic.Pointer[hub]
		cur.Store(startHub(t, cfg, ""))
		st := startStorm(size, cur.Load)
		eventually(t, "half the storm acked", func() bool { return st.n.Load() >= int64(size.alerts/2) })
		cur.Load().kill(t)
		cur.Store(startHub(t, cfg, ""))
		restarted := time.Now()
		st.wait(t)
		took := st.caughtUp(t, cur.Load(), s, restarted, size)
		st.report(t, "kill", cur.Load(), s, size, took, true)
	})

	// The target answers 503 for a while during the storm.
	t.Run("target-down", func(t *testing.T) {
		s := newSink(t)
		cfg := drillConfig(t, filepath.Join(t.TempDir(), "hub.db"), s.URL)
		h := startHub(t, cfg, "")
		s.down.Store(true)
		st := startStorm(size, func() *hub { return h })
		st.wait(t)
		time.Sleep(size.fault)
		s.down.Store(false)
		back := time.Now()
		took := st.caughtUp(t, h, s, back, size)
		st.report(t, "target-down", h, s, size, took, false)
	})

	// PostgreSQL stops mid-storm (a private cluster) and comes back; the
	// hub is not restarted.
	t.Run("db-restart", func(t *testing.T) {
		pg := pgcluster.Start(t)
		s := newSink(t)
		s.delay = 50 * time.Millisecond
		cfg := drillConfig(t, "", s.URL)
		h := startHub(t, cfg, pg.URL())
		st := startStorm(size, func() *hub { return h })
		eventually(t, "a third of the storm acked", func() bool { return st.n.Load() >= int64(size.alerts/3) })
		pg.Stop()
		time.Sleep(size.fault)
		pg.StartServer()
		back := time.Now()
		st.wait(t)
		took := st.caughtUp(t, h, s, back, size)
		st.report(t, "db-restart", h, s, size, took, false)
	})

	// Two replicas on one PostgreSQL database; one is killed mid-storm and
	// the senders fail over to the other, which finishes its work.
	t.Run("replicas", func(t *testing.T) {
		db := storetest.PostgresURL(t)
		s := newSink(t)
		s.delay = 50 * time.Millisecond
		cfg := drillConfig(t, "", s.URL)
		a, b := startHub(t, cfg, db), startHub(t, cfg, db)
		var killed atomic.Bool
		var turn atomic.Int64
		target := func() *hub {
			if killed.Load() || turn.Add(1)%2 == 0 {
				return b
			}
			return a
		}
		st := startStorm(size, target)
		eventually(t, "half the storm acked", func() bool { return st.n.Load() >= int64(size.alerts/2) })
		a.kill(t)
		killed.Store(true)
		at := time.Now()
		st.wait(t)
		took := st.caughtUp(t, b, s, at, size)
		st.report(t, "replicas", b, s, size, took, true)
	})
}

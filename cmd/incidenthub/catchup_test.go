//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/pgcluster"
)

// sink is a webhook target that dedups by webhook-id, as the Standard
// Webhooks spec asks of receivers: it counts every request per id and
// every answered (2xx) request per id, and keeps the latest state each
// incident reached it with.
type sink struct {
	*httptest.Server
	hold    atomic.Bool   // while set, requests are held unanswered until release closes
	down    atomic.Bool   // while set, requests are answered 503
	release chan struct{} // closed to let held requests go (unanswered)
	delay   time.Duration // before each answer
	mu      sync.Mutex
	got     map[string]int      // webhook-id → requests
	acked   map[string]int      // webhook-id → 2xx answers
	states  map[string][]string // incident id → status of each acked message
	held    map[int64]bool      // incidents whose delivery is held
}

func newSink(t *testing.T) *sink {
	s := &sink{release: make(chan struct{}), got: map[string]int{}, acked: map[string]int{}, states: map[string][]string{}, held: map[int64]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := r.Header.Get("webhook-id")
		var n struct {
			Incident struct {
				ID     int64  `json:"id"`
				Status string `json:"status"`
			} `json:"incident"`
		}
		_ = json.Unmarshal(body, &n)
		s.mu.Lock()
		s.got[id]++
		s.mu.Unlock()
		if s.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if s.hold.Load() {
			s.mu.Lock()
			if n.Incident.ID != 0 {
				s.held[n.Incident.ID] = true
			}
			s.mu.Unlock()
			<-s.release
			panic(http.ErrAbortHandler) // never answered: the hub died waiting
		}
		time.Sleep(s.delay)
		s.mu.Lock()
		s.acked[id]++
		if s.acked[id] == 1 && n.Incident.ID != 0 { // a receiver acts on an id once
			inc := fmt.Sprint(n.Incident.ID)
			s.states[inc] = append(s.states[inc], n.Incident.Status)
		}
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(func() {
		if t.Failed() {
			s.mu.Lock()
			t.Logf("sink: requests by webhook-id %v, acknowledged %v, held %v", s.got, s.acked, s.held)
			s.mu.Unlock()
		}
		if s.hold.Load() {
			close(s.release)
		}
		s.Close()
	})
	return s
}

func (s *sink) heldCount() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.held) }

// check asserts that no message was answered twice (a state the target
// acknowledged was never sent again).
func (s *sink) check(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, n := range s.acked {
		require.Equal(t, 1, n, "message %s acknowledged %d times: sent again after the target had it", id, n)
	}
}

type catchupDelivery struct {
	IncidentID int64  `json:"incident_id"`
	MessageID  string `json:"message_id"`
	Status     string `json:"status"`
}

func deliveriesOf(t *testing.T, h *hub) []catchupDelivery {
	var list struct {
		Deliveries []catchupDelivery `json:"deliveries"`
	}
	if apiGet(t, h, "/api/v1/deliveries?target=hook&limit=500", &list) != http.StatusOK {
		return nil
	}
	return list.Deliveries
}

// allDelivered reports whether every delivery of incidents (want of
// them, each with the given status as its latest acked state) is
// delivered and the sink acknowledged its message.
func allDelivered(t *testing.T, h *hub, s *sink, want map[string]string) bool {
	ds := deliveriesOf(t, h)
	if len(ds) == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range ds {
		if d.Status != "delivered" || s.acked[d.MessageID] == 0 {
			return false
		}
	}
	for inc, count := range want {
		st := s.states[inc]
		if len(st) == 0 || st[len(st)-1] != count {
			return false
		}
	}
	return true
}

func catchupConfig(t *testing.T, dbPath, url string) string {
	return catchupConfigWith(t, dbPath, url, "")
}

// catchupConfigWith is catchupConfig with extra lines in the target.
func catchupConfigWith(t *testing.T, dbPath, url, extra string) string {
	var b strings.Builder
	if dbPath != "" {
		fmt.Fprintf(&b, "database:\n  path: %q\n", dbPath)
	}
	fmt.Fprintf(&b, `ingest: {poll_interval: 100ms}
sources:
  - {name: generic, kind: generic, auth: {type: token, token: "${INCIDENTHUB_SOURCE_TOKEN}"}}
routing:
  default: [hook]
targets:
  - name: hook
    type: webhook
    url: %q
    secrets: [whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD]
    allow_private_network: true
    timeout: 30s
    update_interval: 0s
    retry: {schedule: [100ms], jitter: 0}
%s`, url, extra)
	cfg := filepath.Join(t.TempDir(), "incidenthub.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(b.String()), 0o600))
	return cfg
}

func catchupAlert(t *testing.T, h *hub, svc, status string) string {
	t.Helper()
	body := fmt.Sprintf(`{"fingerprint": %q, "status": %q, "severity": "high", "service": %q, "alert_type": "latency", "title": "%s down"}`, svc+"-fp", status, svc, svc)
	code, _, err := post(http.DefaultClient, h, "generic", body)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, code)
	return svc
}

// incidentIDs maps each incident's service to its id.
func incidentIDs(t *testing.T, h *hub) map[string]string {
	var list struct {
		Incidents []struct {
			ID      int64  `json:"id"`
			Service string `json:"service"`
		} `json:"incidents"`
	}
	out := map[string]string{}
	if apiGet(t, h, "/api/v1/incidents?limit=100", &list) == http.StatusOK {
		for _, i := range list.Incidents {
			out[i.Service] = fmt.Sprint(i.ID)
		}
	}
	return out
}

// waitCaughtUp waits up to 30 s from since for every delivery to be
// delivered, each incident's latest state (status by service) at the
// sink, and returns how long it took from since.
func waitCaughtUp(t *testing.T, h *hub, s *sink, since time.Time, counts map[string]string) time.Duration {
	t.Helper()
	deadline := since.Add(30 * time.Second)
	for {
		ids := incidentIDs(t, h)
		want := map[string]string{}
		for svc, n := range counts {
			if ids[svc] != "" {
				want[ids[svc]] = n
			}
		}
		if len(want) == len(counts) && allDelivered(t, h, s, want) {
			return time.Since(since)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not caught up 30s after recovery: deliveries %+v\nsink states %v\nhub output:\n%s",
				deliveriesOf(t, h), s.states, h.output.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A hub killed with SIGKILL while a webhook target holds its requests
// catches up within 30 s of its restart, without anyone moving its
// lease: every delivery ends delivered, each incident's latest state
// reaches the target, and no message the target acknowledged is sent
// again (the interrupted ones are re-sent with their own webhook-id).
func TestDeliveryCatchUpAfterKill(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbTarget) {
		s := newSink(t)
		s.hold.Store(true)
		cfg := catchupConfig(t, db.path, s.URL)
		first := startHub(t, cfg, db.url)
		services := []string{"checkout", "search", "billing"}
		for _, svc := range services {
			catchupAlert(t, first, svc, "firing")
		}
		eventually(t, "each incident's first delivery to be in flight", func() bool { return s.heldCount() == len(services) })
		first.kill(t)
		s.hold.Store(false)
		close(s.release)

		second := startHub(t, cfg, db.url)
		restarted := time.Now()
		catchupAlert(t, second, "checkout", "resolved") // a change after the restart
		took := waitCaughtUp(t, second, s, restarted, map[string]string{"checkout": "resolved", "search": "open", "billing": "open"})
		s.check(t)
		t.Logf("caught up %s after the restart", took.Round(100*time.Millisecond))
	})
}

// A PostgreSQL restart while deliveries are in flight: ingest answers 503
// with Retry-After while the database is down, and once it is back every
// delivery is delivered within 30 s, without restarting the hub and
// without sending a message the target acknowledged again.
func TestDeliveryCatchUpAfterPostgresRestart(t *testing.T) {
	needBinary(t)
	pg := pgcluster.Start(t)
	s := newSink(t)
	s.delay = 300 * time.Millisecond // deliveries are in flight when the database goes
	cfg := catchupConfig(t, "", s.URL)
	h := startHub(t, cfg, pg.URL())
	services := []string{"checkout", "search", "billing", "auth", "cart", "web"}
	for _, svc := range services {
		catchupAlert(t, h, svc, "firing")
	}
	eventually(t, "deliveries to flow", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.got) > 0 })
	pg.Stop()

	req, err := http.NewRequest(http.MethodPost, h.URL+"/hooks/generic", strings.NewReader(`{"fingerprint": "x", "status": "firing", "service": "x", "title": "x"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+sourceToken)
	start := time.Now()
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "ingest while the database is down")
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.Less(t, time.Since(start), 7*time.Second, "ingest answers within its bound")
	// Longer than River's completer retries (~7 s): a job that ended
	// during the outage stays running in River.
	time.Sleep(9 * time.Second)

	pg.StartServer()
	restarted := time.Now()
	catchupAlert(t, h, "checkout", "resolved")
	counts := map[string]string{"checkout": "resolved"}
	for _, svc := range services[1:] {
		counts[svc] = "open"
	}
	took := waitCaughtUp(t, h, s, restarted, counts)
	s.check(t)
	require.LessOrEqual(t, strings.Count(h.output.String(), "delivery resync sweep failing"), 1, "logged once per outage")
	t.Logf("caught up %s after PostgreSQL was back", took.Round(100*time.Millisecond))
	if testing.Verbose() {
		t.Logf("hub output:\n%s", h.output.String())
	}
}

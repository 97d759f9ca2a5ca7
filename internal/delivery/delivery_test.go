package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/slack/slackfake"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/delivery"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

const (
	whSecret   = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	slackToken = "xoxb-e2e-token-secret"
	apiKey     = "key-very-secret-123"
)

// receiver is a webhook endpoint that verifies every request with the
// Standard Webhooks library and keeps each message id once, in order of
// first arrival.
type receiver struct {
	*httptest.Server
	t        testing.TB
	verifier *standardwebhooks.Webhook
	down     atomic.Bool
	block    chan struct{} // when set, the first request waits on it
	arrived  chan struct{}

	mu       sync.Mutex
	seen     map[string]bool
	events   []event
	requests int
	failed   int
}

type event struct {
	ID       string                `json:"id"`
	Type     string                `json:"type"`
	Changes  []string              `json:"changes"`
	Incident incidenthub.Incident  `json:"incident"`
	Previous *incidenthub.Incident `json:"previous"`
}

func newReceiver(t testing.TB) *receiver {
	wh, err := standardwebhooks.NewWebhook(whSecret)
	require.NoError(t, err)
	r := &receiver{t: t, verifier: wh, seen: map[string]bool{}, arrived: make(chan struct{}, 1)}
	r.Server = httptest.NewServer(http.HandlerFunc(r.handle))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if err := r.verifier.Verify(body, req.Header); err != nil {
		r.t.Errorf("signature: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if req.Header.Get("X-Api-Key") != apiKey {
		r.t.Errorf("X-Api-Key header missing")
	}
	r.mu.Lock()
	r.requests++
	first := r.requests == 1
	r.mu.Unlock()
	select {
	case r.arrived <- struct{}{}:
	default:
	}
	if first && r.block != nil {
		<-r.block
	}
	if r.down.Load() {
		r.mu.Lock()
		r.failed++
		r.mu.Unlock()
		http.Error(w, `{"error":"maintenance"}`, http.StatusServiceUnavailable)
		return
	}
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil {
		r.t.Errorf("body: %v", err)
	}
	if ev.ID != req.Header.Get("webhook-id") {
		r.t.Errorf("body id %q != webhook-id %q", ev.ID, req.Header.Get("webhook-id"))
	}
	r.mu.Lock()
	if !r.seen[ev.ID] {
		r.seen[ev.ID] = true
		r.events = append(r.events, ev)
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) got() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

func (r *receiver) types() []string {
	var out []string
	for _, e := range r.got() {
		out = append(out, e.Type)
	}
	return out
}

type hub struct {
	t    testing.TB
	st   *store.Store
	url  string
	cfg  *config.Config
	proc *processor.Processor
	eng  *delivery.Engine
	seq  atomic.Int64
}

func hubConfig(wh *receiver, sl *slackfake.Server, extra string) string {
	s := "routing: {default: [ops"
	if sl != nil {
		s += ", chat"
	}
	s += "]}\ntargets:\n"
	s += fmt.Sprintf(`  - name: ops
    type: webhook
    url: %s/hook?token=abc
    secrets: [%s]
    headers: {X-Api-Key: %s}
    allow_private_network: true
    timeout: 2s
    retry: {schedule: [100ms, 200ms, 300ms], jitter: 0}
    circuit_breaker: {failures: 3, probe_interval: 200ms}
`, wh.URL, whSecret, apiKey)
	if sl != nil {
		s += fmt.Sprintf(`  - name: chat
    type: slack
    token: %s
    channel: C0INCIDENTS
    api_url: %s
    allow_private_network: true
    retry: {schedule: [100ms], jitter: 0}
    rate_limit: {per_second: 50, burst: 10}
`, slackToken, sl.APIURL())
	}
	return s + extra
}

func newHub(t testing.TB, dialect, yaml string) *hub {
	t.Helper()
	opts := storetest.Options(t, dialect)
	st, err := store.Open(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Migrate(context.Background()))
	cfg, err := config.Parse("hub.yaml", []byte(yaml), func(string) string { return "" })
	require.NoError(t, err)
	h := &hub{t: t, st: st, url: opts.URL, cfg: cfg}
	h.eng = h.engine(true)
	h.proc = processor.New(st, slog.New(slog.DiscardHandler), 2, 50*time.Millisecond)
	h.proc.Router = processor.DefaultRouter(cfg.Routing.Default)
	h.proc.Notifier = h.eng
	return h
}

func (h *hub) engine(work bool) *delivery.Engine {
	e, err := delivery.New(context.Background(), delivery.Options{Store: h.st, DatabaseURL: h.url, Config: h.cfg,
		Log: slog.New(slog.DiscardHandler), PollInterval: 50 * time.Millisecond, Work: work})
	require.NoError(h.t, err)
	return e
}

func (h *hub) start(e *delivery.Engine) {
	require.NoError(h.t, e.Start(context.Background()))
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Stop(ctx)
	})
}

// alert stores one generic event for fingerprint fp.
func (h *hub) alert(fp, status string) {
	n := h.seq.Add(1)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Millisecond)
	h.insertRaw(fmt.Sprintf(`{"id":"e%d","fingerprint":%q,"status":%q,"severity":"high","service":"checkout","alert_type":"HighLatency","title":"Checkout latency","host":"web-%d","starts_at":%q}`,
		n, fp, status, n%7, at.Format(time.RFC3339Nano)))
}

// insertRaw stores one generic event.
func (h *hub) insertRaw(body string) {
	_, _, err := h.st.InsertEvent(context.Background(), &store.Event{Source: "generic", Kind: "generic",
		ReceivedAt: time.Now().UTC(), Body: []byte(body), Headers: store.JSON[map[string]string]{V: map[string]string{}}})
	require.NoError(h.t, err)
}

func (h *hub) drain() {
	for {
		did, err := h.proc.ProcessOne(context.Background())
		require.NoError(h.t, err)
		if !did {
			return
		}
	}
}

func (h *hub) deliveries(status string) []incidenthub.Delivery {
	list, _, err := h.st.ListDeliveries(context.Background(), store.DeliveryFilter{Status: status, Limit: 500})
	require.NoError(h.t, err)
	return list
}

// A 500-alert storm gives one incident.opened webhook and one Slack
// message, a bounded number of updates, then one resolve.
func TestStorm(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		wh := newReceiver(t)
		sl := slackfake.New(slackToken)
		defer sl.Close()
		h := newHub(t, dialect, hubConfig(wh, sl, ""))
		h.start(h.eng)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go h.proc.Run(ctx)

		const storm = 500
		began := time.Now()
		for i := range storm {
			h.alert(fmt.Sprintf("fp-%d", i), "firing")
		}
		h.proc.Notify()
		require.Eventually(t, func() bool { return len(wh.got()) >= 1 && len(sl.TopLevel()) == 1 }, 60*time.Second, 20*time.Millisecond)
		for i := range storm {
			h.alert(fmt.Sprintf("fp-%d", i), "resolved")
		}
		h.proc.Notify()
		require.Eventually(t, func() bool {
			ty := wh.types()
			return len(ty) > 0 && ty[len(ty)-1] == incidenthub.EventResolved && len(sl.Replies(sl.TopLevel()[0].TS)) == 1
		}, 60*time.Second, 20*time.Millisecond)
		elapsed := time.Since(began)
		time.Sleep(300 * time.Millisecond) // anything late would show now
		// Plain updates are spaced by update_interval (default 5s), so their
		// number is bounded by the storm's length, not its size.
		bound := int(elapsed/config.DefaultUpdateInterval) + 1

		ty := wh.types()
		count := map[string]int{}
		for _, x := range ty {
			count[x]++
		}
		require.Equal(t, 1, count[incidenthub.EventOpened], "types: %v", ty)
		require.Equal(t, 1, count[incidenthub.EventResolved], "types: %v", ty)
		require.LessOrEqual(t, count[incidenthub.EventUpdated], bound, "types: %v after %s", ty, elapsed)
		t.Logf("%d alerts over %s: %d webhook requests (%v), %d Slack updates", 2*storm, elapsed.Round(time.Millisecond), len(ty), count, sl.TopLevel()[0].Updates)
		require.Equal(t, incidenthub.EventOpened, ty[0])
		require.Equal(t, storm, wh.got()[len(ty)-1].Incident.AlertCount)

		top := sl.TopLevel()
		require.Len(t, top, 1, "one Slack message for the incident")
		require.Contains(t, top[0].Text, "resolved")
		require.LessOrEqual(t, top[0].Updates, bound+1)
		require.Empty(t, h.deliveries(incidenthub.DeliveryPending))
		require.Empty(t, h.deliveries(incidenthub.DeliveryDead))
		require.Len(t, h.deliveries(incidenthub.DeliveryDelivered), len(ty)+1+top[0].Updates)
	})
}

// The receiver answers 503 for a while: every change still arrives once,
// in order, and the attempt log shows the failure window.
func TestTargetDown(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		wh := newReceiver(t)
		wh.down.Store(true)
		h := newHub(t, dialect, hubConfig(wh, nil, ""))
		h.start(h.eng)

		h.alert("a", "firing")
		h.drain()
		require.Eventually(t, func() bool { wh.mu.Lock(); defer wh.mu.Unlock(); return wh.failed >= 4 }, 20*time.Second, 10*time.Millisecond)
		h.alert("b", "firing") // joins: no notification of its own
		h.alert("a", "resolved")
		h.alert("b", "resolved")
		h.drain()
		downUntil := time.Now()
		wh.down.Store(false)

		require.Eventually(t, func() bool { return len(wh.got()) == 2 }, 20*time.Second, 10*time.Millisecond)
		time.Sleep(300 * time.Millisecond)
		require.Equal(t, []string{incidenthub.EventOpened, incidenthub.EventResolved}, wh.types(), "each change once, in order")
		require.Equal(t, 2, wh.got()[1].Incident.AlertCount)

		list := h.deliveries("")
		require.Len(t, list, 2)
		opened := list[1]
		require.Equal(t, incidenthub.EventOpened, opened.Event)
		require.Equal(t, incidenthub.DeliveryDelivered, opened.Status)
		_, atts, err := h.st.GetDelivery(context.Background(), opened.ID)
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(atts), 5)
		for i, a := range atts[:len(atts)-1] {
			require.Equal(t, http.StatusServiceUnavailable, a.ResponseStatus, "attempt %d", i+1)
			require.Equal(t, "retry", a.Outcome)
			require.NotNil(t, a.NextAttemptAt)
			require.Contains(t, a.ResponseBody, "maintenance")
			require.True(t, a.StartedAt.Before(downUntil))
			require.Equal(t, opened.MessageID, a.RequestHeaders["Webhook-Id"][0], "same idempotency id on every retry")
		}
		last := atts[len(atts)-1]
		require.Equal(t, http.StatusNoContent, last.ResponseStatus)
		require.Equal(t, "delivered", last.Outcome)
		require.Equal(t, len(atts), opened.Attempts)
		require.Equal(t, wh.got()[0].ID, opened.MessageID)
		require.Contains(t, last.URL, "token=%3Credacted%3E")
		require.NotContains(t, last.URL, "abc")
		require.Equal(t, []string{"<redacted>"}, last.RequestHeaders["X-Api-Key"])
	})
}

// Stopping the hub mid-send loses nothing: after a restart the delivery
// completes, and the receiver sees its id (once, after dedup).
func TestRestartMidDelivery(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		wh := newReceiver(t)
		wh.down.Store(true) // the in-flight request will fail when released
		wh.block = make(chan struct{})
		h := newHub(t, dialect, hubConfig(wh, nil, ""))
		require.NoError(t, h.eng.Start(context.Background()))
		h.alert("a", "firing")
		h.drain()
		<-wh.arrived // the first request is in flight, held by the receiver

		stopCtx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		stopped := make(chan error, 1)
		go func() { stopped <- h.eng.Stop(stopCtx) }()
		time.Sleep(300 * time.Millisecond)
		close(wh.block)
		require.NoError(t, <-stopped)
		cancel()
		wh.down.Store(false)
		require.Empty(t, wh.got())
		require.Len(t, h.deliveries(incidenthub.DeliveryRetrying), 1, "the interrupted attempt is recorded and rescheduled")

		h.start(h.engine(true)) // "after restart"
		require.Eventually(t, func() bool { return len(wh.got()) == 1 }, 20*time.Second, 10*time.Millisecond)
		require.Equal(t, incidenthub.EventOpened, wh.got()[0].Type)
		require.Eventually(t, func() bool { return len(h.deliveries(incidenthub.DeliveryDelivered)) == 1 }, 5*time.Second, 10*time.Millisecond)
	})
}

// Without allow_private_network the SSRF guard refuses loopback: the
// delivery is dead (retrying cannot help) and nothing reaches the server;
// the global allowlist lets it through.
func TestSSRFGuard(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		wh := newReceiver(t)
		yaml := strings.Replace(hubConfig(wh, nil, ""), "allow_private_network: true", "allow_private_network: false", 1)
		h := newHub(t, dialect, yaml)
		h.start(h.eng)
		h.alert("a", "firing")
		h.drain()
		require.Eventually(t, func() bool { return len(h.deliveries(incidenthub.DeliveryDead)) == 1 }, 10*time.Second, 10*time.Millisecond)
		d := h.deliveries(incidenthub.DeliveryDead)[0]
		require.Contains(t, d.LastError, "ssrf guard: refusing to connect to 127.0.0.1 (loopback address)")
		require.Equal(t, 1, d.Attempts)
		wh.mu.Lock()
		require.Zero(t, wh.requests)
		wh.mu.Unlock()

		h2 := newHub(t, dialect, yaml+"delivery: {ssrf_allowlist: [127.0.0.0/8]}\n")
		h2.start(h2.eng)
		h2.alert("a", "firing")
		h2.drain()
		require.Eventually(t, func() bool { return len(wh.got()) == 1 }, 10*time.Second, 10*time.Millisecond)
	})
}

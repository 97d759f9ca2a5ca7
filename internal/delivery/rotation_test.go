package delivery_test

import (
	"context"
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
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/delivery"
	"github.com/incidenthub/incidenthub/internal/keyring"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/registry"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// signed is one request as the receiver got it.
type signed struct {
	header http.Header
	body   []byte
}

// After the registry rotates a webhook target's secret, the engine signs
// with both the old and the new secret during the overlap, so a receiver on
// either verifies; after the overlap only the new one signs. Each outcome
// is recorded on the registry entry.
func TestRotatedSecretsSignDuringOverlap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		var (
			mu  sync.Mutex
			got []signed
		)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			got = append(got, signed{r.Header.Clone(), b})
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(srv.Close)
		received := func() []signed {
			mu.Lock()
			defer mu.Unlock()
			return append([]signed(nil), got...)
		}

		opts := storetest.Options(t, dialect)
		st, err := store.Open(ctx, opts)
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		require.NoError(t, st.Migrate(ctx))
		var cfg *config.Config
		cfg, err = config.Parse("hub.yaml", []byte(fmt.Sprintf(`
routing: {default: [ops]}
targets:
  - name: ops
    type: webhook
    url: %s/hook
    secrets: [%s]
    allow_private_network: true
    update_interval: 0s
    owner: {name: platform, contact: "#platform"}
    rotation: {schedule: "@monthly", overlap: 1h}
`, srv.URL, whSecret)), func(string) string { return "" })
		require.NoError(t, err)

		var clock atomic.Pointer[time.Time]
		now := time.Now().UTC()
		clock.Store(&now)
		hooks := registry.New(registry.Options{Store: st, Keys: keyring.InsecureDev(), Log: slog.New(slog.DiscardHandler),
			Now: func() time.Time { return *clock.Load() }})
		require.NoError(t, hooks.Sync(ctx, registry.FromTargets(cfg.Targets), "config"))
		_, newSecret, err := hooks.Rotate(ctx, "test", registry.Outbound, "ops", nil)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(newSecret, "whsec_"))

		eng, err := delivery.New(ctx, delivery.Options{Store: st, DatabaseURL: opts.URL, Config: cfg,
			Log: slog.New(slog.DiscardHandler), PollInterval: 50 * time.Millisecond, Work: true,
			Secrets: func(ctx context.Context, target string) ([]string, bool, error) {
				return hooks.Secrets(ctx, registry.Outbound, target)
			},
			OnResult: func(ctx context.Context, target string, err error) {
				require.NoError(t, hooks.RecordDelivery(ctx, registry.Outbound, target, err))
			},
		})
		require.NoError(t, err)
		require.NoError(t, eng.Start(ctx))
		t.Cleanup(func() {
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = eng.Stop(c)
		})
		h := &hub{t: t, st: st, cfg: cfg, eng: eng}
		h.proc = processor.New(st, slog.New(slog.DiscardHandler), 1, 50*time.Millisecond)
		h.proc.Router = processor.DefaultRouter(cfg.Routing.Default)
		h.proc.Notifier = eng

		verify := func(secret string, s signed) error {
			wh, err := standardwebhooks.NewWebhook(secret)
			require.NoError(t, err)
			return wh.Verify(s.body, s.header)
		}

		// During the overlap: two signatures; old and new receivers verify.
		h.alert("a", "firing")
		h.drain()
		require.Eventually(t, func() bool { return len(received()) == 1 }, 20*time.Second, 20*time.Millisecond)
		first := received()[0]
		require.Len(t, strings.Fields(first.header.Get("webhook-signature")), 2)
		require.NoError(t, verify(whSecret, first), "a receiver still on the old secret verifies")
		require.NoError(t, verify(newSecret, first), "a receiver already on the new secret verifies")

		// After the overlap: only the new secret signs.
		later := now.Add(2 * time.Hour)
		clock.Store(&later)
		h.alert("a", "resolved")
		h.drain()
		require.Eventually(t, func() bool { return len(received()) == 2 }, 20*time.Second, 20*time.Millisecond)
		second := received()[1]
		require.Len(t, strings.Fields(second.header.Get("webhook-signature")), 1)
		require.NoError(t, verify(newSecret, second))
		require.Error(t, verify(whSecret, second), "the old secret no longer signs")

		e, err := hooks.Get(ctx, registry.Outbound, "ops")
		require.NoError(t, err)
		require.NotNil(t, e.LastSuccessAt, "delivery outcomes reach the registry")
		require.Equal(t, "platform", e.Owner.Name)
	})
}

// A webhook target verifies with a signed registry.verify event carrying
// the current secrets: both during a rotation's overlap. Send delivers an
// operational event signed the same way; a receiver's 500 is the error.
func TestWebhookVerifyAndSendDuringOverlap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		var (
			status atomic.Int32
			mu     sync.Mutex
			got    []signed
		)
		status.Store(http.StatusNoContent)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			got = append(got, signed{r.Header.Clone(), b})
			mu.Unlock()
			w.WriteHeader(int(status.Load()))
		}))
		t.Cleanup(srv.Close)
		last := func() signed {
			mu.Lock()
			defer mu.Unlock()
			require.NotEmpty(t, got)
			return got[len(got)-1]
		}

		opts := storetest.Options(t, dialect)
		st, err := store.Open(ctx, opts)
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		require.NoError(t, st.Migrate(ctx))
		cfg, err := config.Parse("hub.yaml", []byte(fmt.Sprintf(`
targets:
  - name: ops
    type: webhook
    url: %s/hook
    secrets: [%s]
    allow_private_network: true
    rotation: {schedule: "@monthly", overlap: 1h}
  - name: tickets
    type: pagerduty
    pagerduty: {routing_key: R0123456789abcdef0123456789abcde, url: %s/pd}
    allow_private_network: true
`, srv.URL, whSecret, srv.URL)), func(string) string { return "" })
		require.NoError(t, err)
		hooks := registry.New(registry.Options{Store: st, Keys: keyring.InsecureDev(), Log: slog.New(slog.DiscardHandler)})
		require.NoError(t, hooks.Sync(ctx, registry.FromTargets(cfg.Targets), "config"))
		_, newSecret, err := hooks.Rotate(ctx, "test", registry.Outbound, "ops", nil)
		require.NoError(t, err)
		eng, err := delivery.New(ctx, delivery.Options{Store: st, DatabaseURL: opts.URL, Config: cfg,
			Log: slog.New(slog.DiscardHandler),
			Secrets: func(ctx context.Context, target string) ([]string, bool, error) {
				return hooks.Secrets(ctx, registry.Outbound, target)
			},
		})
		require.NoError(t, err)
		verify := func(secret string, s signed) error {
			wh, err := standardwebhooks.NewWebhook(secret)
			require.NoError(t, err)
			return wh.Verify(s.body, s.header)
		}

		require.NotNil(t, eng.Verifier("ops"), "webhook targets have a check")
		require.NoError(t, eng.Verify(ctx, "ops"))
		v := last()
		require.Contains(t, string(v.body), `"type":"registry.verify"`)
		require.Contains(t, string(v.body), `"target":"ops"`)
		require.Len(t, strings.Fields(v.header.Get("webhook-signature")), 2)
		require.NoError(t, verify(whSecret, v), "a receiver still on the old secret verifies")
		require.NoError(t, verify(newSecret, v), "a receiver already on the new secret verifies")

		require.NoError(t, eng.Send(ctx, "ops", &incidenthub.Event{ID: "msg_op1", Type: "registry.secret_rotated",
			Time: time.Now(), Data: map[string]any{"actor": "test"}}))
		s := last()
		require.Equal(t, "msg_op1", s.header.Get("webhook-id"))
		require.Contains(t, string(s.body), `"target":"ops"`)
		require.NoError(t, verify(newSecret, s))

		status.Store(http.StatusInternalServerError)
		require.ErrorContains(t, eng.Verify(ctx, "ops"), "500")
		require.ErrorContains(t, eng.Send(ctx, "ops", &incidenthub.Event{ID: "msg_op2", Type: "registry.secret_rotated", Time: time.Now()}), "500")

		err = eng.Send(ctx, "tickets", &incidenthub.Event{Type: "registry.secret_rotated"})
		require.Equal(t, incidenthub.EUNPROCESSABLE, incidenthub.ErrorCode(err), "%v", err)
		require.Equal(t, incidenthub.ENOTFOUND, incidenthub.ErrorCode(eng.Send(ctx, "nope", &incidenthub.Event{})))
	})
}

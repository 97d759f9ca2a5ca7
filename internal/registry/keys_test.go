package registry_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/keyring"
	"github.com/incidenthub/incidenthub/internal/registry"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

func rawKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return k
}

func ring(t *testing.T, keys ...[]byte) *keyring.Keyring {
	t.Helper()
	kr, err := keyring.New(keys...)
	require.NoError(t, err)
	return kr
}

// logBuffer is a log sink safe for concurrent writers.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// A secret sealed with a key the hub lacks (a CLI with another key
// rotated it): the hub's lookups fail with ErrUndecryptable, CheckSecrets
// names the entry, the entry is flagged failing at once (API and gauge),
// and the change is logged once however often it is seen. After a rekey
// under the hub's key it recovers, again with one log line. The CLI side
// could have told: the hub recorded which keys it holds.
func TestSecretHealthUndecryptable(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		a, b := rawKey(t), rawKey(t)
		f := newFixture(t, dialect, nil) // specs and store
		logs := &logBuffer{}
		prom := prometheus.NewRegistry()
		hub := registry.New(registry.Options{Store: f.st, Keys: ring(t, a), Now: f.clock.Now, SecretHealth: true,
			Log: slog.New(slog.NewTextHandler(logs, nil)), Metrics: prom})
		require.NoError(t, hub.Sync(ctx, f.specs, audit.ActorConfig))
		require.NoError(t, hub.Announce(ctx))
		cli := registry.New(registry.Options{Store: f.st, Keys: ring(t, b), Now: f.clock.Now})
		require.NoError(t, cli.Sync(ctx, f.specs, audit.ActorConfig))

		// The CLI can tell the hub lacks its key.
		err := cli.CheckHubsHaveKey(ctx)
		require.Error(t, err)
		require.Equal(t, incidenthub.ECONFLICT, incidenthub.ErrorCode(err))
		require.Contains(t, err.Error(), keyring.KeyID(b))
		require.Contains(t, err.Error(), "holds keys "+keyring.KeyID(a))
		require.NoError(t, registry.New(registry.Options{Store: f.st, Keys: ring(t, a, b), Now: f.clock.Now}).CheckHubsHaveKey(ctx),
			"a CLI sealing with the hub's key may go ahead")

		problems, err := hub.CheckSecrets(ctx)
		require.NoError(t, err)
		require.Empty(t, problems, "the config's secret is not stored")

		_, secret, err := cli.Rotate(ctx, "cli:alice", registry.Inbound, "am", nil)
		require.NoError(t, err)
		for range 3 {
			_, _, err = hub.Secrets(ctx, registry.Inbound, "am")
			require.ErrorIs(t, err, registry.ErrUndecryptable)
			require.NotContains(t, err.Error(), secret)
		}
		require.Equal(t, 1.0, metricSum(t, prom, "incidenthub_registry_failing"), "the gauge follows at once")
		problems, err = hub.CheckSecrets(ctx)
		require.NoError(t, err)
		require.Len(t, problems, 1)
		require.Equal(t, registry.SecretProblem{Direction: registry.Inbound, Name: "am", Error: problems[0].Error}, problems[0])
		require.Contains(t, problems[0].Error, keyring.KeyID(b))
		e, err := hub.Get(ctx, registry.Inbound, "am")
		require.NoError(t, err)
		require.True(t, e.Flags.Failing)
		require.Contains(t, strings.Join(e.Problems, "\n"), "stored secret cannot be decrypted")
		list, err := hub.List(ctx, registry.ListFilter{Failing: &e.Flags.Failing})
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.NoError(t, hub.Tick(ctx))
		require.Equal(t, 1.0, metricSum(t, prom, "incidenthub_registry_failing"))
		require.Equal(t, 1, strings.Count(logs.String(), "entry failing"), "one line per state change:\n%s", logs)
		require.NotContains(t, logs.String(), secret)

		// Fixed: re-encrypted under the hub's key (b still decrypts).
		res, err := registry.New(registry.Options{Store: f.st, Keys: ring(t, a, b), Now: f.clock.Now}).Rekey(ctx, "cli:bob")
		require.NoError(t, err)
		require.Equal(t, 1, res.Rekeyed)
		got, rotated, err := hub.Secrets(ctx, registry.Inbound, "am")
		require.NoError(t, err)
		require.True(t, rotated)
		require.Equal(t, []string{secret, configSecret}, got, "the config's secret stays valid for the overlap")
		problems, err = hub.CheckSecrets(ctx)
		require.NoError(t, err)
		require.Empty(t, problems)
		require.Equal(t, 0.0, metricSum(t, prom, "incidenthub_registry_failing"))
		e, err = hub.Get(ctx, registry.Inbound, "am")
		require.NoError(t, err)
		require.False(t, e.Flags.Failing, "%v", e.Problems)
		require.Equal(t, 1, strings.Count(logs.String(), "decrypts again"), "%s", logs)
		require.Equal(t, 1, strings.Count(logs.String(), "entry failing"))

		// A hub that stopped, or stopped heartbeating, no longer counts.
		f.clock.Add(registry.InstanceTTL + time.Second)
		require.NoError(t, cli.CheckHubsHaveKey(ctx), "a hub last seen before the TTL is gone")
		require.NoError(t, hub.Tick(ctx)) // heartbeat
		require.Error(t, cli.CheckHubsHaveKey(ctx))
		require.NoError(t, hub.Withdraw(ctx))
		require.NoError(t, cli.CheckHubsHaveKey(ctx))
	})
}

// Rekey re-encrypts every stored secret, current and previous, under the
// current key without changing them; a registry with only the new key
// then opens them, and the old key can go. Each rekeyed entry is audited.
func TestRekey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		oldKey, newKey, lost := rawKey(t), rawKey(t), rawKey(t)
		f := newFixture(t, dialect, ring(t, oldKey))
		_, first, err := f.reg.Rotate(ctx, "alice", registry.Inbound, "am", nil)
		require.NoError(t, err)
		_, second, err := f.reg.Rotate(ctx, "alice", registry.Inbound, "am", nil) // first stays valid: the overlap
		require.NoError(t, err)
		before, err := f.reg.Get(ctx, registry.Inbound, "am")
		require.NoError(t, err)
		require.Equal(t, keyring.KeyID(oldKey), before.Secret.KeyID)

		_, err = registry.New(registry.Options{Store: f.st}).Rekey(ctx, "cli:bob")
		require.Error(t, err, "no key, no rekey")

		both := registry.New(registry.Options{Store: f.st, Keys: ring(t, newKey, oldKey), Now: f.clock.Now})
		require.NoError(t, both.Sync(ctx, f.specs, audit.ActorConfig))
		res, err := both.Rekey(ctx, "cli:bob")
		require.NoError(t, err)
		require.Equal(t, registry.RekeyResult{Rekeyed: 1, Failed: []registry.SecretProblem{}, KeyID: keyring.KeyID(newKey)}, res)
		res, err = both.Rekey(ctx, "cli:bob")
		require.NoError(t, err)
		require.Equal(t, 0, res.Rekeyed)
		require.Equal(t, 1, res.Current, "a second run has nothing to do")

		only := registry.New(registry.Options{Store: f.st, Keys: ring(t, newKey), Now: f.clock.Now, SecretHealth: true})
		require.NoError(t, only.CheckKeys(ctx, f.specs), "nothing is sealed with the old key any more")
		require.NoError(t, only.Sync(ctx, f.specs, audit.ActorConfig))
		got, rotated, err := only.Secrets(ctx, registry.Inbound, "am")
		require.NoError(t, err)
		require.True(t, rotated)
		require.Equal(t, []string{second, first}, got, "the same secrets, overlap included")
		after, err := only.Get(ctx, registry.Inbound, "am")
		require.NoError(t, err)
		require.Equal(t, before.Secret.Version, after.Secret.Version, "rekey is not a rotation")
		require.Equal(t, keyring.KeyID(newKey), after.Secret.KeyID)
		require.False(t, after.Flags.Failing, "%v", after.Problems)

		recs := f.audits(t, "registry.rekey")
		require.Len(t, recs, 1)
		require.Equal(t, "cli:bob", recs[0].Actor)
		require.Equal(t, "inbound/am", recs[0].Entity)
		require.Contains(t, recs[0].Detail, "from key "+keyring.KeyID(oldKey)+" to key "+keyring.KeyID(newKey))

		// A keyring that cannot open an entry reports it and leaves it.
		res, err = registry.New(registry.Options{Store: f.st, Keys: ring(t, lost), Now: f.clock.Now}).Rekey(ctx, "cli:bob")
		require.NoError(t, err)
		require.Zero(t, res.Rekeyed)
		require.Len(t, res.Failed, 1)
		require.Equal(t, "am", res.Failed[0].Name)
		got, _, err = only.Secrets(ctx, registry.Inbound, "am")
		require.NoError(t, err)
		require.Equal(t, []string{second, first}, got)
		require.False(t, errors.Is(err, registry.ErrUndecryptable))
	})
}

// The case: the hub runs without any key (it needed none at
// start), and a CLI with a key rotates a source and a target. The CLI can
// tell (the hub holds no key); forced, both entries fail the hub's check.
func TestSecretHealthHubWithoutKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, dialect, nil)
		specs := append(f.specs, registry.Spec{Name: "hook", Direction: registry.Outbound, Kind: "webhook",
			Endpoint: "https://example.com/hook", AuthMethod: registry.AuthStandardWebhooks})
		logs := &logBuffer{}
		hub := registry.New(registry.Options{Store: f.st, Now: f.clock.Now, SecretHealth: true, Log: slog.New(slog.NewTextHandler(logs, nil))})
		require.NoError(t, hub.Sync(ctx, specs, audit.ActorConfig))
		require.NoError(t, hub.Announce(ctx))
		cli := registry.New(registry.Options{Store: f.st, Keys: ring(t, rawKey(t)), Now: f.clock.Now})
		require.NoError(t, cli.Sync(ctx, specs, audit.ActorConfig))
		err := cli.CheckHubsHaveKey(ctx)
		require.Error(t, err)
		require.Contains(t, err.Error(), "holds no key")

		_, _, err = cli.Rotate(ctx, "cli:alice", registry.Inbound, "am", nil)
		require.NoError(t, err)
		_, _, err = cli.Rotate(ctx, "cli:alice", registry.Outbound, "hook", nil)
		require.NoError(t, err)
		problems, err := hub.CheckSecrets(ctx)
		require.NoError(t, err)
		require.Len(t, problems, 2)
		require.Equal(t, []string{"inbound/am", "outbound/hook"}, []string{problems[0].Direction + "/" + problems[0].Name, problems[1].Direction + "/" + problems[1].Name})
		require.Contains(t, problems[1].Error, "no secret key is configured")
		_, _, err = hub.Secrets(ctx, registry.Outbound, "hook")
		require.ErrorIs(t, err, registry.ErrUndecryptable)
		require.Equal(t, 2, strings.Count(logs.String(), "entry failing"), "one line per entry:\n%s", logs)
	})
}

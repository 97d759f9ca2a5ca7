package registry_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
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
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// clock is an injectable, settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const configSecret = "config-secret-7e21b0d4"

func testKeys(t *testing.T) *keyring.Keyring {
	t.Helper()
	k := make([]byte, 32)
	_, err := rand.Read(k)
	require.NoError(t, err)
	kr, err := keyring.New(k)
	require.NoError(t, err)
	return kr
}

type fixture struct {
	st    *store.Store
	reg   *registry.Registry
	clock *clock
	prom  *prometheus.Registry
	specs []registry.Spec
}

func newFixture(t *testing.T, dialect string, keys *keyring.Keyring) *fixture {
	t.Helper()
	f := &fixture{
		st:    storetest.Open(t, dialect),
		clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		prom:  prometheus.NewRegistry(),
	}
	f.reg = registry.New(registry.Options{
		Store: f.st, Keys: keys, Now: f.clock.Now, MaxSecretAge: 90 * 24 * time.Hour,
		AuthFailureSpike: 3, Metrics: f.prom,
	})
	f.specs = []registry.Spec{
		{Name: "am", Direction: registry.Inbound, Kind: "alertmanager", Endpoint: "/hooks/am", AuthMethod: "token",
			Owner: registry.Owner{Name: "platform", Contact: "#platform"}, ExpectedInterval: time.Hour,
			InitialSecret: configSecret, Schedule: "@every 720h", Overlap: 24 * time.Hour},
		{Name: "open", Direction: registry.Inbound, Kind: "generic", Endpoint: "/hooks/open", AuthMethod: "none"},
	}
	require.NoError(t, f.reg.Sync(context.Background(), f.specs, audit.ActorConfig))
	return f
}

func (f *fixture) audits(t *testing.T, action string) []audit.Entry {
	t.Helper()
	got, _, err := audit.List(context.Background(), f.st.DB, audit.Filter{Action: action})
	require.NoError(t, err)
	return got
}

func TestSync(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, dialect, testKeys(t))
		require.Len(t, f.audits(t, "registry.create"), 2)

		e, err := f.reg.Get(ctx, "", "am")
		require.NoError(t, err)
		require.Equal(t, registry.ManagedByConfig, e.ManagedBy)
		require.Equal(t, "platform", e.Owner.Name)
		require.Equal(t, "/hooks/am", e.Endpoint)
		require.True(t, e.Secret.Present)
		require.Equal(t, registry.OriginConfig, e.Secret.Origin)
		require.Equal(t, 1, e.Secret.Version)
		require.Equal(t, f.clock.Now().Add(720*time.Hour), *e.Rotation.NextDueAt)

		// Syncing the same config again changes nothing and audits nothing.
		require.NoError(t, f.reg.Sync(ctx, f.specs, audit.ActorConfig))
		all, _, err := audit.List(ctx, f.st.DB, audit.Filter{})
		require.NoError(t, err)
		require.Len(t, all, 2)

		// A changed owner is an update; a source gone from config is removed.
		changed := f.specs[:1]
		changed[0].Owner = registry.Owner{Name: "payments"}
		require.NoError(t, f.reg.Sync(ctx, changed, "config-reload"))
		upd := f.audits(t, "registry.update")
		require.Len(t, upd, 1)
		require.Equal(t, "config-reload", upd[0].Actor)
		require.Contains(t, string(upd[0].Before.(json.RawMessage)), `"platform"`)
		require.Contains(t, string(upd[0].After.(json.RawMessage)), `"payments"`)
		rem := f.audits(t, "registry.remove")
		require.Len(t, rem, 1)
		require.Equal(t, "inbound/open", rem[0].Entity)
		_, err = f.reg.Get(ctx, "", "open")
		require.Equal(t, incidenthub.ENOTFOUND, incidenthub.ErrorCode(err))
		list, err := f.reg.List(ctx, registry.ListFilter{})
		require.NoError(t, err)
		require.Len(t, list, 1)

		// Back in config, it is back.
		require.NoError(t, f.reg.Sync(ctx, f.specs, audit.ActorConfig))
		_, err = f.reg.Get(ctx, registry.Inbound, "open")
		require.NoError(t, err)
	})
}

// rawSecrets returns the stored secret columns as the database holds them.
func rawSecrets(t *testing.T, st *store.Store, name string) string {
	t.Helper()
	var cur, prev *string
	row := st.SQL.QueryRow("SELECT secret_current, secret_previous FROM registry_entries WHERE name = '" + name + "'")
	require.NoError(t, row.Scan(&cur, &prev))
	out := ""
	for _, p := range []*string{cur, prev} {
		if p != nil {
			out += *p + "\n"
		}
	}
	return out
}

func TestRotateWithOverlap(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, dialect, testKeys(t))

		got, rotated, err := f.reg.Secrets(ctx, registry.Inbound, "am")
		require.NoError(t, err)
		require.False(t, rotated, "before the first rotation the config's secret rules")
		require.Equal(t, []string{configSecret}, got)

		overlap := 2 * time.Hour
		e, secret, err := f.reg.Rotate(ctx, "alice", "", "am", &overlap)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(secret, "ihs_"), secret)
		require.Equal(t, registry.OriginRegistry, e.Secret.Origin)
		require.Equal(t, 2, e.Secret.Version)
		require.Equal(t, f.clock.Now().Add(overlap), *e.Secret.PreviousValidUntil)
		require.Equal(t, f.clock.Now().Add(720*time.Hour), *e.Rotation.NextDueAt, "the schedule restarts from the rotation")

		got, rotated, err = f.reg.Secrets(ctx, registry.Inbound, "am")
		require.NoError(t, err)
		require.True(t, rotated)
		require.Equal(t, []string{secret, configSecret}, got, "during the overlap both are valid")

		// Encrypted at rest: neither secret appears in the raw columns.
		raw := rawSecrets(t, f.st, "am")
		require.NotEmpty(t, raw)
		require.NotContains(t, raw, secret)
		require.NotContains(t, raw, configSecret)
		require.Contains(t, raw, "v1:")

		f.clock.Add(overlap + time.Second)
		got, _, err = f.reg.Secrets(ctx, registry.Inbound, "am")
		require.NoError(t, err)
		require.Equal(t, []string{secret}, got, "after the overlap only the new one")

		// The scheduler records the overlap's end as a revocation.
		require.NoError(t, f.reg.Tick(ctx))
		rev := f.audits(t, "registry.revoke")
		require.Len(t, rev, 1)
		require.Equal(t, audit.ActorScheduler, rev[0].Actor)
		require.Equal(t, 1, strings.Count(rawSecrets(t, f.st, "am"), "v1:"), "the previous secret is erased")

		// A second rotation keeps the first generated secret during its overlap.
		_, secret2, err := f.reg.Rotate(ctx, "alice", registry.Inbound, "am", nil)
		require.NoError(t, err)
		got, _, err = f.reg.Secrets(ctx, registry.Inbound, "am")
		require.NoError(t, err)
		require.Equal(t, []string{secret2, secret}, got)

		rot := f.audits(t, "registry.rotate")
		require.Len(t, rot, 2)
		require.Equal(t, "alice", rot[0].Actor)
		require.Equal(t, "overlap 24h0m0s", rot[0].Detail, "the entry's configured overlap")
		for _, a := range rot {
			require.NotContains(t, string(a.Before.(json.RawMessage))+string(a.After.(json.RawMessage)), secret)
		}
		_, _, err = f.reg.Rotate(ctx, "alice", "", "open", nil)
		require.Equal(t, incidenthub.ECONFLICT, incidenthub.ErrorCode(err))
		require.ErrorContains(t, err, `auth method "none"`)
	})
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, dialect, testKeys(t))

		_, _, err := f.reg.Revoke(ctx, "alice", "", "am", true)
		require.Equal(t, incidenthub.ECONFLICT, incidenthub.ErrorCode(err), "no overlap running")

		_, s1, err := f.reg.Rotate(ctx, "alice", "", "am", nil)
		require.NoError(t, err)
		e, s, err := f.reg.Revoke(ctx, "bob", "", "am", true)
		require.NoError(t, err)
		require.Empty(t, s, "revoking the previous secret issues none")
		require.Nil(t, e.Secret.PreviousValidUntil)
		got, _, err := f.reg.Secrets(ctx, registry.Inbound, "am")
		require.NoError(t, err)
		require.Equal(t, []string{s1}, got, "the old one stopped working at once")

		// Compromised: revoke everything, get a new secret, no overlap.
		_, s2, err := f.reg.Revoke(ctx, "bob", "", "am", false)
		require.NoError(t, err)
		require.NotEmpty(t, s2)
		got, _, err = f.reg.Secrets(ctx, registry.Inbound, "am")
		require.NoError(t, err)
		require.Equal(t, []string{s2}, got)
		rev := f.audits(t, "registry.revoke")
		require.Len(t, rev, 2)
		require.Equal(t, "bob", rev[0].Actor)
		require.Contains(t, rev[0].Detail, "all secrets revoked")
	})
}

func TestNoKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		keys := testKeys(t)
		f := newFixture(t, dialect, keys)
		noKey := registry.New(registry.Options{Store: f.st})

		require.ErrorContains(t, noKey.CheckKeys(ctx, f.specs), "rotation schedule but no secret key", "rotation needs a key")
		require.NoError(t, noKey.CheckKeys(ctx, f.specs[1:]), "config secrets alone need no key")
		_, _, err := noKey.Rotate(ctx, "alice", "", "am", nil)
		require.Equal(t, incidenthub.ECONFLICT, incidenthub.ErrorCode(err))
		require.ErrorContains(t, err, keyring.EnvKey)

		_, _, err = f.reg.Rotate(ctx, "alice", "", "am", nil)
		require.NoError(t, err)
		require.ErrorContains(t, noKey.CheckKeys(ctx, nil), "holds encrypted secrets", "stored secrets need the key")
		require.NoError(t, f.reg.CheckKeys(ctx, f.specs))
		other := registry.New(registry.Options{Store: f.st, Keys: testKeys(t)})
		require.ErrorContains(t, other.CheckKeys(ctx, nil), "not configured", "a different key cannot open them")
	})
}

func TestConfigManagedRefusesEdits(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, dialect, testKeys(t))
		desc := "x"
		_, err := f.reg.Update(ctx, "alice", "", "am", registry.Fields{Description: &desc})
		require.Equal(t, incidenthub.ECONFLICT, incidenthub.ErrorCode(err))
		require.ErrorContains(t, err, "managed by the config file")
		err = f.reg.Delete(ctx, "alice", "", "am")
		require.Equal(t, incidenthub.ECONFLICT, incidenthub.ErrorCode(err))

		// API-managed entries: create (secret shown once), edit, delete.
		kind, method, owner := "webhook", "standard-webhooks", registry.Owner{Name: "billing"}
		e, secret, err := f.reg.Create(ctx, "alice", registry.Outbound, "billing-hook", registry.Fields{Kind: &kind, AuthMethod: &method, Owner: &owner})
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(secret, "whsec_"))
		require.Equal(t, registry.ManagedByAPI, e.ManagedBy)
		require.NotContains(t, rawSecrets(t, f.st, "billing-hook"), secret)
		_, _, err = f.reg.Reveal(ctx, "alice", "", "billing-hook")
		require.Equal(t, incidenthub.ECONFLICT, incidenthub.ErrorCode(err), "shown once at create, never again")

		e, err = f.reg.Update(ctx, "bob", "", "billing-hook", registry.Fields{Description: &desc})
		require.NoError(t, err)
		require.Equal(t, "x", e.Description)
		bad := "every day"
		_, err = f.reg.Update(ctx, "bob", "", "billing-hook", registry.Fields{RotationSchedule: &bad})
		require.Equal(t, incidenthub.EINVALID, incidenthub.ErrorCode(err))
		require.ErrorContains(t, err, "not a cron expression")
		_, _, err = f.reg.Create(ctx, "alice", registry.Outbound, "billing-hook", registry.Fields{Kind: &kind})
		require.Equal(t, incidenthub.ECONFLICT, incidenthub.ErrorCode(err))
		require.NoError(t, f.reg.Delete(ctx, "carol", "", "billing-hook"))
		_, err = f.reg.Get(ctx, "", "billing-hook")
		require.Equal(t, incidenthub.ENOTFOUND, incidenthub.ErrorCode(err))

		for action, n := range map[string]int{"registry.create": 3, "registry.update": 1, "registry.remove": 1} {
			require.Len(t, f.audits(t, action), n, action)
		}
	})
}

func TestFlagsAndScheduler(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, dialect, testKeys(t))
		yes := true

		e, err := f.reg.Get(ctx, "", "am")
		require.NoError(t, err)
		require.Equal(t, registry.Flags{}, e.Flags)

		// Silent longer than the expected interval (1h): stale.
		f.clock.Add(61 * time.Minute)
		e, err = f.reg.Get(ctx, "", "am")
		require.NoError(t, err)
		require.True(t, e.Flags.Stale)
		require.Contains(t, strings.Join(e.Problems, "\n"), "expected interval 1h0m0s")

		// An event resets it.
		_, _, err = f.st.InsertEvent(ctx, &store.Event{Source: "am", Kind: "alertmanager", ReceivedAt: f.clock.Now(), Body: []byte("{}")})
		require.NoError(t, err)
		e, err = f.reg.Get(ctx, "", "am")
		require.NoError(t, err)
		require.False(t, e.Flags.Stale)
		require.Equal(t, f.clock.Now(), *e.LastEventAt)
		stale, err := f.reg.List(ctx, registry.ListFilter{Stale: &yes})
		require.NoError(t, err)
		require.Empty(t, stale)

		// Past due plus the grace, without a scheduler run: overdue.
		f.clock.Add(720*time.Hour + registry.OverdueGrace)
		overdue, err := f.reg.List(ctx, registry.ListFilter{RotationOverdue: &yes})
		require.NoError(t, err)
		require.Len(t, overdue, 1)
		require.Equal(t, "am", overdue[0].Name)
		require.NoError(t, f.reg.Tick(ctx))
		// The scheduler rotated it; the metric shows no overdue rotation.
		e, err = f.reg.Get(ctx, "", "am")
		require.NoError(t, err)
		require.False(t, e.Flags.RotationOverdue)
		require.Equal(t, 2, e.Secret.Version)
		rot := f.audits(t, "registry.rotate")
		require.Len(t, rot, 1)
		require.Equal(t, audit.ActorScheduler, rot[0].Actor)
		require.Zero(t, metricSum(t, f.prom, "incidenthub_registry_rotation_overdue"))

		// Nobody saw the scheduled secret: it can be revealed once.
		_, secret, err := f.reg.Reveal(ctx, "alice", "", "am")
		require.NoError(t, err)
		got, _, err := f.reg.Secrets(ctx, registry.Inbound, "am")
		require.NoError(t, err)
		require.Equal(t, []string{secret, configSecret}, got)
		_, _, err = f.reg.Reveal(ctx, "alice", "", "am")
		require.Equal(t, incidenthub.ECONFLICT, incidenthub.ErrorCode(err))
		require.Len(t, f.audits(t, "registry.reveal"), 1)

		// Older than the 90-day policy maximum: flagged even without a schedule.
		noSched := f.specs
		noSched[0].Schedule = ""
		require.NoError(t, f.reg.Sync(ctx, noSched, audit.ActorConfig))
		f.clock.Add(91 * 24 * time.Hour)
		e, err = f.reg.Get(ctx, "", "am")
		require.NoError(t, err)
		require.True(t, e.Flags.SecretTooOld)
		require.True(t, e.Flags.RotationOverdue)
		require.NoError(t, f.reg.Tick(ctx))
		require.Equal(t, 1.0, metricSum(t, f.prom, "incidenthub_registry_rotation_overdue"))
	})
}

// metricSum adds up every series of the metric called name.
func metricSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return sum
}

type verifier struct{ err error }

func (v verifier) Verify(context.Context) error { return v.err }

func TestVerify(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, dialect, testKeys(t))
		e, v, err := f.reg.Verify(ctx, "alice", "", "am")
		require.NoError(t, err)
		require.True(t, v.OK)
		require.Equal(t, f.clock.Now(), *e.LastVerifiedAt)

		// An outbound entry verifies through its Verifier.
		specs := append(f.specs, registry.Spec{Name: "jira", Direction: registry.Outbound, Kind: "jira", AuthMethod: "api-token",
			Verifier: verifier{errors.New("401 from Jira: token expired")}})
		require.NoError(t, f.reg.Sync(ctx, specs, audit.ActorConfig))
		e, v, err = f.reg.Verify(ctx, "alice", "", "jira")
		require.NoError(t, err)
		require.False(t, v.OK)
		require.Equal(t, "401 from Jira: token expired", v.Error)
		require.True(t, e.Flags.Failing)
		yes := true
		failing, err := f.reg.List(ctx, registry.ListFilter{Failing: &yes})
		require.NoError(t, err)
		require.Len(t, failing, 1)
		require.Equal(t, "jira", failing[0].Name)
		ver := f.audits(t, "registry.verify")
		require.Len(t, ver, 2)
		require.Contains(t, ver[0].Detail, "token expired")

		_, _, err = f.reg.Rotate(ctx, "alice", "", "jira", nil)
		require.ErrorContains(t, err, "rotate it at the provider")

		require.NoError(t, f.reg.RecordDelivery(ctx, registry.Outbound, "jira", nil))
		require.NoError(t, f.reg.RecordDelivery(ctx, registry.Outbound, "jira", errors.New("HTTP 500")))
		e, err = f.reg.Get(ctx, "", "jira")
		require.NoError(t, err)
		require.Equal(t, "HTTP 500", e.LastFailure)
	})
}

func TestAuthFailures(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, dialect, testKeys(t))
		for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.1", "192.0.2.3"} {
			f.reg.AuthFailed(ctx, "am", ip)
		}
		e, err := f.reg.Get(ctx, "", "am")
		require.NoError(t, err)
		require.EqualValues(t, 4, e.AuthFailures.Count)
		require.Equal(t, []string{"192.0.2.3", "192.0.2.1", "192.0.2.2"}, e.AuthFailures.LastIPs)
		require.True(t, e.Flags.Failing)
		spikes := f.audits(t, "inbound.auth_failure_spike")
		require.Len(t, spikes, 1, "one operational event per window")
		require.Equal(t, "inbound/am", spikes[0].Entity)
		require.Contains(t, spikes[0].Detail, "192.0.2.1")
		require.Equal(t, 4.0, metricSum(t, f.prom, "incidenthub_inbound_auth_failures_total"))
		require.Equal(t, 1.0, metricSum(t, f.prom, "incidenthub_inbound_auth_failure_spikes_total"))
	})
}

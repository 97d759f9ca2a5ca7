package registry_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/registry"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/internal/verify"
)

// The new inbound auth types reach the registry with their own secret as
// the initial one; Sentry's and PagerDuty's secrets, which the vendor
// issues, cannot be generated but can be replaced with the vendor's new
// one (RotateTo), keeping the old one valid for the overlap.
func TestVendorIssuedSecrets(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, dialect, testKeys(t))
		var (
			mu      sync.Mutex
			notices []registry.Notice
		)
		f.reg.SetNotify(func(_ context.Context, n registry.Notice) { mu.Lock(); notices = append(notices, n); mu.Unlock() })
		cfg, err := config.Parse("c.yaml", []byte(`
sources:
  - {name: sentry, kind: generic, auth: {type: sentry, secret: sentry-client-secret-1}}
  - {name: pd, kind: generic, auth: {type: pagerduty, secret: pd-signing-secret-1}}
  - {name: sw, kind: generic, auth: {type: standard-webhooks, secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}
  - {name: grafana, kind: generic, auth: {type: basic, username: grafana, password: basic-pw-1}}
  - {name: open, kind: generic, auth: {type: none}}
`), func(string) string { return "" })
		require.NoError(t, err)
		require.NoError(t, f.reg.Sync(ctx, registry.FromSources(cfg.Sources), audit.ActorConfig))

		for name, want := range map[string]string{"sentry": "sentry-client-secret-1", "pd": "pd-signing-secret-1",
			"sw": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "grafana": "basic-pw-1"} {
			got, rotated, err := f.reg.Secrets(ctx, registry.Inbound, name)
			require.NoError(t, err)
			require.False(t, rotated)
			require.Equal(t, []string{want}, got, name)
		}

		// The hub cannot make Sentry or PagerDuty use a secret of its own.
		for _, name := range []string{"sentry", "pd"} {
			_, _, err := f.reg.Rotate(ctx, "alice", registry.Inbound, name, nil)
			require.Equal(t, incidenthub.ECONFLICT, incidenthub.ErrorCode(err), name)
			require.ErrorContains(t, err, "the vendor issues it")
			require.ErrorContains(t, err, "--secret-file")
			_, _, err = f.reg.Revoke(ctx, "alice", registry.Inbound, name, false)
			require.ErrorContains(t, err, "the vendor issues it", "revoking all would need a generated secret too")
		}

		// Sentry rotated its client secret: the admin hands the new one over.
		overlap := time.Hour
		e, err := f.reg.RotateTo(ctx, "alice", registry.Inbound, "sentry", "sentry-client-secret-2", &overlap)
		require.NoError(t, err)
		require.Equal(t, registry.OriginRegistry, e.Secret.Origin)
		require.Equal(t, 2, e.Secret.Version)
		got, rotated, err := f.reg.Secrets(ctx, registry.Inbound, "sentry")
		require.NoError(t, err)
		require.True(t, rotated)
		require.Equal(t, []string{"sentry-client-secret-2", "sentry-client-secret-1"}, got, "both during the overlap")
		require.NotContains(t, rawSecrets(t, f.st, "sentry"), "sentry-client-secret", "encrypted at rest")
		_, _, err = f.reg.Reveal(ctx, "bob", registry.Inbound, "sentry")
		require.Equal(t, incidenthub.ECONFLICT, incidenthub.ErrorCode(err), "a supplied secret is not revealed: its supplier has it")
		rot := f.audits(t, "registry.rotate")
		require.NotEmpty(t, rot)
		require.Contains(t, rot[0].Detail, "supplied by alice")
		mu.Lock()
		require.Len(t, notices, 1)
		require.Contains(t, notices[0].Instructions, "issued by the sender")
		require.NotContains(t, notices[0].Instructions, "sentry-client-secret")
		mu.Unlock()

		f.clock.Add(overlap + time.Second)
		got, _, err = f.reg.Secrets(ctx, registry.Inbound, "sentry")
		require.NoError(t, err)
		require.Equal(t, []string{"sentry-client-secret-2"}, got)

		// What a supplied secret must look like.
		for _, tc := range []struct{ name, secret, want string }{
			{"pd", "", "empty"},
			{"pd", "pd-signing-secret-2\n", "white space"},
			{"pd", strings.Repeat("x", 4097), "at most 4096"},
			{"sw", "not-a-whsec", `must start with "whsec_"`},
			{"open", "x", "no secret to rotate"},
		} {
			_, err := f.reg.RotateTo(ctx, "alice", registry.Inbound, tc.name, tc.secret, nil)
			require.ErrorContains(t, err, tc.want, tc.name)
		}

		// A Standard Webhooks secret the hub generates is one senders accept,
		// and a Basic password rotates like a token.
		_, secret, err := f.reg.Rotate(ctx, "alice", registry.Inbound, "sw", nil)
		require.NoError(t, err)
		_, err = verify.ParseWebhookSecret(secret)
		require.NoError(t, err, secret)
		_, secret, err = f.reg.Rotate(ctx, "alice", registry.Inbound, "grafana", nil)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(secret, "ihs_"), secret)
		got, _, err = f.reg.Secrets(ctx, registry.Inbound, "grafana")
		require.NoError(t, err)
		require.Equal(t, []string{secret, "basic-pw-1"}, got)
	})
}

// An API-created entry may schedule rotation only for a secret the hub
// generates.
func TestScheduleNeedsGeneratedSecret(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		f := newFixture(t, dialect, testKeys(t))
		kind, method, schedule := "generic", config.AuthSentry, "@monthly"
		_, _, err := f.reg.Create(context.Background(), "alice", registry.Inbound, "sentry-api",
			registry.Fields{Kind: &kind, AuthMethod: &method, RotationSchedule: &schedule})
		require.Equal(t, incidenthub.EINVALID, incidenthub.ErrorCode(err))
		require.ErrorContains(t, err, `cannot generate a "sentry" secret`)
	})
}

// The Slack app's signing secret is an inbound entry (slack-app): Slack
// issues it, so the hub refuses to generate one, takes Slack's new one
// from an admin and accepts both during the overlap; encrypted at rest,
// audited.
func TestSlackSigningSecret(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, dialect, testKeys(t))
		cfg, err := config.Parse("c.yaml", []byte(`
slack:
  signing_secret: slack-signing-secret-1
  users: [{id: U0ALICE01, role: operator}]
  owner: {name: sre, contact: "#sre"}
`), func(string) string { return "" })
		require.NoError(t, err)
		specs := registry.FromSlack(cfg.Slack)
		require.Len(t, specs, 1)
		require.NoError(t, f.reg.Sync(ctx, append(f.specs, specs...), audit.ActorConfig))

		e, err := f.reg.Get(ctx, registry.Inbound, config.SlackRegistryName)
		require.NoError(t, err)
		require.Equal(t, registry.SlackKind, e.Kind)
		require.Equal(t, "/slack/interactions", e.Endpoint)
		require.Equal(t, config.AuthSlack, e.AuthMethod)
		require.Equal(t, "sre", e.Owner.Name)
		require.Contains(t, e.Description, "/incident command")
		got, rotated, err := f.reg.Secrets(ctx, registry.Inbound, config.SlackRegistryName)
		require.NoError(t, err)
		require.False(t, rotated)
		require.Equal(t, []string{"slack-signing-secret-1"}, got)

		_, _, err = f.reg.Rotate(ctx, "alice", registry.Inbound, config.SlackRegistryName, nil)
		require.Equal(t, incidenthub.ECONFLICT, incidenthub.ErrorCode(err))
		require.ErrorContains(t, err, "Signing Secret → Regenerate")
		require.ErrorContains(t, err, "--secret-file")

		overlap := time.Hour
		_, err = f.reg.RotateTo(ctx, "alice", registry.Inbound, config.SlackRegistryName, "slack-signing-secret-2", &overlap)
		require.NoError(t, err)
		got, rotated, err = f.reg.Secrets(ctx, registry.Inbound, config.SlackRegistryName)
		require.NoError(t, err)
		require.True(t, rotated)
		require.Equal(t, []string{"slack-signing-secret-2", "slack-signing-secret-1"}, got, "both during the overlap")
		require.NotContains(t, rawSecrets(t, f.st, config.SlackRegistryName), "slack-signing-secret", "encrypted at rest")
		rot := f.audits(t, "registry.rotate")
		require.NotEmpty(t, rot)
		require.Equal(t, "inbound/"+config.SlackRegistryName, rot[0].Entity)
		f.clock.Add(overlap + time.Second)
		got, _, err = f.reg.Secrets(ctx, registry.Inbound, config.SlackRegistryName)
		require.NoError(t, err)
		require.Equal(t, []string{"slack-signing-secret-2"}, got)

		// Interactivity turned off: the entry is removed.
		require.Empty(t, registry.FromSlack(config.Slack{}))
		require.NoError(t, f.reg.Sync(ctx, f.specs, audit.ActorConfig))
		_, err = f.reg.Get(ctx, registry.Inbound, config.SlackRegistryName)
		require.Equal(t, incidenthub.ENOTFOUND, incidenthub.ErrorCode(err))
	})
}

package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRegistryFields(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("c.yaml", []byte(`
registry:
  secret_key_file: /etc/incidenthub/keys
  max_secret_age: 2160h
sources:
  - name: am
    kind: alertmanager
    auth: {type: token, token: t}
    owner: {name: platform-team, contact: "#platform-oncall"}
    description: production Alertmanager
    events: [alert.firing, alert.resolved]
    expected_interval: 1h
    rotation: {schedule: "@monthly"}
`), env(nil))
	require.NoError(t, err)
	s := cfg.Sources[0]
	require.Equal(t, "platform-team", s.Owner.Name)
	require.Equal(t, "#platform-oncall", s.Owner.Contact)
	require.Equal(t, []string{"alert.firing", "alert.resolved"}, s.Events)
	require.Equal(t, time.Hour, s.ExpectedInterval.Std())
	require.Equal(t, DefaultRotationOverlap, s.Rotation.Overlap.Std(), "overlap defaults with a schedule")
	require.Equal(t, "/etc/incidenthub/keys", cfg.Registry.SecretKeyFile)
	require.Equal(t, 2160*time.Hour, cfg.Registry.MaxSecretAge.Std())
	require.Equal(t, DefaultAuthFailureSpike, cfg.Registry.AuthFailureSpike)
}

func TestRegistryNotifyTarget(t *testing.T) {
	t.Parallel()
	for _, target := range []string{
		"{name: owners, type: webhook, url: https://hooks.example.com/owners}",
		"{name: owners, type: slack, token: xoxb-1, channel: C0OWNERS}",
	} {
		cfg, err := Parse("c.yaml", []byte("registry: {notify_target: owners}\ntargets:\n  - "+target+"\n"), env(nil))
		require.NoError(t, err, target)
		require.Equal(t, "owners", cfg.Registry.NotifyTarget)
	}
}

func TestRegistryProblems(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, yaml, want string }{
		{"bad cron", "sources:\n  - name: a\n    kind: generic\n    auth: {type: token, token: t}\n    rotation:\n      schedule: every tuesday\n",
			`c.yaml:6:7: sources[0].rotation.schedule: "every tuesday" is not a cron expression`},
		{"rotation without secret", "sources:\n  - name: a\n    kind: generic\n    auth: {type: none}\n    rotation: {schedule: \"@daily\"}\n",
			`c.yaml:5:5: sources[0].rotation: rotation needs a secret`},
		{"overlap without schedule", "sources:\n  - name: a\n    kind: generic\n    auth: {type: token, token: t}\n    rotation: {overlap: 1h}\n",
			`sources[0].rotation.overlap: needs rotation.schedule`},
		{"unknown owner key", "sources:\n  - name: a\n    kind: generic\n    auth: {type: none}\n    owner: {team: x}\n",
			`c.yaml:5:13: sources[0].owner.team: unknown key (known keys: contact, name)`},
		{"notify target unknown", "registry:\n  notify_target: owners\n",
			`c.yaml:2:3: registry.notify_target: no target named "owners"`},
		{"notify target of the wrong type", "registry:\n  notify_target: pd\ntargets:\n  - name: pd\n    type: pagerduty\n    pagerduty: {routing_key: R0123456789abcdef0123456789abcde}\n",
			`c.yaml:2:3: registry.notify_target: target "pd" is of type pagerduty; owner notices go to a webhook or slack target`},
		{"negative max age", "registry:\n  max_secret_age: -1h\n", `c.yaml:2:3: registry.max_secret_age: must be positive`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("c.yaml", []byte(tc.yaml), env(nil))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

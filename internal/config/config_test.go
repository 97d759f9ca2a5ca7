package config

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/incidenthub/incidenthub/mappings"
)

var update = flag.Bool("update", false, "rewrite golden files")

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadQuickstart(t *testing.T) {
	t.Parallel()
	cfg, err := Load("../../examples/quickstart.yaml", env(map[string]string{"INCIDENTHUB_SOURCE_TOKEN": "s3cr3t-token"}))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", cfg.Listen)
	require.Equal(t, "incidenthub.db", cfg.Database.Path)
	// One source per built-in kind.
	kinds := map[string]bool{}
	for _, s := range cfg.Sources {
		kinds[s.Kind] = true
	}
	require.Len(t, cfg.Sources, len(mappings.Kinds()))
	for _, k := range mappings.Kinds() {
		require.True(t, kinds[k], "the quickstart has no source of kind %s", k)
	}
	src, ok := cfg.Source("datadog")
	require.True(t, ok)
	require.Equal(t, "s3cr3t-token", src.Auth.Token.Value())
	require.Equal(t, int64(DefaultMaxBodyBytes), src.MaxBodyBytes)
	require.True(t, cfg.Ingest.Processing())
}

// Every problem in a file is reported at once, each with file:line:column
// and the key path; the golden files are the exact text users see:
//   - bad-many: the config's own keys, types, env references and values;
//   - bad-auth: every auth type's missing, malformed and unused keys;
//   - bad-targets: targets, including each connector's own validation;
//   - bad-connectors: the jira, servicenow, statuspage and pagerduty blocks
//     (unknown keys, blocks on the wrong type, outbound mapping problems at
//     the mapping file's own position);
//   - bad-mappings: a mapping file's problems at its own file:line:column,
//     after the config file's; an unreadable path at its mappings[i] entry.
func TestProblemsGolden(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"bad-many", "bad-auth", "bad-targets", "bad-connectors", "bad-mappings"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Load("testdata/"+name+".yaml", env(nil))
			require.Error(t, err)
			got := err.Error() + "\n"
			golden := "testdata/" + name + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			require.Equal(t, string(want), got)
		})
	}
}

func TestProblems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yaml string
		env        map[string]string
		want       []string
	}{
		{"unknown top-level key", "listne: x\n", nil, []string{`c.yaml:1:1: listne: unknown key`}},
		{"unknown nested key", "sources:\n  - name: a\n    kind: generic\n    auth: {type: none}\n    secret: x\n", nil,
			[]string{`c.yaml:5:5: sources[0].secret: unknown key`}},
		{"missing env", "database:\n  url: ${DB_URL}\n", nil, []string{`c.yaml:2:8: database.url: environment variable DB_URL is not set`}},
		{"env default", "database:\n  url: ${DB_URL:-postgres://x}\n", nil, nil},
		{"bad type", "ingest:\n  workers: many\n", nil, []string{`c.yaml:2:3: ingest.workers: cannot unmarshal !!str `}},
		{"bad duration", "ingest:\n  poll_interval: 5 minutes\n", nil, []string{`c.yaml:2:3: ingest.poll_interval: invalid duration "5 minutes"`}},
		{"duplicate key", "listen: a\nlisten: b\n", nil, []string{`c.yaml`}},
		{"yaml syntax", "sources: [\n", nil, []string{`c.yaml:`}},
		{"bad trusted proxy", "trusted_proxies: [nope]\n", nil, []string{`c.yaml:1:19: trusted_proxies[0]: "nope" is not an IP address`}},
		{"hmac needs header", "sources:\n  - name: a\n    kind: generic\n    auth: {type: hmac, secret: x}\n", nil,
			[]string{`sources[0].auth.header: required for auth type hmac`}},
		{"empty file", "", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("c.yaml", []byte(tc.yaml), env(tc.env))
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

// A secret never leaves the process through fmt, JSON, YAML or slog.
func TestSecretRedaction(t *testing.T) {
	t.Parallel()
	const tok = "hunter2-very-secret"
	cfg, err := Parse("c.yaml", []byte("database:\n  url: postgres://u:${PW}@db/x\nsources:\n  - {name: a, kind: generic, auth: {type: token, token: \"${TOK}\"}}\n"),
		env(map[string]string{"TOK": tok, "PW": "pw-secret"}))
	require.NoError(t, err)
	require.Equal(t, tok, cfg.Sources[0].Auth.Token.Value())

	var sb strings.Builder
	fmt.Fprintf(&sb, "%v %+v %#v %s\n", cfg, cfg, cfg, cfg.Sources[0].Auth.Token)
	j, err := json.Marshal(cfg)
	require.NoError(t, err)
	sb.Write(j)
	y, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	sb.Write(y)
	slog.New(slog.NewJSONHandler(&sb, nil)).Info("cfg", "cfg", cfg, "token", cfg.Sources[0].Auth.Token)
	out := sb.String()
	require.NotContains(t, out, tok)
	require.NotContains(t, out, "pw-secret")
	require.Contains(t, out, "<secret>")
}

func TestEnvValueIsNotReparsed(t *testing.T) {
	t.Parallel()
	// A value with YAML syntax in it stays one string: substitution works
	// on parsed scalars, not on the file text.
	cfg, err := Parse("c.yaml", []byte("sources:\n  - {name: a, kind: generic, auth: {type: token, token: \"${TOK}\"}}\n"),
		env(map[string]string{"TOK": "a: b\n- c #d"}))
	require.NoError(t, err)
	require.Equal(t, "a: b\n- c #d", cfg.Sources[0].Auth.Token.Value())
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), env(nil))
	require.ErrorContains(t, err, "nope.yaml")
}

func TestTargets(t *testing.T) {
	t.Parallel()
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	cfg, err := Parse("c.yaml", []byte(`
routing: {default: [ops, chat]}
delivery: {ssrf_allowlist: [10.1.0.0/16]}
targets:
  - name: ops
    type: webhook
    url: https://hooks.example.com/incidents
    secrets: ["${WH}"]
    headers: {X-Api-Key: "${KEY}"}
  - name: chat
    type: slack
    token: "${SLACK}"
    channel: C0123
    retry: {schedule: [1s, 2s], max_age: 1h}
    rate_limit: {per_second: 2}
`), env(map[string]string{"WH": secret, "KEY": "key-123", "SLACK": "xoxb-slack-secret"}))
	require.NoError(t, err)
	require.True(t, cfg.HasTarget("ops"))
	require.False(t, cfg.HasTarget("nope"))
	ops, _ := cfg.Target("ops")
	require.Equal(t, DefaultTargetTimeout, ops.Timeout.Std())
	require.Equal(t, DefaultRetrySchedule, ops.Retry.RetrySchedule())
	require.Equal(t, DefaultRetryMaxAge, ops.Retry.MaxAge.Std())
	require.Equal(t, DefaultBreakerFailures, ops.CircuitBreaker.Failures)
	require.Zero(t, ops.RateLimit.PerSecond, "webhooks are not rate limited by default")
	require.Equal(t, secret, ops.WebhookConfig().Secrets[0])
	require.ElementsMatch(t, []string{secret, "key-123"}, ops.SecretValues())
	chat, _ := cfg.Target("chat")
	require.Equal(t, []time.Duration{time.Second, 2 * time.Second}, chat.Retry.RetrySchedule())
	require.Equal(t, RateLimit{PerSecond: 2, Burst: 1}, chat.RateLimit)
	require.Equal(t, "https://slack.com/api/", chat.SlackConfig(cfg.Delivery).APIURL)
	require.Len(t, cfg.Delivery.AllowedPrefixes, 1)

	var sb strings.Builder
	fmt.Fprintf(&sb, "%v %+v", cfg, cfg)
	j, _ := json.Marshal(cfg)
	sb.Write(j)
	require.NotContains(t, sb.String(), "xoxb-slack-secret")
	require.NotContains(t, sb.String(), secret)
	require.NotContains(t, sb.String(), "key-123")
}

func TestConnectorTargets(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{"JIRA": "jira-api-token-secret", "SNOW": "snow-password-secret",
		"SP": "statuspage-key-secret", "PD": "R0ABCDEF0123456789ABCDEF01234567"}
	cfg, err := Parse("testdata/c.yaml", []byte(`
targets:
  - name: tickets
    type: jira
    jira: {base_url: "https://example.atlassian.net", email: hub@example.com, api_token: "${JIRA}", project: OPS}
    mapping: outbound/jira.yaml
    vars: {team: sre}
  - name: snow
    type: servicenow
    servicenow: {instance_url: "https://example.service-now.com", username: hub, password: "${SNOW}", assignment_group: g1}
  - name: status
    type: statuspage
    statuspage:
      api_key: "${SP}"
      page_id: kctbh9vrtdwd
      services: {checkout: {name: Checkout, components: [k3vrbyjh4c8x]}}
  - name: pager
    type: pagerduty
    pagerduty: {routing_key: "${PD}"}
`), env(secrets))
	require.NoError(t, err)
	tickets, _ := cfg.Target("tickets")
	require.Equal(t, "OPS", tickets.Jira.Project)
	require.Equal(t, "jira-api-token-secret", tickets.Jira.APIToken.Value())
	require.NotNil(t, tickets.Outbound, "the mapping is loaded, relative to the config file")
	require.Equal(t, "jira-fields", tickets.Outbound.Name)
	pager, _ := cfg.Target("pager")
	require.Equal(t, []string{secrets["PD"]}, pager.SecretValues())
	snow, _ := cfg.Target("snow")
	require.Equal(t, []string{secrets["SNOW"]}, snow.SecretValues())

	var sb strings.Builder
	fmt.Fprintf(&sb, "%v %+v %#v", cfg, cfg, cfg)
	j, err := json.Marshal(cfg)
	require.NoError(t, err)
	sb.Write(j)
	y, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	sb.Write(y)
	slog.New(slog.NewJSONHandler(&sb, nil)).Info("cfg", "cfg", cfg)
	for _, s := range secrets {
		require.NotContains(t, sb.String(), s)
	}
}

// The example outbound mappings for connectors load as target mappings.
func TestExampleConnectorMappings(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("../../examples/hub.yaml", []byte(`
targets:
  - name: tickets
    type: jira
    jira: {base_url: "https://example.atlassian.net", email: hub@example.com, api_token: t0k3n, project: OPS}
    mapping: mappings/outbound/jira-fields.yaml
    vars: {team: sre}
  - name: status
    type: statuspage
    statuspage: {api_key: k3y, page_id: kctbh9vrtdwd, services: {checkout: {name: Checkout, components: [k3vrbyjh4c8x]}}}
    mapping: mappings/outbound/statuspage-public.yaml
    vars: {public_name: Checkout}
`), env(nil))
	require.NoError(t, err)
	for _, tg := range cfg.Targets {
		require.NotNil(t, tg.Outbound, tg.Name)
	}
}

// Every auth type's valid block parses, and the secret the registry and
// the verifiers use is the type's own key.
func TestSourceAuthTypes(t *testing.T) {
	t.Parallel()
	const whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	cfg, err := Parse("c.yaml", []byte(`
sources:
  - {name: open, kind: generic, auth: {type: none}}
  - {name: tok, kind: generic, auth: {type: token, token: t0k, query_param: token}}
  - {name: grafana, kind: generic, auth: {type: basic, username: grafana, password: "${PW}"}}
  - {name: gh, kind: generic, auth: {type: hmac, secret: h, header: X-Hub-Signature-256, prefix: "sha256="}}
  - {name: sentry, kind: generic, auth: {type: sentry, secret: "${SENTRY}"}}
  - {name: sentry-slow, kind: generic, auth: {type: sentry, secret: s, tolerance: 15m}}
  - {name: pd, kind: generic, auth: {type: pagerduty, secret: p}}
  - name: sw
    kind: generic
    auth: {type: standard-webhooks, secret: "${WHSEC}", tolerance: 0s}
    rotation: {schedule: "@monthly"}
  - {name: basic-rotated, kind: generic, auth: {type: basic, username: u, password: p}, rotation: {schedule: "@weekly"}}
`), env(map[string]string{"PW": "pw-secret", "SENTRY": "sentry-secret", "WHSEC": whsec}))
	require.NoError(t, err)
	want := map[string]struct {
		secret string
		window time.Duration
	}{
		"open": {"", DefaultTolerance}, "tok": {"t0k", DefaultTolerance}, "grafana": {"pw-secret", DefaultTolerance},
		"gh": {"h", DefaultTolerance}, "sentry": {"sentry-secret", DefaultTolerance}, "sentry-slow": {"s", 15 * time.Minute},
		"pd": {"p", DefaultTolerance}, "sw": {whsec, 0}, "basic-rotated": {"p", DefaultTolerance},
	}
	for name, w := range want {
		src, ok := cfg.Source(name)
		require.True(t, ok, name)
		require.Equal(t, w.secret, src.Auth.SecretValue(), name)
		require.Equal(t, w.window, src.Auth.ReplayWindow(), name)
	}
	sentry, _ := cfg.Source("sentry")
	require.True(t, sentry.Auth.VendorIssued())
	sw, _ := cfg.Source("sw")
	require.False(t, sw.Auth.VendorIssued())
	require.Equal(t, DefaultMaxDepth, cfg.Ingest.MaxDepth)

	var sb strings.Builder
	fmt.Fprintf(&sb, "%v %+v %#v", cfg, cfg, cfg)
	j, err := json.Marshal(cfg)
	require.NoError(t, err)
	sb.Write(j)
	for _, s := range []string{"pw-secret", "sentry-secret", whsec} {
		require.NotContains(t, sb.String(), s)
	}
}

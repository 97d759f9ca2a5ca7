package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The duplicate window of each body-signed type: set, or the larger of
// the default and twice the tolerance where a timestamp is checked; none
// for the other types.
func TestDuplicateWindow(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("dup.yaml", []byte(`sources:
  - {name: plain, kind: generic, auth: {type: hmac, secret: s, header: X-Sig}}
  - {name: plain-off, kind: generic, auth: {type: hmac, secret: s, header: X-Sig, duplicate_window: 0s}}
  - {name: plain-1h, kind: generic, auth: {type: hmac, secret: s, header: X-Sig, duplicate_window: 1h}}
  - name: slack-style
    kind: generic
    auth: {type: hmac, secret: s, header: X-Slack-Signature, prefix: "v0=", timestamp_header: X-Slack-Request-Timestamp, signed_content: "v0:{timestamp}:{body}", tolerance: 15m}
  - {name: stamped, kind: generic, auth: {type: hmac, secret: s, header: X-Sig, timestamp_header: X-Ts}}
  - {name: sentry, kind: sentry, auth: {type: sentry, secret: s, tolerance: 1h}}
  - {name: pd, kind: pagerduty, auth: {type: pagerduty, secret: s}}
  - {name: tok, kind: generic, auth: {type: token, token: t}}
`), env(nil))
	require.NoError(t, err)
	for name, want := range map[string]time.Duration{
		"plain": 10 * time.Minute, "plain-off": 0, "plain-1h": time.Hour, "slack-style": 30 * time.Minute,
		"stamped": 10 * time.Minute, "sentry": 2 * time.Hour, "pd": 10 * time.Minute, "tok": 0,
	} {
		src, _ := cfg.Source(name)
		require.Equal(t, want, src.Auth.Duplicates(), name)
	}
	slack, _ := cfg.Source("slack-style")
	require.Equal(t, "X-Slack-Request-Timestamp", slack.Auth.TimestampHeader)
	require.Equal(t, "v0:", slack.Auth.Content().Before)
	require.Equal(t, 15*time.Minute, slack.Auth.ReplayWindow())
}

func TestSignedAuthProblems(t *testing.T) {
	t.Parallel()
	_, err := Parse("dup.yaml", []byte(`sources:
  - name: a
    kind: generic
    auth: {type: hmac, secret: s, header: X-Sig, tolerance: 5m, signed_content: "{body}"}
  - name: b
    kind: generic
    auth: {type: hmac, secret: s, header: X-Sig, timestamp_header: x-sig, signed_content: "{timestamp}"}
  - name: c
    kind: generic
    auth: {type: hmac, secret: s, header: X-Sig, timestamp_header: X-Ts, duplicate_window: 5m}
  - name: d
    kind: generic
    auth: {type: token, token: t, duplicate_window: 5m, timestamp_header: X-Ts}
  - name: e
    kind: generic
    auth: {type: hmac, secret: s, header: X-Sig, duplicate_window: -1s}
`), env(nil))
	require.Error(t, err)
	require.Equal(t, `dup.yaml:4:50: sources[0].auth.tolerance: needs timestamp_header: a plain hmac carries no time to check (duplicate_window catches replays)
dup.yaml:4:65: sources[0].auth.signed_content: needs timestamp_header: without a signed timestamp the hmac covers the body alone
dup.yaml:7:50: sources[1].auth.timestamp_header: must differ from header (X-Sig carries the signature)
dup.yaml:7:75: sources[1].auth.signed_content: must contain {timestamp} and {body} once each, e.g. "{timestamp}.{body}" or "v0:{timestamp}:{body}"
dup.yaml:10:74: sources[2].auth.duplicate_window: must be at least twice the tolerance (10m0s), or a replay the timestamp check lets through is stored as new; 0s turns it off
dup.yaml:13:35: sources[3].auth.duplicate_window: not used by auth type token (its keys: token, query_param, header)
dup.yaml:13:57: sources[3].auth.timestamp_header: not used by auth type token (its keys: token, query_param, header)
dup.yaml:16:50: sources[4].auth.duplicate_window: must not be negative (0s turns it off)`, err.Error())
}

package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testDay = 24 * time.Hour

func TestRetentionDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("c.yaml", []byte("listen: 127.0.0.1:1\n"), env(nil))
	require.NoError(t, err)
	r := cfg.Retention
	require.Equal(t, 30*testDay, Window(r.EventBodies))
	require.Equal(t, 14*testDay, Window(r.AttemptBodies))
	require.Equal(t, 90*testDay, Window(r.Events))
	require.Equal(t, 365*testDay, Window(r.ResolvedIncidents))
	require.Zero(t, Window(r.Audit), "audit records are kept forever unless set")
	require.Equal(t, "@every 1h", r.Schedule)
	require.Equal(t, 1000, r.BatchSize)
}

func TestRetentionConfig(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("c.yaml", []byte(`retention:
  event_bodies: 7d
  attempt_bodies: 36h
  events: 0
  resolved_incidents: 730d
  audit: 3650d
  schedule: "30 3 * * *"
  batch_size: 200
`), env(nil))
	require.NoError(t, err)
	r := cfg.Retention
	require.Equal(t, 7*testDay, Window(r.EventBodies))
	require.Equal(t, 36*time.Hour, Window(r.AttemptBodies))
	require.Zero(t, Window(r.Events), "0 keeps events forever rather than meaning the default")
	require.Equal(t, 730*testDay, Window(r.ResolvedIncidents))
	require.Equal(t, 3650*testDay, Window(r.Audit))
	require.Equal(t, "30 3 * * *", r.Schedule)
	require.Equal(t, 200, r.BatchSize)
	require.Equal(t, "7d", r.EventBodies.String())
	require.Equal(t, "36h0m0s", r.AttemptBodies.String())
}

func TestRetentionProblems(t *testing.T) {
	t.Parallel()
	_, err := Parse("c.yaml", []byte(`retention:
  event_bodies: 30 days
  attempt_bodies: -2d
  events: 30m
  resolved_incidents: -1h
  audit: forever
  schedule: "every hour"
  batch_size: -5
  bodies: 3d
`), env(nil))
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`c.yaml:2:3: retention.event_bodies: invalid retention age "30 days" (use e.g. 30d, 36h, or 0 to keep forever)`,
		`c.yaml:3:3: retention.attempt_bodies: invalid retention age "-2d"`,
		`c.yaml:4:3: retention.events: 30m0s is shorter than the shortest window, 1h0m0s`,
		`c.yaml:5:3: retention.resolved_incidents: must not be negative (0 keeps forever)`,
		`c.yaml:6:3: retention.audit: invalid retention age "forever"`,
		`c.yaml:7:3: retention.schedule: "every hour" is not a cron expression`,
		`c.yaml:8:3: retention.batch_size: must be between 1 and 100000 (got -5)`,
		`c.yaml:9:3: retention.bodies: unknown key`,
	} {
		require.True(t, strings.Contains(msg, want), "missing %q in:\n%s", want, msg)
	}
}

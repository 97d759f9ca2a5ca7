package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCorrelationDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("c.yaml", []byte("listen: 127.0.0.1:1\n"), env(nil))
	require.NoError(t, err)
	c := cfg.Correlation
	require.Equal(t, "all", c.Resolve)
	require.Equal(t, 15*time.Minute, c.ReopenWindow.Std())
	require.Equal(t, 3, c.FlapThreshold)
	require.Equal(t, time.Hour, c.FlapWindow.Std())
	require.Equal(t, 24*time.Hour, c.AutoResolveAfter.Std())
	require.Equal(t, 5*time.Minute, c.JoinNotifyInterval.Std())
	require.Equal(t, 30*time.Second, c.SweepInterval.Std())
}

func TestCorrelationConfig(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("c.yaml", []byte(`correlation:
  resolve: any
  reopen_window: 0s
  flap_threshold: 5
  flap_window: 30m
  auto_resolve_after: 0s
  join_notify_interval: 1m
  sweep_interval: 5s
`), env(nil))
	require.NoError(t, err)
	c := cfg.Correlation
	require.Equal(t, "any", c.Resolve)
	require.Zero(t, *c.ReopenWindow, "0s turns reopening off rather than meaning the default")
	require.Zero(t, *c.AutoResolveAfter, "0s turns auto-resolve off")
	require.Equal(t, 5, c.FlapThreshold)
	require.Equal(t, 30*time.Minute, c.FlapWindow.Std())
	require.Equal(t, time.Minute, c.JoinNotifyInterval.Std())
	require.Equal(t, 5*time.Second, c.SweepInterval.Std())
}

func TestCorrelationProblems(t *testing.T) {
	t.Parallel()
	_, err := Parse("c.yaml", []byte(`correlation:
  resolve: sometimes
  reopen_window: -1m
  flap_threshold: -2
  flap_window: soon
  auto_resolve_after: -1h
  join_notify_interval: -5s
  sweep_interval: 1ms
  reopen: 5m
`), env(nil))
	require.Error(t, err)
	for _, want := range []string{
		`c.yaml:2:3: correlation.resolve: must be one of all, any, manual (got "sometimes")`,
		`c.yaml:3:3: correlation.reopen_window: must not be negative`,
		`c.yaml:4:3: correlation.flap_threshold: must be a positive number`,
		`c.yaml:5:3: correlation.flap_window: invalid duration "soon"`,
		`c.yaml:6:3: correlation.auto_resolve_after: must not be negative`,
		`c.yaml:7:3: correlation.join_notify_interval: must be positive`,
		`c.yaml:8:3: correlation.sweep_interval: must be at least 100ms`,
		`c.yaml:9:3: correlation.reopen: unknown key`,
	} {
		require.Contains(t, err.Error(), want)
	}
}

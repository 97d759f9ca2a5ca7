package app_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/config"
)

// retention.schedule and logging are read once, at start (app.Serve,
// serve's logger): a reload that changes them names them as needing a
// restart and keeps the running values, like the other restart-only
// settings, instead of ignoring the change without a word.
func TestReloadNamesRetentionScheduleAndLogging(t *testing.T) {
	t.Parallel()
	f := newFixture(t, reloadConfig)
	changed := "retention: {schedule: \"@every 6h\", events: 30d}\nlogging: {format: json, level: debug}\n" + reloadConfig
	require.NoError(t, os.WriteFile(f.cfgPath, []byte(changed), 0o644))
	require.NoError(t, f.rl.Reload())
	require.Equal(t, []string{"retention.schedule", "logging.format", "logging.level"}, f.rl.Status().RestartRequired)
	cfg := f.rl.Config()
	require.Equal(t, config.DefaultRetentionSchedule, cfg.Retention.Schedule, "the running schedule is kept")
	require.Equal(t, config.Logging{}, cfg.Logging, "the running logging settings are kept")
	require.Equal(t, 30*24*time.Hour, config.Window(cfg.Retention.Events), "the retention windows do reload")
}

// Status (GET /api/v1/config, and the reload-status metrics at every
// scrape) answers while a reload is running its Prepare and OnReload
// (which write to the database): it does not wait for the reload.
func TestReloadStatusDoesNotWaitForReload(t *testing.T) {
	t.Parallel()
	f := newFixture(t, reloadConfig)
	entered, release := make(chan struct{}), make(chan struct{})
	f.rl.Prepare = func(*config.Config) error {
		close(entered)
		<-release
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- f.rl.Reload() }()
	<-entered
	got := make(chan struct{})
	go func() {
		_ = f.rl.Status()
		close(got)
	}()
	select {
	case <-got:
	case <-time.After(2 * time.Second):
		close(release)
		<-done
		t.Fatal("Status blocked while a reload was running")
	}
	close(release)
	require.NoError(t, <-done)
}

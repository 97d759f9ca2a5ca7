package app

import (
	"reflect"

	"github.com/incidenthub/incidenthub/internal/config"
)

// The settings a running hub cannot change: a reload keeps their running
// values (keepRestartOnly) and names each one whose value on disk differs
// from the one the process started with (restartRequired). Everything
// else takes effect on reload; README "Reloading the config" lists both.
var restartOnly = []struct {
	key string
	get func(*config.Config) any
}{
	{"listen", func(c *config.Config) any { return c.Listen }},
	{"database.url", func(c *config.Config) any { return c.Database.URL }},
	{"database.path", func(c *config.Config) any { return c.Database.Path }},
	{"database.max_open_conns", func(c *config.Config) any { return c.Database.MaxOpenConns }},
	{"ingest.workers", func(c *config.Config) any { return c.Ingest.Workers }},
	{"ingest.poll_interval", func(c *config.Config) any { return c.Ingest.PollInterval }},
	{"ingest.process", func(c *config.Config) any { return c.Ingest.Processing() }},
	{"delivery.workers", func(c *config.Config) any { return c.Delivery.Workers }},
	{"registry.secret_key_file", func(c *config.Config) any { return c.Registry.SecretKeyFile }},
	{"registry.max_secret_age", func(c *config.Config) any { return c.Registry.MaxSecretAge }},
	{"registry.auth_failure_spike", func(c *config.Config) any { return c.Registry.AuthFailureSpike }},
	{"registry.verify_interval", func(c *config.Config) any { return c.Registry.VerifyEvery() }},
	{"correlation.resolve", func(c *config.Config) any { return c.Correlation.Resolve }},
	{"correlation.reopen_window", func(c *config.Config) any { return c.Correlation.ReopenWindow }},
	{"correlation.flap_threshold", func(c *config.Config) any { return c.Correlation.FlapThreshold }},
	{"correlation.flap_window", func(c *config.Config) any { return c.Correlation.FlapWindow }},
	{"correlation.auto_resolve_after", func(c *config.Config) any { return c.Correlation.AutoResolveAfter }},
	{"correlation.join_notify_interval", func(c *config.Config) any { return c.Correlation.JoinNotifyInterval }},
	{"correlation.sweep_interval", func(c *config.Config) any { return c.Correlation.SweepInterval }},
	{"retention.schedule", func(c *config.Config) any { return c.Retention.Schedule }},
	{"logging.format", func(c *config.Config) any { return c.Logging.Format }},
	{"logging.level", func(c *config.Config) any { return c.Logging.Level }},
}

// restartValues snapshots cfg's restart-only settings.
func restartValues(cfg *config.Config) map[string]any {
	m := make(map[string]any, len(restartOnly))
	for _, k := range restartOnly {
		m[k.key] = k.get(cfg)
	}
	return m
}

// restartRequired names the restart-only settings of fresh that differ
// from started, in restartOnly's order; nil when none do.
func restartRequired(started map[string]any, fresh *config.Config) []string {
	var out []string
	for _, k := range restartOnly {
		if !reflect.DeepEqual(started[k.key], k.get(fresh)) {
			out = append(out, k.key)
		}
	}
	return out
}

// keepRestartOnly copies into fresh the running values of the settings a
// running process cannot change.
func (r *Reloader) keepRestartOnly(fresh *config.Config) *config.Config {
	b := r.base
	fresh.Listen = b.Listen
	fresh.Database = b.Database
	fresh.Ingest.Workers, fresh.Ingest.PollInterval, fresh.Ingest.Process = b.Ingest.Workers, b.Ingest.PollInterval, b.Ingest.Process
	fresh.Delivery.Workers = b.Delivery.Workers
	fresh.Registry.SecretKeyFile, fresh.Registry.MaxSecretAge = b.Registry.SecretKeyFile, b.Registry.MaxSecretAge
	fresh.Registry.AuthFailureSpike, fresh.Registry.VerifyInterval = b.Registry.AuthFailureSpike, b.Registry.VerifyInterval
	fresh.Registry.InsecureDevSecrets = b.Registry.InsecureDevSecrets
	fresh.Correlation = b.Correlation
	fresh.Retention.Schedule = b.Retention.Schedule
	fresh.Logging = b.Logging
	return fresh
}

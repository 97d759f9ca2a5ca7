package app_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
)

// A reload that changes a setting needing a restart keeps the running
// value, names the setting in Status and in its log line, and the rest of
// the reload applies; reverting the file clears the list.
func TestReloadNamesRestartRequired(t *testing.T) {
	t.Parallel()
	f := newFixture(t, reloadConfig)
	require.Empty(t, f.rl.Status().RestartRequired)
	var logs bytes.Buffer
	f.rl = newReloaderLogging(t, f, &logs)

	changed := `
listen: 127.0.0.1:9999
database: {path: other.db}
correlation: {flap_threshold: 9}
trusted_proxies: [10.0.0.0/8]
ingest: {max_depth: 20}
sources:
  - {name: gen, kind: generic, auth: {type: none}}
  - {name: gen2, kind: generic, auth: {type: none}}
routing:
  rules_dir: rules.d
`
	require.NoError(t, os.WriteFile(f.cfgPath, []byte(changed), 0o644))
	require.NoError(t, f.rl.Reload())
	st := f.rl.Status()
	require.Equal(t, []string{"listen", "database.path", "correlation.flap_threshold"}, st.RestartRequired)
	cfg := f.rl.Config()
	require.Equal(t, "127.0.0.1:1", cfg.Listen, "the running (command-line) listen address is kept")
	require.Equal(t, config.DefaultSQLitePath, cfg.Database.Path)
	require.Equal(t, config.DefaultFlapThreshold, cfg.Correlation.FlapThreshold)
	// What can reload did.
	require.Equal(t, []string{"10.0.0.0/8"}, cfg.TrustedProxies)
	require.Equal(t, 20, cfg.Ingest.MaxDepth)
	_, ok := cfg.Source("gen2")
	require.True(t, ok)
	require.Contains(t, logs.String(), `restart_required="[listen database.path correlation.flap_threshold]"`)
	require.Contains(t, logs.String(), "level=WARN")

	require.NoError(t, os.WriteFile(f.cfgPath, []byte(reloadConfig), 0o644))
	require.NoError(t, f.rl.Reload())
	require.Empty(t, f.rl.Status().RestartRequired, "back to the values the process started with")
}

// Tokens follow the config file (and INCIDENTHUB_API_TOKEN) at each
// reload.
func TestReloadTokens(t *testing.T) {
	t.Parallel()
	withTokens := func(names ...string) string {
		s := "api:\n  tokens:\n"
		for _, n := range names {
			s += "    - {name: " + n + ", token: tok-" + n + ", role: viewer}\n"
		}
		return s + reloadConfig
	}
	f := newFixture(t, withTokens("alice", "bob"))
	names := func() []string {
		var out []string
		for _, tk := range f.rl.Tokens() {
			out = append(out, tk.Name)
		}
		return out
	}
	require.Equal(t, []string{"alice", "bob"}, names())
	require.NoError(t, os.WriteFile(f.cfgPath, []byte(withTokens("alice", "carol")), 0o644))
	f.env.set(app.EnvAPIToken, "env-admin-token")
	require.NoError(t, f.rl.Reload())
	require.Equal(t, []string{"alice", "carol", "env"}, names())
	require.Empty(t, f.rl.Status().RestartRequired, "api.tokens reload")
}

// Mapping files are part of the version; a bad one is rejected with its
// file, line and key, and the last good mappings keep running.
func TestReloadMappingFiles(t *testing.T) {
	t.Parallel()
	f := newFixture(t, reloadConfig)
	mapping := filepath.Join(f.dir, "mappings", "checks.yaml")
	require.NoError(t, os.Mkdir(filepath.Dir(mapping), 0o755))
	require.NoError(t, os.WriteFile(mapping, []byte("kind: checks\nalert:\n  status: state\n  alert_type: check\n"), 0o644))
	require.NoError(t, os.WriteFile(f.cfgPath, []byte("mappings: [mappings]\n"+reloadConfig), 0o644))
	require.NoError(t, f.rl.Reload())
	st := f.rl.Status()
	require.Equal(t, []string{mapping}, st.MappingFiles)
	require.True(t, f.rl.Config().Mappings.Known("checks"))
	v1 := st.Version

	// The config file is unchanged; the mapping's content alone moves the
	// version.
	require.NoError(t, os.WriteFile(mapping, []byte("kind: checks\nalert:\n  status: state\n  alert_type: check\n  title: name\n"), 0o644))
	require.NoError(t, f.rl.Reload())
	v2 := f.rl.Status().Version
	require.NotEqual(t, v1, v2)

	require.NoError(t, os.WriteFile(mapping, []byte("kind: checks\nalert:\n  status: state\n  sevrity: level\n"), 0o644))
	err := f.rl.Reload()
	require.ErrorContains(t, err, mapping+":4:3: alert.sevrity: unknown alert field")
	st = f.rl.Status()
	require.Equal(t, v2, st.Version, "the last good config keeps running")
	require.Contains(t, st.LastReloadError, "checks.yaml:4:3: alert.sevrity")
	require.True(t, f.rl.Config().Mappings.Known("checks"))
}

// newReloaderLogging replaces f's reloader with one logging to w.
func newReloaderLogging(t *testing.T, f *fixture, w *bytes.Buffer) *app.Reloader {
	t.Helper()
	cfg, err := config.Load(f.cfgPath, f.env.get)
	require.NoError(t, err)
	cfg.Listen = "127.0.0.1:1"
	rl, err := app.NewReloader(cfg, f.env.get, slog.New(slog.NewTextHandler(w, nil)), targets)
	require.NoError(t, err)
	return rl
}

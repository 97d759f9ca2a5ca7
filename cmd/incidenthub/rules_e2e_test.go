//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// Until outbound targets exist no route name validates, so these rules
// enrich, drop, silence and route to nobody.
const cliRules = `
rules:
  - name: drop-staging
    when: 'environment == "staging"'
    drop: true
  - name: data-is-critical
    when: 'labels.team == "data" && status == "firing"'
    set: {severity: '"critical"'}
    route: []
silences:
  - name: nightly-backups
    when: 'alert_type == "backup_failed"'
    schedule: "0 22 * * *"
    duration: 5h
`

// writeRulesConfig writes a config with a generic source and a rules
// directory holding rulesText; it returns the config and rules file paths.
func writeRulesConfig(t *testing.T, rulesText string) (cfg, rulesFile string) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "rules"), 0o755))
	rulesFile = filepath.Join(dir, "rules", "10-main.yaml")
	require.NoError(t, os.WriteFile(rulesFile, []byte(rulesText), 0o644))
	cfg = filepath.Join(dir, "hub.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`database:
  path: `+filepath.Join(dir, "hub.db")+`
ingest: {poll_interval: 200ms}
sources:
  - name: generic
    kind: generic
    auth: {type: token, token: "${INCIDENTHUB_SOURCE_TOKEN}"}
    correlation_key: 'service + "/" + host'
routing:
  rules_dir: rules
`), 0o644))
	return cfg, rulesFile
}

func TestRulesCLI(t *testing.T) {
	needBinary(t)
	env := []string{"INCIDENTHUB_SOURCE_TOKEN=" + sourceToken}
	cfg, rulesFile := writeRulesConfig(t, cliRules)

	stdout, stderr, code := runCLI(t, env, "config", "check", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, cfg+": ok (1 sources, 2 rules, 1 silences; version ")

	stdout, stderr, code = runCLI(t, env, "rules", "test", "--config", cfg, "--source", "generic",
		"--payload", "../../mappings/testdata/generic/single.json", "--at", "2026-11-21T01:30:00Z")
	require.Equal(t, 0, code, stderr)
	for _, want := range []string{
		"source generic (kind generic)",
		"normalized: status=firing severity=high service=\"postgres\" alert_type=\"backup_failed\"",
		"not matched  drop-staging  (" + rulesFile + ":3)",
		"MATCHED      data-is-critical  (" + rulesFile + ":6)",
		"after rules: severity=critical",
		"routes: (nobody)",
		"correlation key: postgres/db-1  [source]",
		"silence: SILENCED by nightly-backups",
	} {
		require.Contains(t, stdout, want)
	}
	stdout, _, code = runCLI(t, env, "rules", "test", "--config", cfg, "--source", "generic",
		"--payload", "../../mappings/testdata/generic/single.json", "--at", "2026-11-21T12:00:00Z", "--json")
	require.Equal(t, 0, code)
	require.Contains(t, stdout, `"silenced": false`)

	_, stderr, code = runCLI(t, env, "rules", "test", "--config", cfg, "--source", "nope", "--payload", "../../mappings/testdata/generic/single.json")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, `unknown source "nope" (configured: generic)`)

	// Every problem at once, expr errors with their caret.
	require.NoError(t, os.WriteFile(rulesFile, []byte(cliRules+`
  - name: typo
    when: 'labels.team = "data"'
    schedule: "0 22 * * *"
    duration: 1h
`), 0o644))
	_, stderr, code = runCLI(t, env, "config", "check", "--config", cfg)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, rulesFile+`:17:5: silences[1].when: unexpected token Operator("=") (1:13)
     | labels.team = "data"
     | ............^`)
	_, stderr, code = runCLI(t, nil, "config", "check", "--config", cfg)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "environment variable INCIDENTHUB_SOURCE_TOKEN is not set", "config and rules problems together")
	require.Contains(t, stderr, "silences[1].when")
}

// serve reloads on SIGHUP (instead of dying, SIGHUP's default) and keeps
// the last good config when the new one is invalid.
func TestServeReloadsOnSIGHUP(t *testing.T) {
	needBinary(t)
	cfg, rulesFile := writeRulesConfig(t, cliRules)
	h := startHub(t, cfg, "")
	type status struct {
		Config struct {
			Version         string `json:"version"`
			Rules           int    `json:"rules"`
			LastReloadError string `json:"last_reload_error"`
		} `json:"config"`
	}
	var st status
	require.Equal(t, 200, apiGet(t, h, "/api/v1/config", &st))
	v1 := st.Config.Version
	require.Equal(t, 2, st.Config.Rules)

	require.NoError(t, os.WriteFile(rulesFile, []byte("rules:\n  - {name: x, when: 'nope +'}\n"), 0o644))
	require.NoError(t, h.cmd.Process.Signal(syscall.SIGHUP))
	eventually(t, "the bad rules to be rejected", func() bool {
		var st status
		return apiGet(t, h, "/api/v1/config", &st) == 200 && st.Config.LastReloadError != "" && st.Config.Version == v1
	})

	require.NoError(t, os.WriteFile(rulesFile, []byte(strings.Replace(cliRules, "drop-staging", "drop-staging-2", 1)), 0o644))
	require.NoError(t, h.cmd.Process.Signal(syscall.SIGHUP))
	eventually(t, "the good rules to load", func() bool {
		var st status
		return apiGet(t, h, "/api/v1/config", &st) == 200 && st.Config.LastReloadError == "" && st.Config.Version != v1
	})
	require.Contains(t, h.output.String(), "config reload rejected")
	require.Contains(t, h.output.String(), "config reloaded")
	require.NotContains(t, h.output.String(), sourceToken)

	require.NoError(t, h.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, h.waitExit(t, exitTimeout))
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/mappings"
)

// TestSourcesList: every built-in kind with its description, auth type and
// docs anchor, as text and JSON; with --config, the config's own kinds and
// which sources use each.
func TestSourcesList(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := cli(t, nil, "sources", "list")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Equal(t, []string{"KIND", "AUTH", "DOCS", "DESCRIPTION"}, strings.Fields(lines[0]))
	require.Len(t, lines, 1+len(mappings.Kinds()), "one line per built-in kind:\n%s", stdout)
	for i, kind := range mappings.Kinds() {
		m, _ := mappings.Builtin().Inbound(kind)
		f := strings.Fields(lines[i+1])
		require.Equal(t, []string{kind, m.Auth, "docs/sources.md#" + kind}, f[:3], lines[i+1])
		require.Equal(t, m.Description, strings.Join(f[3:], " "))
	}

	stdout, stderr, code = cli(t, nil, "sources", "list", "--json")
	require.Equal(t, 0, code, stderr)
	var list []kindInfo
	require.NoError(t, json.Unmarshal([]byte(stdout), &list))
	require.Len(t, list, len(mappings.Kinds()))
	builtin := map[string]kindInfo{}
	for _, k := range list {
		builtin[k.Kind] = k
	}
	require.Equal(t, kindInfo{Kind: "datadog", Description: "Datadog webhook integration with the hub's payload template",
		Auth: "token", Docs: "docs/sources.md#datadog", Builtin: true}, builtin["datadog"])

	// With a config: its mapping files' kinds, and the sources of each.
	env := map[string]string{"INCIDENTHUB_SOURCE_TOKEN": "tok"}
	stdout, stderr, code = cli(t, env, "sources", "list", "--config", "../../examples/custom-sources.yaml", "--json")
	require.Equal(t, 0, code, stderr)
	list = nil
	require.NoError(t, json.Unmarshal([]byte(stdout), &list))
	byKind := map[string]kindInfo{}
	for _, k := range list {
		byKind[k.Kind] = k
	}
	require.Equal(t, kindInfo{Kind: "homegrown", Description: "The check runner in ops/checks (one check result per POST)",
		Auth: "token", Docs: filepath.Join("..", "..", "examples", "mappings", "homegrown.yaml"),
		File: filepath.Join("..", "..", "examples", "mappings", "homegrown.yaml"), Sources: []string{"checks"}}, byKind["homegrown"])
	require.True(t, byKind["alertmanager"].Builtin)
	require.Len(t, list, len(mappings.Kinds())+1)

	stdout, stderr, code = cli(t, env, "sources", "list", "--config", "../../examples/custom-sources.yaml")
	require.Equal(t, 0, code, stderr)
	require.Regexp(t, `(?m)^homegrown\s+token\s+\.\./\.\./examples/mappings/homegrown\.yaml\s+The check runner in ops/checks \(one check result per POST\) \(sources: checks\)$`, stdout)

	// A mapping that does not say its auth type shows "-".
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "noauth.yaml"), []byte("kind: noauth\ndescription: says no auth type\nalert:\n  alert_type: name\n  status: {value: firing}\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hub.yaml"), []byte("mappings: [noauth.yaml]\nsources:\n  - {name: n, kind: noauth, auth: {type: none}}\n"), 0o600))
	stdout, stderr, code = cli(t, nil, "sources", "list", "--config", filepath.Join(dir, "hub.yaml"))
	require.Equal(t, 0, code, stderr)
	require.Regexp(t, `(?m)^noauth\s+-\s+`, stdout, "a mapping that does not say its auth type")
}

func TestSourcesListErrors(t *testing.T) {
	t.Parallel()
	_, stderr, code := cli(t, nil, "sources")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "sources: want `sources list [--config FILE] [--json]`")
	_, stderr, code = cli(t, nil, "sources", "list", "extra")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, `unexpected argument "extra"`)

	// A config that does not load says why, with file:line:column.
	file := filepath.Join(t.TempDir(), "hub.yaml")
	require.NoError(t, os.WriteFile(file, []byte("sources:\n  - {name: a, kind: nagios, auth: {type: none}}\n"), 0o600))
	_, stderr, code = cli(t, nil, "sources", "list", "--config", file)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, file+":2:")
	require.Contains(t, stderr, `unknown kind "nagios"`)
}

// TestConfigCheckListsSources: config check names every source it
// validated with its kind and where the kind comes from.
func TestConfigCheckListsSources(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := cli(t, map[string]string{"INCIDENTHUB_SOURCE_TOKEN": "tok"}, "config", "check", "--config", "../../examples/custom-sources.yaml")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 2, stdout)
	require.Contains(t, lines[0], "../../examples/custom-sources.yaml: ok (1 sources")
	require.Equal(t, []string{"source", "checks", "kind", "homegrown", "(../../examples/mappings/homegrown.yaml)"}, strings.Fields(lines[1]))

	stdout, stderr, code = cli(t, map[string]string{"INCIDENTHUB_SOURCE_TOKEN": "tok"}, "config", "check", "--config", "../../examples/quickstart.yaml")
	require.Equal(t, 0, code, stderr)
	require.Regexp(t, `(?m)^  source datadog\s+kind datadog\s+\(built-in\)$`, stdout)
}

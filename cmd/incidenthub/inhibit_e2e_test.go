//go:build unix

package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const cliInhibitRules = `
inhibit_rules:
  - name: cluster-down
    source_match: ['alert_type="ClusterDown"']
    target_match: ['alert_type!="ClusterDown"']
    equal: [cluster]
`

// config check lists the inhibit rules and reports their problems with
// file:line:column and key; rules test shows which rule would inhibit an
// alert and, with --incidents, which open incident does.
func TestInhibitCLI(t *testing.T) {
	needBinary(t)
	env := []string{"INCIDENTHUB_SOURCE_TOKEN=" + sourceToken}
	cfg, rulesFile := writeRulesConfig(t, cliInhibitRules)

	stdout, stderr, code := runCLI(t, env, "config", "check", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, `  inhibit rule cluster-down  source {alert_type="ClusterDown"}  target {alert_type!="ClusterDown"}  equal [cluster]  (`+rulesFile+`:3)`)

	child := filepath.Join(t.TempDir(), "child.json")
	require.NoError(t, os.WriteFile(child, []byte(`{"fingerprint": "pod-1", "status": "firing", "service": "api", "alert_type": "PodCrash", "labels": {"cluster": "eu-1"}}`), 0o644))
	stdout, stderr, code = runCLI(t, env, "rules", "test", "--config", cfg, "--source", "generic", "--payload", child)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "  inhibit: not inhibited by this payload (open incidents not looked up: rules test --incidents)\n")
	require.Contains(t, stdout, `    target of cluster-down (`+rulesFile+`:3): muted while an alert matching {alert_type="ClusterDown"} with cluster="eu-1" fires`)

	// A parent fires in a running hub; rules test --incidents finds it.
	h := startHub(t, cfg, "")
	code, _, err := post(http.DefaultClient, h, "generic", `{"fingerprint": "eu1-down", "status": "firing", "service": "k8s", "alert_type": "ClusterDown", "host": "cp-1", "labels": {"cluster": "eu-1"}}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, code)
	var list struct {
		Incidents []struct {
			ID int64 `json:"id"`
		} `json:"incidents"`
	}
	eventually(t, "the parent's incident", func() bool {
		return apiGet(t, h, "/api/v1/incidents", &list) == 200 && len(list.Incidents) == 1
	})
	stdout, stderr, code = runCLI(t, env, "rules", "test", "--config", cfg, "--source", "generic", "--payload", child, "--incidents")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "  inhibit: INHIBITED by incident #1 (rule cluster-down) (recorded, notifies nobody until that resolves)\n")
	stdout, _, code = runCLI(t, env, "rules", "test", "--config", cfg, "--source", "generic", "--payload", child, "--incidents", "--json")
	require.Equal(t, 0, code)
	require.Contains(t, stdout, `"inhibited_by_incident": 1`)

	// Every problem at once, each with file:line:column and key.
	require.NoError(t, os.WriteFile(rulesFile, []byte(strings.Replace(cliInhibitRules, `'alert_type!="ClusterDown"'`, `'alert_type=~"(Pod"'`, 1)+`
  - name: cluster-down
    source_match: {alertname: NodeDown}
`), 0o644))
	_, stderr, code = runCLI(t, env, "config", "check", "--config", cfg)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, rulesFile+`:5:20: inhibit_rules[0].target_match[0]: matcher alert_type=~"(Pod": bad regular expression "(Pod": missing closing )`)
	require.Contains(t, stderr, rulesFile+`:8:5: inhibit_rules[1].name: duplicate inhibit rule name "cluster-down" (first defined at `+rulesFile+`:3)`)
	require.Contains(t, stderr, rulesFile+`:8:5: inhibit_rules[1]: needs target_match`)
}

package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/version"
)

const (
	productionConfig = "../../deploy/config.production.yaml"
	systemdUnit      = "../../deploy/incidenthub.service"
)

var headerVarRe = regexp.MustCompile(`^#   ([A-Z][A-Z0-9_]+) `)

// productionEnv gives every variable deploy/config.production.yaml's
// header lists a plausible value.
func productionEnv(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(productionConfig)
	require.NoError(t, err)
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := headerVarRe.FindStringSubmatch(sc.Text()); m != nil {
			env[m[1]] = "value-of-" + strings.ToLower(m[1])
		}
	}
	require.NoError(t, sc.Err())
	env["INCIDENTHUB_DATABASE_URL"] = "postgres://incidenthub:pw@db.internal:5432/incidenthub?sslmode=verify-full"
	env["INCIDENTHUB_SECRET_KEY"] = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	env["SLACK_BOT_TOKEN"] = "xoxb-1111-2222-abcdefghijkl"
	env["OPS_WEBHOOK_SECRET"] = "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 24))
	return env
}

// deploy/config.production.yaml passes `config check` with the variables
// its header lists, and names every one it references there; without
// them each missing variable is one problem.
func TestProductionConfig(t *testing.T) {
	t.Parallel()
	env := productionEnv(t)
	data, err := os.ReadFile(productionConfig)
	require.NoError(t, err)
	refs := regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`).FindAllStringSubmatch(string(data), -1)
	require.NotEmpty(t, refs)
	for _, m := range refs {
		require.Contains(t, env, m[1], "the header does not list %s", m[1])
	}

	out, stderr, code := cli(t, env, "config", "check", "--config", productionConfig)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, productionConfig+": ok")

	cfg, err := config.Load(productionConfig, func(k string) string { return env[k] })
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(cfg.Database.URL.Value(), "postgres://"), "PostgreSQL")
	require.Equal(t, "json", cfg.Logging.Format)
	types := map[string]bool{}
	for _, tg := range cfg.Targets {
		types[tg.Type] = true
	}
	require.True(t, types["slack"] && types["webhook"], "a slack and a webhook target: %v", types)
	for _, s := range cfg.Sources {
		require.NotEqual(t, "none", s.Auth.Type, "source %s is open to anyone", s.Name)
	}

	_, stderr, code = cli(t, nil, "config", "check", "--config", productionConfig)
	require.Equal(t, 1, code)
	problems := strings.Split(strings.TrimSpace(strings.TrimPrefix(stderr, "incidenthub: ")), "\n")
	distinct := map[string]bool{}
	for _, m := range refs {
		distinct[m[1]] = true
	}
	require.Len(t, problems, len(refs), "one problem per reference:\n%s", stderr)
	for v := range distinct {
		require.Contains(t, stderr, "environment variable "+v+" is not set")
	}
}

// unitSettings reads a systemd unit's Key=Value lines (every value of a
// repeated key).
func unitSettings(t *testing.T, text string) map[string][]string {
	t.Helper()
	set := map[string][]string{}
	section := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			require.True(t, ok, "not Key=Value: %q", line)
			set[section+"."+k] = append(set[section+"."+k], v)
		}
	}
	return set
}

// deploy/incidenthub.service runs serve with the production config as a
// dedicated user, hardened, with its secrets in an environment file; where
// systemd-analyze is installed, it verifies the unit without a warning.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(systemdUnit)
	require.NoError(t, err)
	set := unitSettings(t, string(data))
	for key, want := range map[string]string{
		"Service.User":             "incidenthub",
		"Service.NoNewPrivileges":  "yes",
		"Service.ProtectSystem":    "strict",
		"Service.ProtectHome":      "yes",
		"Service.PrivateTmp":       "yes",
		"Service.StateDirectory":   "incidenthub",
		"Service.WorkingDirectory": "/var/lib/incidenthub",
		"Service.EnvironmentFile":  "/etc/incidenthub/incidenthub.env",
		"Service.ExecStart":        "/usr/local/bin/incidenthub serve --config /etc/incidenthub/config.yaml",
		"Service.ExecReload":       "/bin/kill -HUP $MAINPID",
		"Service.KillSignal":       "SIGTERM",
		"Install.WantedBy":         "multi-user.target",
	} {
		require.Equal(t, []string{want}, set[key], key)
	}
	require.Equal(t, []string{""}, set["Service.CapabilityBoundingSet"], "no capabilities")
	// The commands it runs are commands the CLI has.
	for _, key := range []string{"Service.ExecStartPre", "Service.ExecStart"} {
		args := strings.Fields(set[key][0])[1:]
		_, stderr, code := cli(t, nil, append(args, "--help")...)
		require.Equal(t, 0, code, "%s: %s", key, stderr)
	}
	require.Contains(t, string(data), "deploy/config.production.yaml /etc/incidenthub/config.yaml", "the install steps put the example config where ExecStart reads it")

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze is not installed: the unit's syntax is checked only by the assertions above")
		return
	}
	// verify wants ExecStart's binary to exist: any executable does.
	self, err := os.Executable()
	require.NoError(t, err)
	unit := filepath.Join(t.TempDir(), "incidenthub.service")
	require.NoError(t, os.WriteFile(unit, []byte(strings.ReplaceAll(string(data), "/usr/local/bin/incidenthub", self)), 0o644))
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify warns")
}

// readmeBlockLine returns the README line that starts with prefix.
func readmeLine(t *testing.T, prefix string) (line string, after []string) {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	lines := strings.Split(string(readme), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return l, lines[i+1:]
		}
	}
	t.Fatalf("the README has no line starting %q", prefix)
	return "", nil
}

// The README's release build command, run as written: the binary's
// `version` names the git description, the commit, the commit's date and
// the Go release.
func TestReleaseBuild(t *testing.T) {
	needBinary(t) // an end-to-end test: it builds the hub
	t.Parallel()
	line, _ := readmeLine(t, "CGO_ENABLED=0 go build -trimpath -ldflags ")
	require.Contains(t, line, " -o incidenthub ./cmd/incidenthub")
	bin := filepath.Join(t.TempDir(), "incidenthub")
	cmd := exec.Command("bash", "-c", strings.Replace(line, " -o incidenthub ", " -o '"+bin+"' ", 1))
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s\n%s", line, out)

	git := func(args ...string) string {
		c := exec.Command("git", args...)
		c.Dir = "../.."
		out, err := c.Output()
		require.NoError(t, err, "git %v", args)
		return strings.TrimSpace(string(out))
	}
	out, err = exec.Command(bin, "version", "--json").Output()
	require.NoError(t, err)
	var got version.Info
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	require.Equal(t, git("describe", "--tags", "--always", "--dirty"), got.Version)
	require.Equal(t, git("rev-parse", "HEAD"), got.Revision)
	require.Equal(t, git("log", "-1", "--format=%cI"), got.Date)
	require.Equal(t, runtime.Version(), got.GoVersion)

	text, err := exec.Command(bin, "--version").Output()
	require.NoError(t, err)
	require.Contains(t, string(text), "incidenthub "+got.Version+"\n  revision: "+got.Revision)
}

// The README's rules test example runs on files that exist and prints what
// the README shows.
func TestREADMERulesTestExample(t *testing.T) {
	t.Parallel()
	line, after := readmeLine(t, "incidenthub rules test --config examples/")
	args := strings.Fields(line)[1:]
	for i := range args {
		if i > 0 && (args[i-1] == "--config" || args[i-1] == "--payload") {
			args[i] = "../../" + args[i]
			_, err := os.Stat(args[i])
			require.NoError(t, err, "the README's example names a file that does not exist")
		}
	}
	env := map[string]string{"INCIDENTHUB_SOURCE_TOKEN": "source-token-1", "SLACK_BOT_TOKEN": "xoxb-1-2-3",
		"PAGERDUTY_ROUTING_KEY": strings.Repeat("a", 32), "JIRA_API_TOKEN": "jira-token-1"}
	out, stderr, code := cli(t, env, args...)
	require.Equal(t, 0, code, stderr)
	out = strings.ReplaceAll(out, "../../", "") // as run from the repository's root
	shown := 0
	for _, l := range after {
		if !strings.HasPrefix(l, "# ") {
			break
		}
		if want := strings.TrimPrefix(l, "# "); strings.TrimSpace(want) != "…" {
			require.Contains(t, out, want)
			shown++
		}
	}
	require.Positive(t, shown, "the README shows some of the output")
}

// "Needs Go X" in the README is go.mod's go version.
func TestREADMEGoVersion(t *testing.T) {
	t.Parallel()
	mod, err := os.ReadFile("../../go.mod")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	require.NotNil(t, m)
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	needs := regexp.MustCompile(`Needs Go (\d[\d.]*\d)`).FindAllSubmatch(readme, -1)
	require.NotEmpty(t, needs)
	for _, n := range needs {
		require.Equal(t, string(m[1]), string(n[1]))
	}
	require.Contains(t, string(readme), "(Go "+string(m[1])+" or newer", "the Install section")
}

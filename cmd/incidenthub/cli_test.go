package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/version"
)

// `version` and `--version` print the module version, revision, build
// date and Go version; --json the same as an object.
func TestVersionCommand(t *testing.T) {
	t.Parallel()
	out, stderr, code := cli(t, nil, "version")
	require.Equal(t, 0, code, stderr)
	info := version.Get()
	require.True(t, strings.HasPrefix(out, "incidenthub "+info.Version+"\n"), out)
	require.Contains(t, out, "  revision: ")
	require.Contains(t, out, "  built:    ")
	require.Contains(t, out, "  go:       "+runtime.Version()+"\n")

	dashed, _, code := cli(t, nil, "--version")
	require.Equal(t, 0, code)
	require.Equal(t, out, dashed)

	js, stderr, code := cli(t, nil, "version", "--json")
	require.Equal(t, 0, code, stderr)
	var got version.Info
	require.NoError(t, json.Unmarshal([]byte(js), &got))
	require.Equal(t, info, got)

	_, stderr, code = cli(t, nil, "version", "extra")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, `unexpected argument "extra"`)
}

// invocations are every command and subcommand completion knows, as
// argument lists.
func invocations() [][]string {
	var list [][]string
	for _, c := range commands() {
		if len(c.Subs) == 0 {
			list = append(list, []string{c.Name})
		}
		for _, s := range c.Subs {
			list = append(list, []string{c.Name, s})
		}
	}
	return list
}

var flagLineRe = regexp.MustCompile(`(?m)^  (-+)([a-z0-9-]+)`)

// Every command's --help spells its flags --name, and the README names
// every one of them as --name.
func TestHelpSpellsFlagsLikeTheREADME(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	checked := 0
	for _, args := range invocations() {
		if args[0] == "help" || args[0] == "completion" {
			continue
		}
		_, stderr, code := cli(t, nil, append(args, "--help")...)
		require.Equal(t, 0, code, "%v --help: %s", args, stderr)
		require.True(t, strings.HasPrefix(stderr, "usage: incidenthub "+strings.Join(args, " ")+" [flags]"), "%v: %s", args, stderr)
		for _, m := range flagLineRe.FindAllStringSubmatch(stderr, -1) {
			require.Equal(t, "--", m[1], "%v --help prints %s%s", args, m[1], m[2])
			named := regexp.MustCompile(`--` + regexp.QuoteMeta(m[2]) + `\b`).Match(readme)
			require.True(t, named, "the README never names %v's flag --%s", args, m[2])
			checked++
		}
	}
	require.Greater(t, checked, 30, "flags seen in the help texts")

	// The README's command table has a row for every command.
	_, table, ok := strings.Cut(string(readme), "\n## Commands\n")
	require.True(t, ok)
	table, _, _ = strings.Cut(table, "\n\n")
	for _, c := range commands() {
		if c.Name != "help" {
			require.Contains(t, table, "| `incidenthub "+c.Name, "the README's Commands table has no row for %s", c.Name)
		}
	}
}

// The completion's command list is the dispatcher's: every command of the
// usage text is completed, and run knows every command completed.
func TestCompletionMatchesDispatcher(t *testing.T) {
	t.Parallel()
	known := map[string]bool{}
	for _, c := range commands() {
		known[c.Name] = true
	}
	_, block, ok := strings.Cut(usage, "commands:\n")
	require.True(t, ok)
	block, _, _ = strings.Cut(block, "\n\n")
	listed := map[string]bool{"help": true} // the usage's own
	for _, line := range strings.Split(block, "\n") {
		name := strings.Fields(line)[0]
		require.True(t, known[name], "usage lists %q; completion does not", name)
		listed[name] = true
	}
	require.Equal(t, known, listed, "completion lists a command the usage does not")
	for _, args := range invocations() {
		_, stderr, _ := cli(t, nil, append(args, "--help")...)
		require.NotContains(t, stderr, "unknown", "%v", args)
	}
	require.Contains(t, commandSubs("registry"), "rotate")
	require.Contains(t, commandSubs("silence"), "extend")
}

func commandSubs(name string) []string {
	for _, c := range commands() {
		if c.Name == name {
			return c.Subs
		}
	}
	return nil
}

func TestCompletionCommand(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh"} {
		out, stderr, code := cli(t, nil, "completion", shell)
		require.Equal(t, 0, code, stderr)
		for _, c := range commands() {
			require.Contains(t, out, c.Name)
			for _, s := range c.Subs {
				require.Contains(t, out, s)
			}
		}
	}
	_, stderr, code := cli(t, nil, "completion", "fish")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, `unknown shell "fish"`)
	_, _, code = cli(t, nil, "completion")
	require.Equal(t, 2, code)
}

// The bash script, loaded in bash, completes commands, subcommands and
// (asking the binary) flags.
func TestBashCompletion(t *testing.T) {
	needBinary(t)
	bash, err := exec.LookPath("bash")
	require.NoError(t, err, "bash is needed to test the bash completion")
	script, stderr, code := cli(t, nil, "completion", "bash")
	require.Equal(t, 0, code, stderr)
	file := filepath.Join(t.TempDir(), "incidenthub.bash")
	require.NoError(t, os.WriteFile(file, []byte(script), 0o644))
	complete := func(words ...string) []string {
		t.Helper()
		words = append([]string{binPath}, words...)
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		prog := "source " + file + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "\n_incidenthub\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		out, err := exec.Command(bash, "--norc", "--noprofile", "-c", prog).CombinedOutput()
		require.NoError(t, err, string(out))
		return strings.Fields(string(out))
	}
	require.ElementsMatch(t, []string{"registry", "rules"}, complete("r"))
	require.ElementsMatch(t, []string{"version", "--version"}, filterPrefix(complete(""), "v", "--v"))
	require.ElementsMatch(t, []string{"revoke", "rekey", "reveal"}, complete("registry", "re"))
	require.ElementsMatch(t, []string{"up", "status"}, complete("migrate", ""))
	require.ElementsMatch(t, []string{"--listen", "--log-level", "--log-format"}, complete("serve", "--l"))
	require.ElementsMatch(t, []string{"--overlap"}, complete("registry", "rotate", "--o"))
	require.Empty(t, complete("serve", "--config", "hub"), "a flag's value: left to file completion")
}

func filterPrefix(list []string, prefixes ...string) []string {
	var out []string
	for _, s := range list {
		for _, p := range prefixes {
			if strings.HasPrefix(s, p) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

const registryCLIConfig = `
sources:
  - name: am
    kind: alertmanager
    auth: {type: token, token: "${SRC_TOKEN}"}
    owner: {name: platform, contact: "#platform"}
    expected_interval: 1h
    rotation: {schedule: "@monthly", overlap: 2h}
  - name: gh
    kind: generic
    auth: {type: hmac, secret: "${GH_SECRET}", header: X-Sig}
`

// cli runs incidenthub in-process and returns stdout, stderr and the code.
func cli(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"incidenthub"}, args...), func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestRegistryCLI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		dir := t.TempDir()
		file := filepath.Join(dir, "hub.yaml")
		yamlText := registryCLIConfig
		opts := storetest.Options(t, dialect)
		if dialect == store.SQLite {
			yamlText += "database: {path: " + filepath.Join(dir, "hub.db") + "}\n"
		}
		require.NoError(t, os.WriteFile(file, []byte(yamlText), 0o600))
		key := make([]byte, 32)
		_, err := rand.Read(key)
		require.NoError(t, err)
		env := map[string]string{"SRC_TOKEN": "cli-src-token-1", "GH_SECRET": "cli-gh-secret-2", "USER": "alice",
			"INCIDENTHUB_SECRET_KEY": base64.StdEncoding.EncodeToString(key), EnvDatabaseURL: opts.URL}
		noKey := map[string]string{}
		for k, v := range env {
			if k != "INCIDENTHUB_SECRET_KEY" {
				noKey[k] = v
			}
		}

		_, stderr, code := cli(t, env, "registry", "list", "--config", file)
		require.Equal(t, 1, code)
		require.Contains(t, stderr, "migrate up", "an unmigrated database says what to do")
		_, stderr, code = cli(t, env, "migrate", "up", "--config", file)
		require.Zero(t, code, stderr)

		out, stderr, code := cli(t, env, "registry", "list", "--config", file)
		require.Zero(t, code, stderr)
		require.Regexp(t, `inbound\s+am\s+alertmanager\s+config\s+platform\s+token\s+v1 config`, out)
		require.Contains(t, out, "gh")

		// Without the key: reading works, rotating refuses and says why.
		_, stderr, code = cli(t, noKey, "registry", "rotate", "am", "--config", file)
		require.Equal(t, 1, code)
		require.Contains(t, stderr, "INCIDENTHUB_SECRET_KEY")

		out, stderr, code = cli(t, env, "registry", "rotate", "am", "--config", file, "--overlap", "1h")
		require.Zero(t, code, stderr)
		require.Contains(t, out, "secret version 2")
		require.Contains(t, out, "shown once")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		secret := lines[len(lines)-1]
		require.True(t, strings.HasPrefix(secret, "ihs_"), out)

		out, stderr, code = cli(t, noKey, "registry", "show", "--config", file, "am")
		require.Zero(t, code, stderr)
		require.NotContains(t, out, secret)
		var shown map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(out), &shown))
		require.Equal(t, "registry", shown["secret"].(map[string]any)["origin"])

		_, stderr, code = cli(t, noKey, "registry", "list", "--config", file)
		require.Equal(t, 0, code, "list needs no key")
		_, stderr, code = cli(t, noKey, "registry", "verify", "am", "--config", file)
		require.Equal(t, 1, code)
		require.Contains(t, stderr, "holds encrypted secrets")
		out, stderr, code = cli(t, env, "registry", "verify", "am", "--config", file)
		require.Zero(t, code, stderr)
		require.Contains(t, out, "inbound am: verified at")

		_, stderr, code = cli(t, env, "registry", "reveal", "am", "--config", file)
		require.Equal(t, 1, code)
		require.Contains(t, stderr, "already shown once")

		out, stderr, code = cli(t, env, "registry", "revoke", "am", "--previous", "--config", file)
		require.Zero(t, code, stderr)
		require.NotContains(t, out, "shown once", "ending the overlap issues no secret")

		// Export for auditors: CSV and YAML, without secrets.
		csvFile := filepath.Join(dir, "registry.csv")
		_, stderr, code = cli(t, env, "registry", "export", "--config", file, "--format", "csv", "--output", csvFile)
		require.Zero(t, code, stderr)
		require.Contains(t, stderr, "exported 2 entries")
		data, err := os.ReadFile(csvFile)
		require.NoError(t, err)
		recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		require.NoError(t, err)
		require.Len(t, recs, 3)
		require.Equal(t, "direction", recs[0][0])
		require.Equal(t, []string{"inbound", "am", "alertmanager", "config", "platform", "#platform"}, recs[1][:6])
		out, stderr, code = cli(t, env, "registry", "export", "--config", file)
		require.Zero(t, code, stderr)
		var exported struct {
			Entries []map[string]any `yaml:"entries"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(out), &exported))
		require.Len(t, exported.Entries, 2)
		for _, s := range []string{secret, "cli-src-token-1", "cli-gh-secret-2"} {
			require.NotContains(t, out, s)
			require.NotContains(t, string(data), s)
		}

		_, stderr, code = cli(t, env, "registry", "export", "--config", file, "--format", "xml")
		require.Equal(t, 2, code)
		require.Contains(t, stderr, "yaml or csv")
		_, stderr, code = cli(t, env, "registry", "show", "nope", "--config", file)
		require.Equal(t, 1, code)
		require.Contains(t, stderr, `no registry entry named "nope"`)
	})
}

// serve refuses to start when rotation is scheduled but no key is
// configured, and says how to fix it.
func TestServeRefusesWithoutKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "hub.yaml")
	require.NoError(t, os.WriteFile(file, []byte(registryCLIConfig+"database: {path: "+filepath.Join(dir, "hub.db")+"}\nlisten: 127.0.0.1:0\n"), 0o600))
	env := map[string]string{"SRC_TOKEN": "t1", "GH_SECRET": "t2"}
	_, stderr, code := cli(t, env, "serve", "--config", file)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, `inbound "am" has a rotation schedule but no secret key is configured`)
	require.Contains(t, stderr, "INCIDENTHUB_SECRET_KEY")
	require.Contains(t, stderr, "--insecure-dev-secrets")

	env["INCIDENTHUB_SECRET_KEY"] = "too-short"
	_, stderr, code = cli(t, env, "serve", "--config", file)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "INCIDENTHUB_SECRET_KEY")
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/silence"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

const (
	cliOperatorToken = "cli-operator-token-4b1e"
	cliViewerToken   = "cli-viewer-token-9f02"
)

// serveForCLI runs a hub in this process until the test ends and returns
// its base URL.
func serveForCLI(t *testing.T, dialect string) string {
	t.Helper()
	dir := t.TempDir()
	db := fmt.Sprintf("{path: %q}", filepath.Join(dir, "hub.db"))
	if dialect == store.Postgres {
		db = fmt.Sprintf("{url: %q}", storetest.PostgresURL(t))
	}
	yamlText := fmt.Sprintf(`database: %s
api:
  tokens:
    - {name: oncall, token: %s, role: operator}
    - {name: dashboard, token: %s, role: viewer}
`, db, cliOperatorToken, cliViewerToken)
	file := filepath.Join(dir, "hub.yaml")
	require.NoError(t, os.WriteFile(file, []byte(yamlText), 0o600))
	getenv := func(string) string { return "" }
	cfg, err := config.Load(file, getenv)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done, ready := make(chan error, 1), make(chan struct{})
	go func() {
		done <- app.Serve(ctx, cfg, getenv, slog.New(slog.NewTextHandler(io.Discard, nil)), ln, func(string) { close(ready) })
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	// Migrations may wait their turn behind other tests' on a shared server.
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("hub stopped: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("hub not ready after 2 minutes")
	}
	return "http://" + ln.Addr().String()
}

// TestSilenceCLI: add (amtool-style matchers), list by state, query,
// extend and expire against a running hub; errors name the problem and
// the token never prints.
func TestSilenceCLI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		base := serveForCLI(t, dialect)
		op := map[string]string{app.EnvAPIToken: cliOperatorToken, EnvURL: base}
		viewer := map[string]string{app.EnvAPIToken: cliViewerToken}

		// Flags before, between and after the matchers; quotes as a shell leaves them.
		out, errOut, code := cli(t, op, "silence", "add", "service=checkout", "--duration", "2h",
			`alertname=~"5xx.*"`, "--comment", "deploy of checkout, CHG-42")
		require.Equal(t, 0, code, errOut)
		id := strings.TrimSpace(out)
		require.Len(t, id, 36, "add prints the new silence's id: %q", out)

		out, errOut, code = cli(t, op, "silence", "add", "--url", base, "--expr", `severity == "info"`,
			"--start", time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "--duration", "1h", "--comment", "quiet night")
		require.Equal(t, 0, code, errOut)
		pending := strings.TrimSpace(out)

		// The viewer token reads, with --url instead of the environment.
		out, errOut, code = cli(t, viewer, "silence", "list", "--url", base, "--state", "active")
		require.Equal(t, 0, code, errOut)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 2, out)
		require.Regexp(t, `^ID\s+STATE\s+STARTS\s+ENDS\s+CREATED BY\s+MATCHERS\s+COMMENT$`, lines[0])
		require.Contains(t, lines[1], id)
		require.Contains(t, lines[1], "active")
		require.Contains(t, lines[1], "oncall")
		require.Contains(t, lines[1], `service=checkout alertname=~5xx.*`)
		require.Contains(t, lines[1], "deploy of checkout, CHG-42")

		out, errOut, code = cli(t, viewer, "silence", "list", "--url", base, "--json")
		require.Equal(t, 0, code, errOut)
		var all []silence.Silence
		require.NoError(t, json.Unmarshal([]byte(out), &all))
		require.Len(t, all, 2)
		require.Equal(t, pending, all[0].ID)
		require.Equal(t, silence.Pending, all[0].State)

		// Query: which silences an alert with these labels meets.
		out, errOut, code = cli(t, op, "silence", "query", "service=checkout", "alertname=5xx-rate")
		require.Equal(t, 0, code, errOut)
		require.Contains(t, out, id)
		require.NotContains(t, out, pending)
		out, errOut, code = cli(t, op, "silence", "query", "service=checkout", "alertname=disk-full")
		require.Equal(t, 0, code, errOut)
		require.NotContains(t, out, id)
		out, errOut, code = cli(t, op, "silence", "query", "severity=info", "--json", "--at", time.Now().Add(90*time.Minute).UTC().Format(time.RFC3339))
		require.Equal(t, 0, code, errOut)
		require.Contains(t, out, pending)

		out, errOut, code = cli(t, op, "silence", "extend", id, "--by", "1h")
		require.Equal(t, 0, code, errOut)
		require.Contains(t, out, id+" now ends at ")

		// Expire; then it is listed as expired.
		out, errOut, code = cli(t, op, "silence", "expire", id)
		require.Equal(t, 0, code, errOut)
		require.Equal(t, "expired "+id+"\n", out)
		out, _, code = cli(t, op, "silence", "list", "--state", "expired")
		require.Equal(t, 0, code)
		require.Contains(t, out, id)
		require.NotContains(t, out, pending)

		// Errors: the API's message naming the field, exit 1; usage, exit 2.
		_, errOut, code = cli(t, op, "silence", "add", "alertname=~5xx(", "--duration", "1h", "--comment", "c")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, `HTTP 422 unprocessable: matchers[0].value: "5xx(" is not a valid regular expression`)
		_, errOut, code = cli(t, op, "silence", "add", "service=x", "--duration", "1h")
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "comment: is required")
		_, errOut, code = cli(t, op, "silence", "expire", id)
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "HTTP 409 conflict: silence "+id+" already expired")
		_, errOut, code = cli(t, viewer, "silence", "expire", "--url", base, pending)
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "HTTP 403 forbidden: this action needs the operator role")
		_, errOut, code = cli(t, op, "silence", "add", "service", "--duration", "1h", "--comment", "c")
		require.Equal(t, 2, code)
		require.Contains(t, errOut, `matcher "service": want name=value`)
		_, errOut, code = cli(t, map[string]string{EnvURL: base}, "silence", "list")
		require.Equal(t, 2, code)
		require.Contains(t, errOut, "set $INCIDENTHUB_API_TOKEN")
		_, errOut, code = cli(t, op, "silence", "query", "alertname=~5xx")
		require.Equal(t, 2, code)
		require.Contains(t, errOut, "want NAME=VALUE")
		_, errOut, code = cli(t, op, "silence", "extend", pending)
		require.Equal(t, 2, code)
		require.Contains(t, errOut, "give --by DURATION or --end TIME")
		_, errOut, code = cli(t, map[string]string{app.EnvAPIToken: cliOperatorToken, EnvURL: "ftp://x"}, "silence", "list")
		require.Equal(t, 2, code)
		require.Contains(t, errOut, "want http(s)://host[:port]")
		for _, tok := range []string{cliOperatorToken, cliViewerToken} {
			require.NotContains(t, errOut+out, tok)
		}
	})
}

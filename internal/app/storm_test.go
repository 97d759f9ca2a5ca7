package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/internal/stormtest"
)

const (
	sourceToken = "storm-source-token"
	apiToken    = "storm-api-token"
	reopen      = 10 * time.Second
)

// serve runs a hub in this process on a free port until the test ends.
func serve(t *testing.T, database string) string {
	t.Helper()
	yaml := fmt.Sprintf(`database:
  %s
ingest:
  workers: 4
  poll_interval: 100ms
correlation:
  reopen_window: %s
%s`, database, reopen, stormtest.Sources)
	return serveConfig(t, yaml)
}

// serveConfig runs a hub with the config yaml (its tokens sourceToken and
// apiToken) in this process on a free port until the test ends.
func serveConfig(t *testing.T, yaml string) string {
	t.Helper()
	env := map[string]string{"INCIDENTHUB_SOURCE_TOKEN": sourceToken, app.EnvAPIToken: apiToken}
	getenv := func(k string) string { return env[k] }
	// A file, not just text: Serve's reloader reads the config file again.
	file := filepath.Join(t.TempDir(), "hub.yaml")
	require.NoError(t, os.WriteFile(file, []byte(yaml), 0o600))
	cfg, err := config.Load(file, getenv)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.Serve(ctx, cfg, getenv, slog.New(slog.NewTextHandler(io.Discard, nil)), ln, nil)
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return "http://" + ln.Addr().String()
}

// TestStorm: 10,000 firing alerts across 20 keys from 3 sources, posted
// concurrently over HTTP, become exactly 20 incidents; they all resolve;
// a flap inside the reopen window reopens, one outside opens a new one.
func TestStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("storm test: skipped with -short")
	}
	storetest.Each(t, func(t *testing.T, dialect string) {
		db := fmt.Sprintf("path: %q", filepath.Join(t.TempDir(), "hub.db"))
		if dialect == store.Postgres {
			db = fmt.Sprintf("url: %q", storetest.PostgresURL(t))
		}
		url := serve(t, db)
		stormtest.Run(t, stormtest.Options{URLs: []string{url}, SourceToken: sourceToken, APIToken: apiToken, Reopen: reopen})
	})
}

//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/internal/stormtest"
)

// TestStormTwoProcesses runs two `incidenthub serve` processes on one fresh
// PostgreSQL schema and fires one storm at both: 10,000 alerts across 20
// keys from 3 sources still become exactly 20 incidents, resolve to 20,
// and flap inside and outside the reopen window as with one process.
func TestStormTwoProcesses(t *testing.T) {
	needBinary(t)
	const reopen = 30 * time.Second // wide enough for a loaded -race run: the flap is posted right after the resolves are seen
	database := storetest.PostgresURL(t)
	cfg := filepath.Join(t.TempDir(), "storm.yaml")
	yaml := fmt.Sprintf("ingest:\n  workers: 4\n  poll_interval: 100ms\ncorrelation:\n  reopen_window: %s\n%s",
		reopen, stormtest.Sources)
	require.NoError(t, os.WriteFile(cfg, []byte(yaml), 0o600))

	hubs := make([]*hub, 2)
	var wg sync.WaitGroup
	for i := range hubs {
		wg.Go(func() { hubs[i] = startHub(t, cfg, database) }) // they race to migrate
	}
	wg.Wait()
	for _, h := range hubs {
		require.NotNil(t, h)
	}
	stormtest.Run(t, stormtest.Options{
		URLs:        []string{hubs[0].URL, hubs[1].URL},
		SourceToken: sourceToken,
		APIToken:    apiToken,
		Reopen:      reopen,
	})
	for i, h := range hubs {
		require.NotContains(t, h.output.String(), "level=ERROR", "hub %d logged an error", i)
	}
}

package correlation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// jsonLines parses every line; each must be a JSON object.
func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		out = append(out, m)
	}
	return out
}

// The sweep's auto-resolves are logged at INFO once each, after commit.
func TestSweepLogsAutoResolve(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		st := storetest.Open(t, dialect)
		c := newClock(t, st)
		c.policy.AutoResolveAfter = time.Hour
		var ids []int64
		for i := range 2 {
			ids = append(ids, c.fire(fmt.Sprint("a", i), func(in *correlation.Input) { in.Key = fmt.Sprint("svc/", i) }).IncidentID)
		}
		buf := &syncBuf{}
		sw := &correlation.Sweeper{Store: st, Policy: c.policy, Log: slog.New(slog.NewJSONHandler(buf, nil))}
		r, err := sw.Sweep(context.Background(), c.now.Add(2*time.Hour))
		require.NoError(t, err)
		require.Equal(t, 2, r.AutoResolved)
		lines := jsonLines(t, buf.b.String())
		require.Len(t, lines, 2, buf.b.String())
		var got []int64
		for _, l := range lines {
			require.Equal(t, "INFO", l["level"])
			require.Equal(t, "incident resolved", l["msg"])
			require.Equal(t, correlation.AutoResolver, l["actor"])
			require.Contains(t, l["reason"], "auto_resolve_after")
			got = append(got, int64(l["incident_id"].(float64)))
		}
		require.ElementsMatch(t, ids, got)
	})
}

func TestLogChanges(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	correlation.LogChanges(context.Background(), log, []correlation.Change{
		{IncidentID: 1, Key: "checkout/HighLatency", Outcome: correlation.Opened, Severity: "critical", AlertCount: 1, EventID: "ev-1", Notify: true},
		{IncidentID: 1, Outcome: correlation.Joined},
		{IncidentID: 1, Outcome: correlation.Duplicate},
		{IncidentID: 2, Key: "k", Outcome: correlation.Reopened, Flapping: true, Notify: false, Reason: "fired again"},
		{IncidentID: 3, Key: "k3", Outcome: correlation.Resolved, Actor: "alice", Notify: true},
	})
	correlation.LogChanges(context.Background(), nil, []correlation.Change{{Outcome: correlation.Opened}})
	lines := jsonLines(t, buf.String())
	require.Len(t, lines, 3, buf.String())
	require.Equal(t, "incident opened", lines[0]["msg"])
	require.Equal(t, "checkout/HighLatency", lines[0]["key"])
	require.Equal(t, "critical", lines[0]["severity"])
	require.Equal(t, "ev-1", lines[0]["event_id"])
	require.NotContains(t, lines[0], "notified")
	require.Equal(t, "incident reopened", lines[1]["msg"])
	require.Equal(t, true, lines[1]["flapping"])
	require.Equal(t, false, lines[1]["notified"])
	require.Equal(t, "incident resolved", lines[2]["msg"])
	require.Equal(t, "alice", lines[2]["actor"])
}

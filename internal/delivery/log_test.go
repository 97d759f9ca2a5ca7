package delivery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/delivery"
	"github.com/incidenthub/incidenthub/internal/logging"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A delivery that goes dead is logged once, at ERROR, as "delivery dead",
// with no secret of its target.
func TestDeliveryDeadIsLogged(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		wh := newReceiver(t)
		// The SSRF guard refuses loopback: dead at the first attempt.
		yaml := strings.Replace(hubConfig(wh, nil, ""), "allow_private_network: true", "allow_private_network: false", 1)
		h := newHub(t, dialect, yaml)
		buf := &logBuf{}
		log, err := logging.New(buf, logging.JSON, "info")
		require.NoError(t, err)
		eng, err := delivery.New(context.Background(), delivery.Options{Store: h.st, DatabaseURL: h.url, Config: h.cfg,
			Log: log, PollInterval: 50 * time.Millisecond, Work: true})
		require.NoError(t, err)
		h.proc.Notifier = eng
		h.start(eng)
		h.alert("a", "firing")
		h.drain()
		require.Eventually(t, func() bool { return strings.Contains(buf.String(), `"delivery dead"`) }, 10*time.Second, 10*time.Millisecond)
		dead := h.deliveries(incidenthub.DeliveryDead)
		require.Len(t, dead, 1)

		var lines []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(l), &m), l)
			if m["msg"] == "delivery dead" {
				lines = append(lines, m)
			}
		}
		require.Len(t, lines, 1)
		require.Equal(t, "ERROR", lines[0]["level"])
		require.Equal(t, "ops", lines[0]["target"])
		require.EqualValues(t, dead[0].ID, lines[0]["delivery_id"])
		require.EqualValues(t, dead[0].IncidentID, lines[0]["incident_id"])
		require.Contains(t, lines[0]["err"], "ssrf guard")
		require.NotContains(t, buf.String(), whSecret)
		require.NotContains(t, buf.String(), apiKey)
		require.NotContains(t, buf.String(), "token=abc")
	})
}

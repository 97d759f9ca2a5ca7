package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/metrics"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// gathered returns each series of reg as name{label values, in order}.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			k := mf.GetName()
			for _, l := range m.GetLabel() {
				k += "{" + l.GetValue() + "}"
			}
			out[k] = m.GetGauge().GetValue()
		}
	}
	return out
}

// TestStoreCollector: the backlog and its oldest age, and circuit states
// (recorded or not), read from the database; a second scrape within the
// cache TTL costs no query, one after it sees new rows.
func TestStoreCollector(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		for _, ago := range []time.Duration{90 * time.Second, 30 * time.Second} {
			_, _, err := st.InsertEvent(ctx, &store.Event{Source: "am", Kind: "alertmanager", ReceivedAt: now.Add(-ago), Body: []byte(`{}`)})
			require.NoError(t, err)
		}
		require.NoError(t, st.SetCircuit(ctx, store.TargetCircuit{Target: "pager", State: store.CircuitOpen, ChangedAt: now}))
		require.NoError(t, st.SetCircuit(ctx, store.TargetCircuit{Target: "jira", State: store.CircuitOpen, ChangedAt: now}))
		require.NoError(t, st.SetCircuit(ctx, store.TargetCircuit{Target: "jira", State: store.CircuitDisabled, ChangedAt: now}))
		c := &metrics.Store{Store: st, Targets: func() []string { return []string{"pager", "jira", "slack"} },
			Now: func() time.Time { return now }, TTL: 300 * time.Millisecond}
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)

		got := gathered(t, reg)
		require.Equal(t, 1.0, got["incidenthub_store_up"])
		require.Equal(t, 2.0, got["incidenthub_events_pending"])
		require.Equal(t, 90.0, got["incidenthub_events_oldest_pending_age_seconds"])
		require.Equal(t, 2.0, got["incidenthub_delivery_circuit_state{jira}"], "disabled, the latest change")
		require.Equal(t, 1.0, got["incidenthub_delivery_circuit_state{pager}"])
		require.Contains(t, got, "incidenthub_delivery_circuit_state{slack}", "a target with no change recorded is closed")
		require.Equal(t, 0.0, got["incidenthub_delivery_circuit_state{slack}"])
		require.Contains(t, got, "incidenthub_delivery_queue_depth{slack}")
		for _, sev := range []string{"critical", "high", "warning", "info"} {
			require.Contains(t, got, "incidenthub_incidents_open{"+sev+"}", "every severity, 0 included")
		}

		_, _, err := st.InsertEvent(ctx, &store.Event{Source: "am", Kind: "alertmanager", ReceivedAt: now, Body: []byte(`{}`)})
		require.NoError(t, err)
		require.Equal(t, 2.0, gathered(t, reg)["incidenthub_events_pending"], "cached")
		require.Eventually(t, func() bool { return gathered(t, reg)["incidenthub_events_pending"] == 3 },
			5*time.Second, 50*time.Millisecond, "read again after the TTL")

		st.Close()
		time.Sleep(400 * time.Millisecond)
		got = gathered(t, reg)
		require.Equal(t, 0.0, got["incidenthub_store_up"], "the store does not answer")
		require.NotContains(t, got, "incidenthub_events_pending")
	})
}

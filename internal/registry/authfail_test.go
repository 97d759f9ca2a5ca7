package registry_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/registry"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// TestAuthFailuresShared: two replicas on one database see the same auth
// failure count, addresses, flag and metric; a burst of failures costs a
// few writes, not one per request; the spike is raised once over both.
func TestAuthFailuresShared(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, dialect, testKeys(t))
		promB := prometheus.NewRegistry()
		b := registry.New(registry.Options{Store: f.st, Now: f.clock.Now, AuthFailureSpike: 3, Metrics: promB})
		require.NoError(t, b.Sync(ctx, f.specs, audit.ActorConfig))

		var writes atomic.Int64
		count := func(db *gorm.DB) {
			if db.Statement.Table == "registry_auth_failures" {
				writes.Add(1)
			}
		}
		require.NoError(t, f.st.DB.Callback().Create().After("gorm:create").Register("test:auth_writes_create", count))
		require.NoError(t, f.st.DB.Callback().Update().After("gorm:update").Register("test:auth_writes_update", count))

		var wg sync.WaitGroup
		for i := range 100 {
			wg.Go(func() { f.reg.AuthFailed(ctx, "am", []string{"192.0.2.1", "192.0.2.2"}[i%2]) })
		}
		for range 50 {
			wg.Go(func() { b.AuthFailed(ctx, "am", "198.51.100.7") })
		}
		wg.Wait()
		// Replica b reads its own failures at once, a's within a second
		// (a writes what it gathered when its interval ends).
		var e registry.Entry
		require.Eventually(t, func() bool {
			var err error
			e, err = b.Get(ctx, registry.Inbound, "am")
			require.NoError(t, err)
			return e.AuthFailures.Count == 150
		}, 5*time.Second, 20*time.Millisecond)
		require.ElementsMatch(t, []string{"192.0.2.1", "192.0.2.2", "198.51.100.7"}, e.AuthFailures.LastIPs)
		require.True(t, e.Flags.Failing, "failing on the replica that saw a third of them")
		require.LessOrEqual(t, writes.Load(), int64(8), "150 failures, a few aggregated writes (2 statements each)")

		ea, err := f.reg.Get(ctx, registry.Inbound, "am")
		require.NoError(t, err)
		require.Equal(t, e.AuthFailures, ea.AuthFailures, "both replicas report the same")
		require.Equal(t, 150.0, metricSum(t, f.prom, "incidenthub_inbound_auth_failures_total"))
		require.Equal(t, 150.0, metricSum(t, promB, "incidenthub_inbound_auth_failures_total"))
		require.Equal(t, 1.0, metricSum(t, f.prom, "incidenthub_registry_failing"), "only am is failing")
		require.Equal(t, 1.0, metricSum(t, promB, "incidenthub_registry_failing"))
		require.Len(t, f.audits(t, "inbound.auth_failure_spike"), 1, "one spike over both replicas")
		require.Equal(t, 1.0, metricSum(t, f.prom, "incidenthub_inbound_auth_failure_spikes_total")+
			metricSum(t, promB, "incidenthub_inbound_auth_failure_spikes_total"), "counted by the replica that raised it")

		// A new window (five minutes on): the next failures raise a new
		// spike once they reach the threshold again.
		f.clock.Add(registry.AuthFailureWindow + time.Second)
		for range 3 {
			b.AuthFailed(ctx, "am", "198.51.100.7")
		}
		_, err = b.Get(ctx, registry.Inbound, "am")
		require.NoError(t, err)
		require.Len(t, f.audits(t, "inbound.auth_failure_spike"), 2)
	})
}

// BenchmarkAuthFailed: the cost of one refused request to the registry
// (a probe flood), and the database writes it causes (writes/op).
func BenchmarkAuthFailed(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			st := storetest.Open(b, dialect)
			reg := registry.New(registry.Options{Store: st, AuthFailureSpike: 1 << 30})
			var writes atomic.Int64
			count := func(db *gorm.DB) {
				if db.Statement.Table == "registry_auth_failures" {
					writes.Add(1)
				}
			}
			require.NoError(b, st.DB.Callback().Update().After("gorm:update").Register("bench:auth_writes", count))
			ctx := context.Background()
			for b.Loop() {
				reg.AuthFailed(ctx, "am", "192.0.2.1")
			}
			b.ReportMetric(float64(writes.Load())/float64(b.N), "writes/op")
		})
	}
}

package correlation_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// BenchmarkApply measures correlation throughput on PostgreSQL: each
// iteration correlates one new firing alert into one of 20 keys, in
// transactions of `batch` alerts (ApplyBatch: one event's alerts),
// from `workers` concurrent workers. alerts/s is the figure to compare.
//
//	go test ./correlation -run '^$' -bench BenchmarkApply -benchmem
func BenchmarkApply(b *testing.B) {
	for _, c := range []struct{ batch, workers int }{{1, 1}, {100, 1}, {100, 4}} {
		b.Run(fmt.Sprintf("batch=%d/workers=%d", c.batch, c.workers), func(b *testing.B) {
			st := storetest.Open(b, store.Postgres)
			var next atomic.Int64
			now := time.Now().UTC()
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for range c.workers {
				wg.Go(func() {
					for {
						start := next.Add(int64(c.batch)) - int64(c.batch)
						if start >= int64(b.N) {
							return
						}
						end := min(start+int64(c.batch), int64(b.N))
						ins := make([]correlation.Input, 0, end-start)
						for i := start; i < end; i++ {
							a := alert(fmt.Sprint("b", i), incidenthub.AlertFiring, now)
							a.Service = fmt.Sprint("svc-", i%20)
							ins = append(ins, correlation.Input{Alert: a, EventID: "ev", Now: now})
						}
						err := st.Tx(context.Background(), func(tx *gorm.DB) error {
							_, err := correlation.ApplyBatch(tx, ins)
							return err
						})
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}

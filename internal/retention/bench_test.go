package retention_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/retention"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// BenchmarkRetention measures one run over 20,000 old events (bodies of
// 2 KiB blanked, then the events deleted) with the default batch size,
// and reports the longest batch: the longest a SQLite ingest waits for
// the writer, and how long a batch holds its row locks on PostgreSQL.
//
//	go test -run '^$' -bench BenchmarkRetention -benchtime 3x ./internal/retention/
func BenchmarkRetention(b *testing.B) {
	const n = 20000
	body := make([]byte, 2048)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			var longest time.Duration
			var rows int64
			var took time.Duration
			for range b.N {
				b.StopTimer()
				st := storetest.Open(b, dialect)
				evs := make([]store.Event, n)
				for i := range evs {
					at := now.Add(-100*day + time.Duration(i)*time.Millisecond)
					evs[i] = store.Event{ID: eventID(at), Source: "am", Kind: "alertmanager", ReceivedAt: at, Body: body,
						Headers: store.JSON[map[string]string]{V: map[string]string{"User-Agent": "am/1"}}, Status: store.EventProcessed}
				}
				require.NoError(b, st.DB.CreateInBatches(evs, 500).Error)
				r := runner(st, retention.Policy{EventBodies: 30 * day, Events: 90 * day, BatchSize: 1000})
				last := time.Now()
				r.OnBatch = func(string, int64) {
					longest = max(longest, time.Since(last))
					last = time.Now()
				}
				b.StartTimer()
				start := time.Now()
				res, err := r.RunOnce(ctx)
				took += time.Since(start)
				require.NoError(b, err)
				require.Equal(b, int64(n), res.Events)
				rows += res.Events + res.EventBodies
			}
			b.ReportMetric(float64(longest.Microseconds())/1000, "max-batch-ms")
			b.ReportMetric(float64(rows)/took.Seconds(), "rows/s")
		})
	}
}

package delivery_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/incidenthub/incidenthub/internal/storetest"
)

// BenchmarkOpenAndDeliver measures enqueue + deliver: b.N incidents are
// opened (each enqueuing its sync job in the processing transaction) and
// delivered to a signed webhook receiver.
func BenchmarkOpenAndDeliver(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			wh := newReceiver(b)
			h := newHub(b, dialect, hubConfig(wh, nil, ""))
			h.start(h.eng)
			b.ResetTimer()
			for i := range b.N {
				n := h.seq.Add(1)
				body := fmt.Sprintf(`{"id":"b%d","fingerprint":"f%d","status":"firing","severity":"high","service":"svc%d","alert_type":"T","title":"t"}`, n, i, i)
				h.insertRaw(body)
			}
			h.drain()
			for len(wh.got()) < b.N {
				time.Sleep(5 * time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

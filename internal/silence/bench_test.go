package silence_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/silence"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// BenchmarkInForce is what the processor adds to each event: read the
// silences in force in the transaction and match one alert against them,
// with 0, 10 and 100 active silences (and 100 expired ones the query must
// skip).
//
//	go test ./internal/silence -run '^$' -bench InForce -benchtime 2s
func BenchmarkInForce(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		st := storetest.Open(b, dialect)
		ctx := context.Background()
		for i := range 100 {
			n := checkout(time.Hour)
			n.Matchers[0].Value = fmt.Sprintf("svc-%d", i)
			s, err := silence.Create(ctx, st.DB, n)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := silence.Expire(ctx, st.DB, s.ID, "bench"); err != nil {
				b.Fatal(err)
			}
		}
		a := incidenthub.Alert{Service: "checkout", Labels: map[string]string{"alertname": "5xx-rate"}}
		made := 0
		for _, active := range []int{0, 10, 100} {
			for ; made < active; made++ {
				n := checkout(time.Hour)
				n.Matchers[0].Value = fmt.Sprintf("svc-%d", made)
				if _, err := silence.Create(ctx, st.DB, n); err != nil {
					b.Fatal(err)
				}
			}
			b.Run(fmt.Sprintf("%s/active=%d", dialect, active), func(b *testing.B) {
				for b.Loop() {
					set, err := silence.InForce(st.DB, time.Now())
					if err != nil {
						b.Fatal(err)
					}
					if _, err := set.Holds(a); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

package web_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/web"
)

// BenchmarkIngest measures accepting one webhook end to end in the handler:
// token check, body read, JSON check, dedup key, durable insert, 202. Each
// request carries a distinct alert so none is a duplicate.
//
//	go test -run x -bench Ingest -benchmem ./web/
func BenchmarkIngest(b *testing.B) {
	benchmarkIngest(b, func(n int64) string {
		return fmt.Sprintf(`{"id":"bench-%d","status":"firing","service":"api","alert_type":"cpu","host":"web-%d"}`, n, n%50)
	})
}

// BenchmarkIngestDuplicate measures a sender repeating deliveries the hub
// already holds: every request after the first few is a duplicate of one of
// 50 events (so concurrent repeats of one event contend a little, as a
// retrying sender's would), and is counted on the original.
//
//	go test -run x -bench IngestDuplicate -benchmem ./web/
func BenchmarkIngestDuplicate(b *testing.B) {
	benchmarkIngest(b, func(n int64) string {
		return fmt.Sprintf(`{"id":"bench-%d","status":"firing","service":"api","alert_type":"cpu","host":"web-%d"}`, n%50, n%50)
	})
}

func benchmarkIngest(b *testing.B, body func(n int64) string) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			st := storetest.Open(b, dialect)
			// The rate limit is off: the benchmark measures the store.
			cfg, err := config.Parse("bench.yaml", []byte(`
ingest: {rate_limit: {per_second: 0}}
sources:
  - {name: gen, kind: generic, auth: {type: token, token: tok}}
`), func(string) string { return "" })
			if err != nil {
				b.Fatal(err)
			}
			h := web.New(web.Deps{
				Store: st, Config: func() *config.Config { return cfg },
				Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			var seq atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(8) // 16 concurrent senders on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/hooks/gen", bytes.NewBufferString(body(seq.Add(1))))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer tok")
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusAccepted {
						b.Errorf("status %d: %s", rec.Code, rec.Body)
						return
					}
				}
			})
		})
	}
}

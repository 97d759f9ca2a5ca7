package web

import (
	"net/http/httptest"
	"os"
	"testing"

	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/mappings"
)

// BenchmarkIngestChecks measures the CPU work the ingest path does on a
// body before storing it: the nesting scan, the JSON check and the dedup
// key (for Alertmanager, from its alerts' fingerprint, startsAt and
// status). BenchmarkCheckDepth and BenchmarkCheckJSON split out the first
// two, to compare the scan with the check it precedes.
//
//	go test -run x -bench IngestChecks -benchmem ./web/
func BenchmarkIngestChecks(b *testing.B) {
	body, err := os.ReadFile("testdata/alertmanager-multi.json")
	if err != nil {
		b.Fatal(err)
	}
	src := &config.Source{Name: "am", Kind: "alertmanager"}
	r := httptest.NewRequest("POST", "/hooks/am", nil)
	set := mappings.Builtin()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := checkDepth(body, config.DefaultMaxDepth); err != nil {
			b.Fatal(err)
		}
		if err := checkJSON(body); err != nil {
			b.Fatal(err)
		}
		if dedupKey(r, src, set, body, "") == "" {
			b.Fatal("no dedup key")
		}
	}
}

func BenchmarkCheckDepth(b *testing.B) {
	body, err := os.ReadFile("testdata/alertmanager-multi.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := checkDepth(body, config.DefaultMaxDepth); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckJSON(b *testing.B) {
	body, err := os.ReadFile("testdata/alertmanager-multi.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := checkJSON(body); err != nil {
			b.Fatal(err)
		}
	}
}

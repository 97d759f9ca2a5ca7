package web

import (
	"errors"
	"testing"
	"time"

	"github.com/incidenthub/incidenthub"
)

// FuzzParseWhen: the rules playground's time field reads RFC 3339 or a UTC
// date and time; what it reads prints as RFC 3339 and reads back as the
// same instant, a date without a zone is UTC, and anything else is an
// EINVALID error saying what to type.
//
//	go test ./web -run '^$' -fuzz FuzzParseWhen -fuzztime 60s
func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"2026-03-01T14:30:00Z", "2026-03-01T14:30:00+02:00", "2026-03-01 14:30", "2026-03-01 14:30:05",
		"2026-03-01T14:30", "2026-03-01", "", "now", "2026-02-30", "0000-01-01", "9999-12-31T23:59:59Z", "2026-03-01T14:30:00.5Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseWhen(s)
		if err != nil {
			var e *incidenthub.Error
			if !errors.As(err, &e) || e.Code != incidenthub.EINVALID {
				t.Fatalf("parseWhen(%q): %T %v, want EINVALID", s, err, err)
			}
			return
		}
		if _, zerr := time.Parse(time.RFC3339, s); zerr != nil && got.Location() != time.UTC {
			t.Fatalf("parseWhen(%q) = %v: a time without a zone must be UTC", s, got)
		}
		if got.Year() < 0 || got.Year() > 9999 {
			return // time.Parse reads only four-digit years; nothing else to check
		}
		back, err := time.Parse(time.RFC3339Nano, got.Format(time.RFC3339Nano))
		if err != nil || !back.Equal(got) {
			t.Fatalf("parseWhen(%q) = %v, which does not read back: %v", s, got, err)
		}
	})
}

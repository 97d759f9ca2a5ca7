package httperr

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseRetryAfter: whatever a server sends, the wait is whole seconds
// in [0, MaxRetryAfter]; delay-seconds below the cap are read exactly, at
// or above it (any number of digits) give the cap; an HTTP date gives the
// time until it, capped, or 0 when past.
//
//	go test ./internal/httperr -run '^$' -fuzz FuzzParseRetryAfter -fuzztime 60s
func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, s := range []string{"", "0", "30", "3599", "3600", "9227000000", "18446744074", "99999999999999999999",
		"-5", "+5", " 7 ", "5s", "1e3", "0x10", now.Add(90 * time.Second).Format(http.TimeFormat),
		"Fri, 31 Dec 9999 23:59:59 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Mon, 01 Jan 0001 00:00:00 GMT"} {
		f.Add(s, now.Unix())
	}
	f.Fuzz(func(t *testing.T, v string, nowUnix int64) {
		at := time.Unix(nowUnix%(1<<36), 0).UTC() // years 1 to ~4147, either side of 1970
		d := ParseRetryAfter(v, at)
		if d < 0 || d > MaxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q) = %v, outside [0, %v]", v, d, MaxRetryAfter)
		}
		if d%time.Second != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v: not whole seconds", v, d)
		}
		s := strings.TrimSpace(v)
		if isDigits(s) {
			n, err := strconv.ParseUint(s, 10, 64)
			want := MaxRetryAfter
			if err == nil && n < uint64(MaxRetryAfter/time.Second) {
				want = time.Duration(n) * time.Second
			}
			if d != want {
				t.Fatalf("ParseRetryAfter(%q) = %v, want %v", v, d, want)
			}
			return
		}
		date, err := http.ParseTime(s)
		if err != nil {
			if d != 0 {
				t.Fatalf("ParseRetryAfter(%q) = %v for neither seconds nor a date", v, d)
			}
			return
		}
		switch {
		case !date.After(at) && d != 0:
			t.Fatalf("ParseRetryAfter(%q) = %v for a date in the past", v, d)
		case date.After(at.Add(MaxRetryAfter)) && d != MaxRetryAfter:
			t.Fatalf("ParseRetryAfter(%q) = %v for a date beyond the cap", v, d)
		case date.After(at) && !date.After(at.Add(MaxRetryAfter)) && d != date.Sub(at).Round(time.Second):
			t.Fatalf("ParseRetryAfter(%q) = %v, want %v", v, d, date.Sub(at).Round(time.Second))
		}
		if CapRetryAfter(d) != d {
			t.Fatalf("CapRetryAfter changed an already capped %v", d)
		}
	})
}

package mappings

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/incidenthub/incidenthub"
)

// FuzzTimeFormat feeds arbitrary text (and JSON numbers) to every payload
// time format a mapping can name (rfc3339, epoch_s, epoch_ms, auto, a Go
// layout). A time read is UTC, zero ("no time") or in years 1–9999, and
// prints as RFC 3339 and reads back as the same instant; rfc3339 agrees
// with the standard library and an integer epoch is read exactly; a
// refusal is short whatever the input, and from a payload node it is an
// EUNPROCESSABLE error naming the node's path.
//
//	go test ./mappings -run '^$' -fuzz FuzzTimeFormat -fuzztime 60s
func FuzzTimeFormat(f *testing.F) {
	for _, s := range []string{"2024-05-01T12:00:00Z", "2024-05-01T14:00:00.123+02:00", "1406662672", "1406662672000", "1406662672.5",
		"-1", "0", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "10000-01-01T00:00:00Z", "2024-05-01T12:00:00.000+0000",
		"2024-05-01 12:00:00", "Mon, 02 Jan 2006 15:04:05 MST", "1e3", "0x10", "99999999999999999999", "1.7976931348623157e308",
		" 1406662672 ", "NaN", "", strings.Repeat("9", 300)} {
		for _, format := range []string{"rfc3339", "epoch_s", "epoch_ms", "auto", "02/01/2006 15:04"} {
			f.Add(format, s)
		}
	}
	f.Fuzz(func(t *testing.T, format, value string) {
		tf, err := parseTimeFormat(format)
		if err != nil {
			if !strings.Contains(format, "2006") && len(err.Error()) > 200+len(format) {
				t.Fatalf("format error of %d bytes", len(err.Error()))
			}
			return
		}
		got, err := tf.parse(value)
		if err != nil {
			if len(err.Error()) > 2*maxShown+len(tf.layout)+100 {
				t.Fatalf("error of %d bytes: untrusted input is not cut short", len(err.Error()))
			}
			checkNodeError(t, tf, node{path: "alerts[0].startsAt", v: value})
			return
		}
		checkTime(t, value, got)
		switch tf.name {
		case "rfc3339":
			if got.IsZero() {
				break // "", or Go's zero time: "no time"
			}
			std, serr := time.Parse(time.RFC3339Nano, value)
			if serr != nil || (!std.IsZero() && !std.Equal(got)) {
				t.Fatalf("rfc3339 %q read as %v; the standard library says %v, %v", value, got, std, serr)
			}
		case "epoch_s", "epoch_ms":
			if i, perr := strconv.ParseInt(strings.TrimSpace(value), 10, 64); perr == nil && !got.IsZero() {
				want := i
				if tf.name == "epoch_ms" {
					want = got.UnixMilli()
					if got.UnixMilli() != i {
						t.Fatalf("epoch_ms %q read as %v", value, got)
					}
				} else if got.Unix() != want {
					t.Fatalf("epoch_s %q read as %v", value, got)
				}
			}
		}
		// The same text as a JSON number reads the same for the epoch formats.
		if tf.name == "epoch_s" || tf.name == "epoch_ms" || tf.name == "auto" {
			if _, perr := strconv.ParseFloat(value, 64); perr == nil && json.Valid([]byte(value)) {
				n := node{path: "ts", v: json.Number(value)}
				fromNumber, nerr := tf.parseNode(n)
				if nerr == nil && !fromNumber.Equal(got) {
					t.Fatalf("%s %q: %v as a string, %v as a number", tf.name, value, got, fromNumber)
				}
			}
		}
	})
}

func checkTime(t *testing.T, value string, got time.Time) {
	t.Helper()
	if got.IsZero() {
		return
	}
	if got.Location() != time.UTC {
		t.Fatalf("%q read as %v, not in UTC", value, got)
	}
	if y := got.Year(); y < 1 || y > 9999 {
		t.Fatalf("%q read as year %d", value, y)
	}
	back, err := time.Parse(time.RFC3339Nano, got.Format(time.RFC3339Nano))
	if err != nil || !back.Equal(got) {
		t.Fatalf("%q read as %v, which does not print and read back as RFC 3339: %v", value, got, err)
	}
}

func checkNodeError(t *testing.T, tf timeFormat, n node) {
	t.Helper()
	_, err := tf.parseNode(n)
	var e *incidenthub.Error
	if !errors.As(err, &e) || e.Code != incidenthub.EUNPROCESSABLE || !strings.Contains(e.Message, n.path) {
		t.Fatalf("a bad time in a payload must be EUNPROCESSABLE naming %s, got %T %v", n.path, err, err)
	}
}

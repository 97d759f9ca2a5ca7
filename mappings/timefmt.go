package mappings

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// timeFormat is how a timestamp is written in a payload:
//
//	rfc3339    2024-05-01T12:00:00Z, 2024-05-01T14:00:00.123+02:00 (the default)
//	epoch_s    seconds since 1970, as a number or a string of digits (decimals allowed)
//	epoch_ms   milliseconds since 1970 (Datadog's $DATE)
//	auto       any of the above (epoch seconds, milliseconds, microseconds or
//	           nanoseconds told apart by size) or a common vendor format:
//	           2024-05-01T12:00:00.000+0000 (CloudWatch), 2024-05-01 12:00:00,
//	           2024-05-01T12:00:00 (both UTC), RFC 1123 (Mon, 02 Jan 2006 15:04:05 MST)
//	a Go layout  anything else containing 2006, e.g. "02/01/2006 15:04"
//
// Null, "" and Go's zero time 0001-01-01T00:00:00Z read as "no time".
type timeFormat struct {
	name   string // rfc3339, epoch_s, epoch_ms, auto, or "" for a layout
	layout string
}

var defaultTimeFormat = timeFormat{name: "rfc3339"}

func parseTimeFormat(s string) (timeFormat, error) {
	switch s {
	case "", "rfc3339":
		return defaultTimeFormat, nil
	case "epoch_s", "epoch_ms", "auto":
		return timeFormat{name: s}, nil
	}
	if strings.Contains(s, "2006") {
		return timeFormat{layout: s}, nil
	}
	return timeFormat{}, fmt.Errorf("unknown time format %q (want rfc3339, epoch_s, epoch_ms, auto or a Go layout such as \"2006-01-02 15:04:05\")", s)
}

// want describes the format in error messages.
func (f timeFormat) want() string {
	switch f.name {
	case "rfc3339":
		return "RFC 3339, e.g. 2024-05-01T12:00:00Z"
	case "epoch_s":
		return "epoch seconds, e.g. 1406662672"
	case "epoch_ms":
		return "epoch milliseconds, e.g. 1406662672000"
	case "auto":
		return "RFC 3339, epoch seconds or milliseconds, or a common date format"
	}
	return "layout " + strconv.Quote(f.layout)
}

// parseNode reads a timestamp from a payload node.
func (f timeFormat) parseNode(n node) (time.Time, error) {
	var s string
	switch v := n.v.(type) {
	case nil:
		return time.Time{}, nil
	case string:
		s = v
	default:
		if f.name != "epoch_s" && f.name != "epoch_ms" && f.name != "auto" {
			if f.name == "rfc3339" {
				return time.Time{}, n.wrongType("an RFC 3339 timestamp string")
			}
			return time.Time{}, n.wrongType("a timestamp string")
		}
		str, err := n.str()
		if err != nil {
			want := map[string]string{"epoch_s": "epoch seconds", "epoch_ms": "epoch milliseconds"}[f.name]
			if want == "" {
				want = "a timestamp"
			}
			return time.Time{}, n.wrongType(want)
		}
		s = str
	}
	t, err := f.parse(s)
	if err != nil {
		return time.Time{}, n.errorf("%v", err)
	}
	return t, nil
}

// parse reads a timestamp written as text, in UTC.
func (f timeFormat) parse(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	var (
		t  time.Time
		ok bool
	)
	switch f.name {
	case "rfc3339":
		t, ok = rfc3339(s)
	case "epoch_s":
		t, ok = epoch(s, time.Second)
	case "epoch_ms":
		t, ok = epoch(s, time.Millisecond)
	case "auto":
		t, ok = auto(s)
	default:
		var err error
		t, err = time.Parse(f.layout, s)
		ok = err == nil
	}
	if !ok {
		return time.Time{}, fmt.Errorf("invalid timestamp %s (want %s)", strconv.Quote(shorten(s)), f.want())
	}
	return f.check(t, s)
}

// check rejects times the hub cannot store or print as RFC 3339; the zero
// time means "no time".
func (f timeFormat) check(t time.Time, raw string) (time.Time, error) {
	if t.IsZero() {
		return time.Time{}, nil
	}
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, fmt.Errorf("timestamp %s is out of range", strconv.Quote(shorten(raw)))
	}
	return t, nil
}

// outOfRange stands for an epoch too large for time.Unix; check rejects it.
var outOfRange = time.Date(99999, 1, 1, 0, 0, 0, 0, time.UTC)

func rfc3339(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// epoch reads a count of units since 1970: digits, optionally with a
// fraction.
func epoch(s string, unit time.Duration) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		switch unit {
		case time.Second:
			if i > 1e12 || i < -1e12 {
				return outOfRange, true // check says so
			}
			return time.Unix(i, 0), true
		case time.Millisecond:
			return time.UnixMilli(i), true
		case time.Microsecond:
			return time.UnixMicro(i), true
		}
		return time.Unix(0, i), true
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || strings.ContainsAny(s, "eExXpP_") {
		return time.Time{}, false
	}
	sec := x * unit.Seconds()
	if sec > 1e15 || sec < -1e15 {
		return outOfRange, true
	}
	whole := math.Floor(sec)
	return time.Unix(int64(whole), int64((sec-whole)*1e9)), true
}

// autoLayouts are the vendor formats "auto" tries after RFC 3339. Layouts
// without a zone read as UTC.
var autoLayouts = []string{
	"2006-01-02T15:04:05.999999999-0700", // CloudWatch StateChangeTime: 2024-05-01T12:00:00.000+0000
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999 -0700",
	"2006-01-02 15:04:05.999999999 -0700 MST",
	"2006-01-02 15:04:05.999999999",
	time.RFC1123Z,
	time.RFC1123,
	time.RFC850,
	time.UnixDate,
	"2006-01-02",
}

func auto(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, ok := rfc3339(s); ok {
		return t, true
	}
	if digits := strings.TrimLeft(s, "-"); digits != "" && strings.Trim(digits, "0123456789.") == "" {
		whole, _, _ := strings.Cut(digits, ".")
		switch n := len(whole); {
		case n <= 11:
			return epoch(s, time.Second)
		case n <= 14:
			return epoch(s, time.Millisecond)
		case n <= 17:
			return epoch(s, time.Microsecond)
		default:
			return epoch(s, time.Nanosecond)
		}
	}
	for _, l := range autoLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

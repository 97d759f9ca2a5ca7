package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"strconv"
	"strings"
	"time"

	"github.com/incidenthub/incidenthub"
)

// DefaultTolerance is the replay window of the schemes whose sender signs
// or sends a timestamp (auth.tolerance): a delivery stamped further from
// the receive time than this, in either direction, is refused.
const DefaultTolerance = 5 * time.Minute

// maxUnix is 9999-12-31T23:59:59Z: later (or negative) "Unix times" are
// not times a sender stamps, and would overflow time arithmetic.
const maxUnix = 253402300799

// unauthorized is the error every verifier returns: 401 with a message
// naming the problem (never a secret, never the expected signature).
func unauthorized(format string, args ...any) error {
	return incidenthub.Errorf(incidenthub.EUNAUTHORIZED, format, args...)
}

// shown quotes an untrusted header value for an error message, cut short so
// a huge header cannot bloat the response.
func shown(v string) string {
	const max = 40
	if len(v) > max {
		return strconv.Quote(v[:max]) + "…"
	}
	return strconv.Quote(v)
}

// checkTimestamp parses a Unix-seconds timestamp header and, with a
// positive tolerance, refuses one further than tolerance from now.
func checkTimestamp(name, value string, now time.Time, tolerance time.Duration) (time.Time, error) {
	sec, err := strconv.ParseInt(value, 10, 64)
	if err != nil || sec < 0 || sec > maxUnix {
		return time.Time{}, unauthorized("malformed %s header: %s is not a Unix time in seconds", name, shown(value))
	}
	ts := time.Unix(sec, 0)
	if tolerance <= 0 {
		return ts, nil
	}
	// Compare times, not durations: a difference of more than 292 years
	// saturates time.Duration, and a negated minimum stays negative.
	switch {
	case ts.Before(now.Add(-tolerance)):
		return ts, unauthorized("stale timestamp: %s says the delivery was sent %s ago, outside the %s tolerance (auth.tolerance); a replayed or long-delayed delivery is refused",
			name, roundDuration(now.Sub(ts)), tolerance)
	case ts.After(now.Add(tolerance)):
		return ts, unauthorized("timestamp in the future: %s is %s ahead of the hub's clock, outside the %s tolerance (auth.tolerance); check the sender's clock",
			name, roundDuration(ts.Sub(now)), tolerance)
	}
	return ts, nil
}

// roundDuration makes a duration readable: whole seconds.
func roundDuration(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(time.Second)
	}
	return d
}

// macSHA256 is the HMAC-SHA256 of the parts, keyed with key.
func macSHA256(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// anyMAC reports whether any of the given signatures equals the body's
// HMAC-SHA256 under any non-empty secret. Every pair is compared, in
// constant time each, so the timing says nothing about which matched.
func anyMAC(got [][]byte, secrets []string, body []byte) bool {
	return anyMACParts(got, secrets, body)
}

// anyMACParts is anyMAC over signed content given in parts.
func anyMACParts(got [][]byte, secrets []string, parts ...[]byte) bool {
	ok := 0
	for _, s := range secrets {
		if s == "" {
			continue
		}
		want := macSHA256([]byte(s), parts...)
		for _, g := range got {
			ok |= subtle.ConstantTimeCompare(g, want)
		}
	}
	return ok == 1
}

// EqualSecret compares a presented credential with a secret in constant
// time, also for different lengths; an empty secret never matches.
func EqualSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1 && want != ""
}

// anyEqualSecret compares got with every secret, in constant time each.
func anyEqualSecret(got string, secrets []string) bool {
	ok := false
	for _, want := range secrets {
		if EqualSecret(got, want) {
			ok = true
		}
	}
	return ok
}

// missing names absent headers in one message.
func missing(names ...string) error {
	if len(names) == 1 {
		return unauthorized("missing %s header", names[0])
	}
	return unauthorized("missing %s headers", strings.Join(names, ", "))
}

package verify

import (
	"strconv"
	"testing"
	"time"
)

func TestSentry(t *testing.T) {
	t.Parallel()
	// Sentry client secrets are 64 hex digits. The expected signature was
	// computed outside Go: printf '%s' "$(cat testdata/sentry-issue-created.json)" |
	// openssl dgst -sha256 -hmac <secret>.
	const secret = "a3f1c0ffee5e2b7d9c8e4f6a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4"
	const want = "c4822decae43181c3908c65574ee863c173f46e966e75e0bccaae8be47484b5b"
	const old = "0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d"
	body := readTestdata(t, "sentry-issue-created.json")
	now := time.Unix(1714637643, 0)
	stamp := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	signed := func(sig, ts string) []string {
		h := []string{SentrySignatureHeader, sig}
		if ts != "" {
			h = append(h, SentryTimestampHeader, ts)
		}
		return h
	}
	cases := []testCase{
		{name: "good", header: hdr(signed(want, stamp(0))...), body: body, now: now, secrets: []string{secret}},
		{name: "independently computed signature", header: hdr(signed(hexMAC(secret, body), stamp(-time.Minute))...), body: body, now: now, secrets: []string{secret}},
		{name: "no timestamp header", header: hdr(signed(want, "")...), body: body, now: now, secrets: []string{secret}},
		{name: "rotated secret overlap: old", header: hdr(signed(hexMAC(old, body), stamp(0))...), body: body, now: now, secrets: []string{secret, old}},
		{name: "rotated secret overlap: new", header: hdr(signed(want, stamp(0))...), body: body, now: now, secrets: []string{old, secret}},
		{name: "wrong secret", header: hdr(signed(hexMAC("not-it", body), stamp(0))...), body: body, now: now, secrets: []string{secret, old}, words: []string{"signature mismatch", SentrySignatureHeader, "client secret"}},
		{name: "tampered body", header: hdr(signed(want, stamp(0))...), body: append([]byte(" "), body...), now: now, secrets: []string{secret}, words: []string{"signature mismatch"}},
		{name: "stale timestamp", header: hdr(signed(want, stamp(-6*time.Minute))...), body: body, now: now, secrets: []string{secret}, words: []string{"stale timestamp", SentryTimestampHeader, "6m0s ago", "5m0s tolerance"}},
		{name: "future timestamp", header: hdr(signed(want, stamp(10*time.Minute))...), body: body, now: now, secrets: []string{secret}, words: []string{"in the future", "10m0s ahead", "5m0s tolerance"}},
		{name: "malformed timestamp", header: hdr(signed(want, "2024-05-02T08:14:03Z")...), body: body, now: now, secrets: []string{secret}, words: []string{"malformed " + SentryTimestampHeader + " header", "Unix time"}},
		{name: "missing signature", header: hdr(SentryTimestampHeader, stamp(0)), body: body, now: now, secrets: []string{secret}, words: []string{"missing " + SentrySignatureHeader + " header"}},
		{name: "malformed signature: not hex", header: hdr(signed("sha256="+want, stamp(0))...), body: body, now: now, secrets: []string{secret}, words: []string{"malformed " + SentrySignatureHeader + " header", "64 hex digits"}},
		{name: "malformed signature: short", header: hdr(signed(want[:62], stamp(0))...), body: body, now: now, secrets: []string{secret}, words: []string{"malformed " + SentrySignatureHeader}},
	}
	runCases(t, Sentry{Tolerance: DefaultTolerance}, cases, nil)

	runCases(t, Sentry{}, []testCase{
		{name: "tolerance 0 checks no window", header: hdr(signed(want, stamp(-48*time.Hour))...), body: body, now: now, secrets: []string{secret}},
		{name: "tolerance 0 still parses", header: hdr(signed(want, "soon")...), body: body, now: now, secrets: []string{secret}, words: []string{"malformed"}},
	}, nil)
}

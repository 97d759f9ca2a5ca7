package verify

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerifyHMACTimestamped: a timestamped hmac (Slack's scheme) accepts
// only a timestamp inside the tolerance with a signature over the signed
// content under one of the secrets; always accepts a request signed right
// over the fuzzed body and a fresh timestamp; and its Result.Signed is the
// same for every spelling of one request and differs for another
// timestamp.
//
//	go test ./internal/verify -run '^$' -fuzz FuzzVerifyHMACTimestamped -fuzztime 60s
func FuzzVerifyHMACTimestamped(f *testing.F) {
	f.Add([]byte(slackBody), slackSignature, slackTimestamp, "v0:{timestamp}:{body}")
	f.Add([]byte(`{"a":1}`), "v0="+hexMAC(fuzzSecret, []byte(`1700000000.{"a":1}`)), "1700000000", "")
	f.Add([]byte(`{}`), "v0=zz", "-1", "{body}{timestamp}")
	f.Add([]byte{}, "", "99999999999999999999", "{timestamp}")
	f.Fuzz(func(t *testing.T, body []byte, sig, ts, tmpl string) {
		content, err := ParseSignedContent(tmpl)
		if err != nil {
			content, _ = ParseSignedContent(DefaultSignedContent)
			tmpl = DefaultSignedContent
		}
		v := HMAC{Header: "X-Sig", Encoding: "hex", Prefix: "v0=", TimestampHeader: "X-Ts", Content: content, Tolerance: fuzzTolerance}
		signedFor := func(ts string) []byte {
			return []byte(strings.NewReplacer("{timestamp}", ts, "{body}", string(body)).Replace(tmpl))
		}
		h := http.Header{}
		h.Set("X-Sig", sig)
		h.Set("X-Ts", ts)
		res, err := verifyOnce(v, h, nil, body, fuzzSecret, fuzzOld)
		if err != nil {
			checkRefusal(t, err, fuzzSecret, fuzzOld, hexMAC(fuzzSecret, signedFor(ts)), hexMAC(fuzzOld, signedFor(ts)))
		} else {
			if !carriesMAC(strings.TrimPrefix(strings.TrimSpace(sig), "v0="), signedFor(h.Get("X-Ts")), false, fuzzSecret, fuzzOld) {
				t.Fatalf("accepted %q over %q", sig, signedFor(ts))
			}
			sec, perr := strconv.ParseInt(h.Get("X-Ts"), 10, 64)
			if perr != nil || time.Unix(sec, 0).Sub(fuzzNow).Abs() > fuzzTolerance {
				t.Fatalf("accepted timestamp %q", ts)
			}
			if res.Signed != digest(signedFor(h.Get("X-Ts"))) {
				t.Fatalf("Signed %s is not the digest of the signed content", res.Signed)
			}
		}
		fresh := strconv.FormatInt(fuzzNow.Unix()-30, 10)
		good := http.Header{}
		good.Set("X-Sig", "v0="+hexMAC(fuzzOld, signedFor(fresh)))
		good.Set("X-Ts", fresh)
		r1, err := verifyOnce(v, good, nil, body, fuzzSecret, fuzzOld)
		if err != nil {
			t.Fatalf("refused a good signature: %v", err)
		}
		good.Set("X-Sig", " v0="+strings.ToUpper(hexMAC(fuzzOld, signedFor(fresh))))
		r2, err := verifyOnce(v, good, nil, body, fuzzSecret, fuzzOld)
		if err != nil || r1.Signed != r2.Signed {
			t.Fatalf("another spelling of one signature: %v, %s vs %s", err, r1.Signed, r2.Signed)
		}
		other := strconv.FormatInt(fuzzNow.Unix()-31, 10)
		good.Set("X-Sig", "v0="+hexMAC(fuzzOld, signedFor(other)))
		good.Set("X-Ts", other)
		if r3, err := verifyOnce(v, good, nil, body, fuzzSecret, fuzzOld); err != nil || r3.Signed == r1.Signed {
			t.Fatalf("another timestamp must be another request: %v", err)
		}
	})
}

// FuzzParseSignedContent: a template parses exactly when it holds
// {timestamp} and {body} once each, and its parts are the template with
// both replaced.
//
//	go test ./internal/verify -run '^$' -fuzz FuzzParseSignedContent -fuzztime 60s
func FuzzParseSignedContent(f *testing.F) {
	for _, s := range []string{"", DefaultSignedContent, "v0:{timestamp}:{body}", "{body}|{timestamp}", "{timestamp}{body}",
		"{timestamp}", "{body}{body}{timestamp}", "{{timestamp}}{body}}", "{time{body}stamp}"} {
		f.Add(s, "1700000000", []byte(`{"a":1}`))
	}
	f.Fuzz(func(t *testing.T, tmpl, ts string, body []byte) {
		sc, err := ParseSignedContent(tmpl)
		valid := strings.Count(tmpl, "{timestamp}") == 1 && strings.Count(tmpl, "{body}") == 1
		if (err == nil) != valid {
			t.Fatalf("ParseSignedContent(%q): err %v, want valid %v", tmpl, err, valid)
		}
		if err != nil {
			return
		}
		var got []byte
		for _, p := range sc.parts(ts, body) {
			got = append(got, p...)
		}
		want := strings.NewReplacer("{timestamp}", ts, "{body}", string(body)).Replace(tmpl)
		if string(got) != want {
			t.Fatalf("parts of %q = %q, want %q", tmpl, got, want)
		}
	})
}

// FuzzCheckTimestamp: a timestamp header is accepted only as Unix seconds
// in range and, with a tolerance, no further than it from now; the time
// returned is the one written; a refusal is a short EUNAUTHORIZED error.
//
//	go test ./internal/verify -run '^$' -fuzz FuzzCheckTimestamp -fuzztime 60s
func FuzzCheckTimestamp(f *testing.F) {
	for _, s := range []string{"1700000000", "1700000300", "1699999699", "0", "-1", "+1700000000", "253402300799", "253402300800",
		"9223372036854775807", "1e9", " 1700000000", "1700000000.0", strings.Repeat("9", 50)} {
		f.Add(s, int64(1_700_000_000), int64(300))
	}
	f.Fuzz(func(t *testing.T, value string, nowUnix, tolSec int64) {
		now := time.Unix(nowUnix%maxUnix, 0)
		tol := time.Duration(tolSec%(1<<32)) * time.Second // up to ~136 years, either sign
		ts, err := checkTimestamp("X-Ts", value, now, tol)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		sec, perr := strconv.ParseInt(value, 10, 64)
		if perr != nil || sec < 0 || sec > maxUnix || ts.Unix() != sec {
			t.Fatalf("accepted %q as %v", value, ts)
		}
		if tol > 0 && (ts.Before(now.Add(-tol)) || ts.After(now.Add(tol))) {
			t.Fatalf("accepted %q, %v from %v, beyond the %v tolerance", value, ts.Sub(now), now, tol)
		}
	})
}

package verify

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/incidenthub/incidenthub"
)

// Fuzz targets: every verifier reads untrusted headers and bodies. Each
// checks that a verifier never panics, refuses only with an
// EUNAUTHORIZED *incidenthub.Error that reveals no secret, accepts only
// what really carries a valid credential, and always accepts a request
// signed correctly over the fuzzed body (and id, timestamp).
//
//	go test ./internal/verify -run x -fuzz FuzzVerifyStandardWebhooks -fuzztime 60s

const (
	fuzzSecret    = "fuzz-secret-4b1d9e0a7c"
	fuzzOld       = "fuzz-previous-88e2f1"
	fuzzWhsec     = "whsec_ZnV6ei13aHNlYy1rZXktZm9yLXRoZS1odWItMDE="
	fuzzUser      = "fuzz-user"
	fuzzTolerance = 5 * time.Minute
)

var fuzzNow = time.Unix(1_700_000_000, 0)

// checkRefusal fails unless err is a clean refusal.
func checkRefusal(t *testing.T, err error, secrets ...string) {
	t.Helper()
	var e *incidenthub.Error
	if !errors.As(err, &e) || e.Code != incidenthub.EUNAUTHORIZED {
		t.Fatalf("want an EUNAUTHORIZED *incidenthub.Error, got %T %v", err, err)
	}
	for _, s := range secrets {
		if strings.Contains(e.Message, s) {
			t.Fatalf("error reveals a secret: %q", e.Message)
		}
	}
	if len(e.Message) > 400 {
		t.Fatalf("error message is %d bytes: untrusted input is not cut short", len(e.Message))
	}
}

func verifyOnce(v Verifier, h http.Header, q url.Values, body []byte, secrets ...string) (Result, error) {
	if q == nil {
		q = url.Values{}
	}
	return v.Verify(context.Background(), Request{Header: h, Query: q, Body: body, Now: fuzzNow}, secrets)
}

func FuzzVerifyToken(f *testing.F) {
	f.Add("Bearer "+fuzzSecret, "")
	f.Add("bearer  "+fuzzOld+" ", "x")
	f.Add("", fuzzSecret)
	f.Add("Basic abc", "")
	f.Fuzz(func(t *testing.T, authz, query string) {
		h := http.Header{"Authorization": {authz}}
		q := url.Values{"token": {query}}
		_, err := verifyOnce(Token{QueryParam: "token"}, h, q, nil, fuzzSecret, fuzzOld)
		if err != nil {
			checkRefusal(t, err, fuzzSecret, fuzzOld)
			return
		}
		got := query
		if got == "" {
			got = strings.TrimSpace(authz[len("Bearer "):])
		}
		if got != fuzzSecret && got != fuzzOld {
			t.Fatalf("accepted %q / %q", authz, query)
		}
	})
}

func FuzzVerifyBasic(f *testing.F) {
	enc := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	f.Add(enc(fuzzUser + ":" + fuzzSecret))
	f.Add(enc(fuzzUser + ":" + fuzzOld))
	f.Add(enc("x:y"))
	f.Add("Basic !!")
	f.Add("basic " + base64.RawStdEncoding.EncodeToString([]byte(fuzzUser+":"+fuzzSecret)))
	f.Fuzz(func(t *testing.T, authz string) {
		_, err := verifyOnce(Basic{Username: fuzzUser}, http.Header{"Authorization": {authz}}, nil, nil, fuzzSecret, fuzzOld)
		if err != nil {
			checkRefusal(t, err, fuzzSecret, fuzzOld)
			return
		}
		raw, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(authz[len("Basic "):]))
		if derr != nil {
			raw, derr = base64.RawStdEncoding.DecodeString(strings.TrimSpace(authz[len("Basic "):]))
		}
		if derr != nil || (string(raw) != fuzzUser+":"+fuzzSecret && string(raw) != fuzzUser+":"+fuzzOld) {
			t.Fatalf("accepted %q", authz)
		}
	})
}

func FuzzVerifyHMAC(f *testing.F) {
	body := []byte(`{"a":1}`)
	f.Add(body, "sha256="+hexMAC(fuzzSecret, body), false)
	f.Add(body, base64.StdEncoding.EncodeToString(macSHA256([]byte(fuzzOld), body)), true)
	f.Add([]byte{}, "sha256=zz", false)
	f.Fuzz(func(t *testing.T, body []byte, sig string, b64 bool) {
		v := HMAC{Header: "X-Sig", Encoding: "hex", Prefix: "sha256="}
		if b64 {
			v = HMAC{Header: "X-Sig", Encoding: "base64"}
		}
		_, err := verifyOnce(v, http.Header{"X-Sig": {sig}}, nil, body, fuzzSecret, fuzzOld)
		if err != nil {
			checkRefusal(t, err, fuzzSecret, fuzzOld, hexMAC(fuzzSecret, body))
		} else if !carriesMAC(sig, body, b64, fuzzSecret, fuzzOld) {
			t.Fatalf("accepted %q", sig)
		}
		// Signed right, always accepted.
		good := "sha256=" + hexMAC(fuzzSecret, body)
		if b64 {
			good = base64.StdEncoding.EncodeToString(macSHA256([]byte(fuzzSecret), body))
		}
		if _, err := verifyOnce(v, http.Header{"X-Sig": {good}}, nil, body, fuzzSecret, fuzzOld); err != nil {
			t.Fatalf("refused a good signature: %v", err)
		}
	})
}

// carriesMAC reports whether sig holds the body's MAC under one of secrets.
func carriesMAC(sig string, body []byte, b64 bool, secrets ...string) bool {
	for _, s := range secrets {
		m := macSHA256([]byte(s), body)
		if b64 && strings.Contains(sig, base64.StdEncoding.EncodeToString(m)) {
			return true
		}
		if !b64 && strings.Contains(strings.ToLower(sig), hex.EncodeToString(m)) {
			return true
		}
	}
	return false
}

func FuzzVerifySentry(f *testing.F) {
	body := []byte(`{"action": "created", "data": {}}`)
	f.Add(body, hexMAC(fuzzSecret, body), "1700000000")
	f.Add(body, hexMAC(fuzzOld, body), "")
	f.Add([]byte{}, "zz", "-1")
	f.Add(body, hexMAC(fuzzSecret, body), "99999999999999999999")
	f.Fuzz(func(t *testing.T, body []byte, sig, ts string) {
		v := Sentry{Tolerance: fuzzTolerance}
		h := hdr(SentrySignatureHeader, sig, SentryTimestampHeader, ts)
		_, err := verifyOnce(v, h, nil, body, fuzzSecret, fuzzOld)
		if err != nil {
			checkRefusal(t, err, fuzzSecret, fuzzOld, hexMAC(fuzzSecret, body), hexMAC(fuzzOld, body))
		} else {
			if !carriesMAC(sig, body, false, fuzzSecret, fuzzOld) {
				t.Fatalf("accepted %q", sig)
			}
			if ts != "" {
				sec, perr := strconv.ParseInt(ts, 10, 64)
				if perr != nil || time.Unix(sec, 0).Sub(fuzzNow).Abs() > fuzzTolerance {
					t.Fatalf("accepted timestamp %q", ts)
				}
			}
		}
		good := hdr(SentrySignatureHeader, hexMAC(fuzzSecret, body), SentryTimestampHeader, "1700000100")
		if _, err := verifyOnce(v, good, nil, body, fuzzSecret, fuzzOld); err != nil {
			t.Fatalf("refused a good signature: %v", err)
		}
	})
}

func FuzzVerifyPagerDuty(f *testing.F) {
	body := []byte(`{"event":{"id":"01BWDWL3NYY7LUFPZCC28QUCMK"}}`)
	f.Add(body, "v1="+hexMAC(fuzzSecret, body))
	f.Add(body, "v1="+hexMAC("x", body)+",v1="+hexMAC(fuzzOld, body))
	f.Add(body, "v2=ab, v1=zz")
	f.Add([]byte{}, ",,,")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		_, err := verifyOnce(PagerDuty{}, hdr(PagerDutySignatureHeader, sig), nil, body, fuzzSecret, fuzzOld)
		if err != nil {
			checkRefusal(t, err, fuzzSecret, fuzzOld, hexMAC(fuzzSecret, body), hexMAC(fuzzOld, body))
		} else if !carriesMAC(sig, body, false, fuzzSecret, fuzzOld) {
			t.Fatalf("accepted %q", sig)
		}
		good := "v2=ignored,v1=" + hexMAC("rotated-away", body) + ",v1=" + hexMAC(fuzzOld, body)
		if _, err := verifyOnce(PagerDuty{}, hdr(PagerDutySignatureHeader, good), nil, body, fuzzSecret, fuzzOld); err != nil {
			t.Fatalf("refused a good signature: %v", err)
		}
	})
}

func FuzzVerifyStandardWebhooks(f *testing.F) {
	f.Add([]byte(vectorBody), vectorID, strconv.Itoa(vectorTimestamp), vectorSignature)
	f.Add([]byte(`{}`), "msg_1", "1700000000", "v1,abc v1a,def")
	f.Add([]byte{}, "", "x", "")
	f.Add([]byte(`[]`), "a.b", "1700000299", "v1,"+strings.Repeat("A", 44))
	seedKey, _ := ParseWebhookSecret(fuzzWhsec)
	f.Add([]byte(`{"a":1}`), "msg_seed", "1700000000", "v2,x v1,"+base64.StdEncoding.EncodeToString(macSHA256(seedKey, []byte(`msg_seed.1700000000.{"a":1}`))))
	f.Fuzz(func(t *testing.T, body []byte, id, ts, sig string) {
		v := StandardWebhooks{Tolerance: fuzzTolerance}
		h := http.Header{}
		h.Set(WebhookIDHeader, id)
		h.Set(WebhookTimestampHeader, ts)
		h.Set(WebhookSignatureHeader, sig)
		secrets := []string{fuzzWhsec, vectorSecret}
		key, _ := ParseWebhookSecret(fuzzWhsec)
		res, err := verifyOnce(v, h, nil, body, secrets...)
		// The official library is the reference for the signature (it does
		// not check the window against an injected clock).
		libOK := false
		for _, s := range secrets {
			wh, lerr := standardwebhooks.NewWebhook(s)
			if lerr == nil && wh.VerifyIgnoringTimestamp(body, h) == nil {
				libOK = true
			}
		}
		switch {
		case err != nil:
			checkRefusal(t, err, fuzzWhsec, strings.TrimPrefix(fuzzWhsec, "whsec_"))
			if libOK && !strings.Contains(err.Error(), "timestamp") && !strings.Contains(err.Error(), "more than") {
				t.Fatalf("the library accepts what this verifier refuses: %v", err)
			}
		case !libOK:
			t.Fatalf("accepted what the library refuses: id %q ts %q sig %q", id, ts, sig)
		case res.DedupKey != id || id == "":
			t.Fatalf("accepted with dedup key %q for id %q", res.DedupKey, id)
		}
		// Signed right over the fuzzed id and body, always accepted, and the
		// id is the dedup key.
		id = strings.Map(func(r rune) rune {
			if r < 0x21 || r > 0x7e {
				return -1
			}
			return r
		}, id)
		if id == "" {
			id = "msg_x"
		}
		stamp := strconv.FormatInt(fuzzNow.Unix()-60, 10)
		good := http.Header{}
		good.Set(WebhookIDHeader, id)
		good.Set(WebhookTimestampHeader, stamp)
		good.Set(WebhookSignatureHeader, "v1,"+base64.StdEncoding.EncodeToString(macSHA256(key, []byte(id+"."+stamp+"."), body)))
		res, err = verifyOnce(v, good, nil, body, secrets...)
		if err != nil || res.DedupKey != id {
			t.Fatalf("refused a good signature for id %q: %v", id, err)
		}
	})
}

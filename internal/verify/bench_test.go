package verify

import (
	"bytes"
	"context"
	"encoding/base64"
	"strconv"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// BenchmarkVerify measures each signature scheme on a 16 KiB body with two
// secrets (a rotation's overlap), the second one valid: the worst case of
// a request that passes.
//
//	go test ./internal/verify -run x -bench Verify -benchmem
func BenchmarkVerify(b *testing.B) {
	body := bytes.Repeat([]byte(`{"alert":"x"},`), 16<<10/14)
	now := fuzzNow
	ts := strconv.FormatInt(now.Unix(), 10)
	key, _ := ParseWebhookSecret(fuzzWhsec)
	swSig := "v1," + base64.StdEncoding.EncodeToString(macSHA256(key, []byte("msg_1."+ts+"."), body))
	for _, bc := range []struct {
		name    string
		v       Verifier
		header  []string
		secrets []string
	}{
		{"hmac", HMAC{Header: "X-Sig", Encoding: "hex"}, []string{"X-Sig", hexMAC(fuzzSecret, body)}, []string{fuzzOld, fuzzSecret}},
		{"sentry", Sentry{Tolerance: DefaultTolerance}, []string{SentrySignatureHeader, hexMAC(fuzzSecret, body), SentryTimestampHeader, ts}, []string{fuzzOld, fuzzSecret}},
		{"pagerduty", PagerDuty{}, []string{PagerDutySignatureHeader, "v1=" + hexMAC(fuzzSecret, body)}, []string{fuzzOld, fuzzSecret}},
		{"standard-webhooks", StandardWebhooks{Tolerance: DefaultTolerance}, []string{WebhookIDHeader, "msg_1", WebhookTimestampHeader, ts, WebhookSignatureHeader, swSig}, []string{vectorSecret, fuzzWhsec}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := Request{Header: hdr(bc.header...), Body: body, Now: now}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := bc.v.Verify(context.Background(), r, bc.secrets); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStandardWebhooksLibrary is the baseline for
// BenchmarkVerify/standard-webhooks: the same request checked with the
// official library (VerifyIgnoringTimestamp, per secret), which copies the
// body into the signed string for every secret.
func BenchmarkStandardWebhooksLibrary(b *testing.B) {
	body := bytes.Repeat([]byte(`{"alert":"x"},`), 16<<10/14)
	ts := strconv.FormatInt(fuzzNow.Unix(), 10)
	key, _ := ParseWebhookSecret(fuzzWhsec)
	sig := "v1," + base64.StdEncoding.EncodeToString(macSHA256(key, []byte("msg_1."+ts+"."), body))
	h := hdr(WebhookIDHeader, "msg_1", WebhookTimestampHeader, ts, WebhookSignatureHeader, sig)
	secrets := []string{vectorSecret, fuzzWhsec}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		ok := false
		for _, s := range secrets {
			wh, err := standardwebhooks.NewWebhook(s)
			if err != nil {
				b.Fatal(err)
			}
			if wh.VerifyIgnoringTimestamp(body, h) == nil {
				ok = true
			}
		}
		if !ok {
			b.Fatal("not verified")
		}
	}
}

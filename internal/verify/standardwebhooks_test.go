package verify

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
)

// The Standard Webhooks test vector, as published with the specification's
// reference libraries (e.g. libraries/go/webhook_test.go in
// github.com/standard-webhooks/standard-webhooks).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestStandardWebhooks(t *testing.T) {
	t.Parallel()
	const other = "whsec_c2Vjb25kLWh1Yi1zZWNyZXQtZm9yLXJvdGF0aW9uLTAx"
	body := []byte(vectorBody)
	now := time.Unix(vectorTimestamp, 0)
	ts := strconv.Itoa(vectorTimestamp)
	sign := func(secret, id, ts string, body []byte) string {
		key, err := ParseWebhookSecret(secret)
		require.NoError(t, err)
		return "v1," + base64.StdEncoding.EncodeToString(macSHA256(key, []byte(id+"."+ts+"."), body))
	}
	h := func(id, ts, sig string) []string {
		return []string{WebhookIDHeader, id, WebhookTimestampHeader, ts, WebhookSignatureHeader, sig}
	}
	at := func(d time.Duration) time.Time { return now.Add(d) }
	secrets := []string{vectorSecret}
	cases := []testCase{
		{name: "the spec's test vector", header: hdr(h(vectorID, ts, vectorSignature)...), body: body, now: now, secrets: secrets, dedup: vectorID},
		{name: "independently computed signature", header: hdr(h(vectorID, ts, sign(vectorSecret, vectorID, ts, body))...), body: body, now: at(time.Minute), secrets: secrets, dedup: vectorID},
		{name: "two signatures, one valid", header: hdr(h(vectorID, ts, sign(other, vectorID, ts, body)+" "+vectorSignature)...), body: body, now: now, secrets: secrets, dedup: vectorID},
		{name: "asymmetric entry beside v1 is ignored", header: hdr(h(vectorID, ts, "v1a,aG5PM2Y5VDhZdHU5SHdyWA== "+vectorSignature)...), body: body, now: now, secrets: secrets, dedup: vectorID},
		{name: "rotated secret overlap: previous", header: hdr(h(vectorID, ts, vectorSignature)...), body: body, now: now, secrets: []string{other, vectorSecret}, dedup: vectorID},
		{name: "rotated secret overlap: current", header: hdr(h(vectorID, ts, sign(other, vectorID, ts, body))...), body: body, now: now, secrets: []string{other, vectorSecret}, dedup: vectorID},
		{name: "edge of the window, past", header: hdr(h(vectorID, ts, vectorSignature)...), body: body, now: at(5 * time.Minute), secrets: secrets, dedup: vectorID},
		{name: "edge of the window, future", header: hdr(h(vectorID, ts, vectorSignature)...), body: body, now: at(-5 * time.Minute), secrets: secrets, dedup: vectorID},
		{name: "wrong secret", header: hdr(h(vectorID, ts, sign(other, vectorID, ts, body))...), body: body, now: now, secrets: secrets, words: []string{"signature mismatch", WebhookSignatureHeader}},
		{name: "other id", header: hdr(h("msg_other", ts, vectorSignature)...), body: body, now: now, secrets: secrets, words: []string{"signature mismatch"}},
		{name: "other timestamp", header: hdr(h(vectorID, strconv.Itoa(vectorTimestamp+1), vectorSignature)...), body: body, now: now, secrets: secrets, words: []string{"signature mismatch"}},
		{name: "tampered body", header: hdr(h(vectorID, ts, vectorSignature)...), body: []byte(`{"test": 2432232315}`), now: now, secrets: secrets, words: []string{"signature mismatch"}},
		{name: "stale timestamp", header: hdr(h(vectorID, ts, vectorSignature)...), body: body, now: at(5*time.Minute + time.Second), secrets: secrets, words: []string{"stale timestamp", WebhookTimestampHeader, "5m1s ago", "5m0s tolerance"}},
		{name: "future timestamp", header: hdr(h(vectorID, ts, vectorSignature)...), body: body, now: at(-time.Hour), secrets: secrets, words: []string{"in the future", "1h0m0s ahead"}},
		{name: "missing id", header: hdr(WebhookTimestampHeader, ts, WebhookSignatureHeader, vectorSignature), body: body, now: now, secrets: secrets, words: []string{"missing webhook-id header"}},
		{name: "missing signature", header: hdr(WebhookIDHeader, vectorID, WebhookTimestampHeader, ts), body: body, now: now, secrets: secrets, words: []string{"missing webhook-signature header"}},
		{name: "missing all", body: body, now: now, secrets: secrets, words: []string{"missing webhook-id, webhook-timestamp, webhook-signature headers"}},
		{name: "malformed timestamp", header: hdr(h(vectorID, "yesterday", vectorSignature)...), body: body, now: now, secrets: secrets, words: []string{"malformed webhook-timestamp header", `"yesterday"`}},
		{name: "malformed signature: no comma", header: hdr(h(vectorID, ts, strings.TrimPrefix(vectorSignature, "v1,"))...), body: body, now: now, secrets: secrets, words: []string{"malformed webhook-signature header", "no v1,<base64>"}},
		{name: "malformed signature: not base64", header: hdr(h(vectorID, ts, "v1,***")...), body: body, now: now, secrets: secrets, words: []string{"malformed webhook-signature header", "no v1,<base64>"}},
		{name: "non-canonical base64 is not the signature", header: hdr(h(vectorID, ts, strings.Replace(vectorSignature, "1OE=", "1OF=", 1))...), body: body, now: now, secrets: secrets, words: []string{"no v1,<base64>"}},
		{name: "junk entry beside a valid one is skipped", header: hdr(h(vectorID, ts, "junk  "+vectorSignature)...), body: body, now: now, secrets: secrets, dedup: vectorID},
		{name: "trailing field after the signature is ignored (as the reference does)", header: hdr(h(vectorID, ts, vectorSignature+",x")...), body: body, now: now, secrets: secrets, dedup: vectorID},
		{name: "too many signatures", header: hdr(h(vectorID, ts, strings.Repeat("v1a,x ", 8)+vectorSignature)...), body: body, now: now, secrets: secrets, words: []string{"more than 8 signatures"}},
		{name: "malformed signature: only v1a", header: hdr(h(vectorID, ts, "v1a,aG5PM2Y5VDhZdHU5SHdyWA==")...), body: body, now: now, secrets: secrets, words: []string{"no v1"}},
		{name: "secret not in whsec_ form matches nothing", header: hdr(h(vectorID, ts, vectorSignature)...), body: body, now: now, secrets: []string{strings.TrimPrefix(vectorSecret, "whsec_")}, words: []string{"signature mismatch"}},
	}
	leaks := func(secret string, tc testCase) []string {
		key, err := ParseWebhookSecret(secret)
		if err != nil {
			return nil
		}
		id, stamp := tc.header.Get(WebhookIDHeader), tc.header.Get(WebhookTimestampHeader)
		return []string{base64.StdEncoding.EncodeToString(macSHA256(key, []byte(id+"."+stamp+"."), tc.body)), strings.TrimPrefix(secret, "whsec_")}
	}
	runCases(t, StandardWebhooks{Tolerance: DefaultTolerance}, cases, leaks)

	runCases(t, StandardWebhooks{}, []testCase{
		{name: "tolerance 0 checks no window", header: hdr(h(vectorID, ts, vectorSignature)...), body: body, now: time.Now(), secrets: secrets, dedup: vectorID},
	}, leaks)
}

func TestParseWebhookSecret(t *testing.T) {
	t.Parallel()
	key, err := ParseWebhookSecret(vectorSecret)
	require.NoError(t, err)
	require.Len(t, key, 24)
	for secret, want := range map[string]string{
		"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw":    `must start with "whsec_"`,
		"whsec_not base64!":                   "not valid base64",
		"whsec_c2hvcnQ=":                      "5 bytes; want 24 to 64",
		"whsec_" + strings.Repeat("QUJD", 22): "66 bytes",
	} {
		_, err := ParseWebhookSecret(secret)
		require.ErrorContains(t, err, want, secret)
	}
}

// The official library signs what this verifier accepts: for the vector and
// for other ids, timestamps and bodies, under a 24- and a 64-byte key.
func TestStandardWebhooksAgreesWithTheLibrary(t *testing.T) {
	t.Parallel()
	long := "whsec_" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 64)))
	for _, secret := range []string{vectorSecret, long} {
		wh, err := standardwebhooks.NewWebhook(secret)
		require.NoError(t, err)
		for i, body := range [][]byte{[]byte(vectorBody), []byte(`{}`), []byte(""), []byte("{\"a\":\"é\n\"}")} {
			id := "msg_" + strconv.Itoa(i)
			at := time.Unix(vectorTimestamp+int64(i)*977, 0)
			sig, err := wh.Sign(id, at, body)
			require.NoError(t, err)
			if secret == vectorSecret && i == 0 {
				sig0, _ := wh.Sign(vectorID, time.Unix(vectorTimestamp, 0), body)
				require.Equal(t, vectorSignature, sig0, "the library reproduces the published vector")
			}
			h := hdr(WebhookIDHeader, id, WebhookTimestampHeader, strconv.FormatInt(at.Unix(), 10), WebhookSignatureHeader, sig)
			res, err := StandardWebhooks{Tolerance: DefaultTolerance}.Verify(context.Background(), Request{Header: h, Body: body, Now: at}, []string{secret})
			require.NoError(t, err)
			require.Equal(t, id, res.DedupKey)
			require.NoError(t, wh.VerifyIgnoringTimestamp(body, h), "and the library accepts what it signed")
		}
	}
}

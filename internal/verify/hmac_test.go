package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHMAC(t *testing.T) {
	t.Parallel()
	// GitHub's published example ("Validating webhook deliveries",
	// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
	const ghSecret = "It's a Secret to Everybody"
	ghBody := []byte("Hello, World!")
	const ghSig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

	const secret, old = "hmac-3b8e61f0", "hmac-old-9d02"
	body := []byte(`{"alert_type":"disk_full","status":"firing"}`)
	gh := HMAC{Header: "X-Hub-Signature-256", Encoding: "hex", Prefix: "sha256="}
	runCases(t, gh, []testCase{
		{name: "GitHub's published example", header: hdr("X-Hub-Signature-256", ghSig), body: ghBody, secrets: []string{ghSecret}},
		{name: "good", header: hdr("X-Hub-Signature-256", "sha256="+hexMAC(secret, body)), body: body, secrets: []string{secret, old}},
		{name: "upper-case hex", header: hdr("X-Hub-Signature-256", "sha256="+strings.ToUpper(hexMAC(secret, body))), body: body, secrets: []string{secret}},
		{name: "previous secret during overlap", header: hdr("X-Hub-Signature-256", "sha256="+hexMAC(old, body)), body: body, secrets: []string{secret, old}},
		{name: "wrong secret", header: hdr("X-Hub-Signature-256", "sha256="+hexMAC("nope", body)), body: body, secrets: []string{secret, old}, words: []string{"signature mismatch", "X-Hub-Signature-256"}},
		{name: "other body", header: hdr("X-Hub-Signature-256", "sha256="+hexMAC(secret, []byte("{}"))), body: body, secrets: []string{secret}, words: []string{"signature mismatch"}},
		{name: "missing", body: body, secrets: []string{secret}, words: []string{"missing signature header X-Hub-Signature-256"}},
		{name: "not hex", header: hdr("X-Hub-Signature-256", "sha256=zz"), body: body, secrets: []string{secret}, words: []string{"malformed X-Hub-Signature-256 header", "hex"}},
		{name: "empty secret never matches", header: hdr("X-Hub-Signature-256", "sha256="+hexMAC("", body)), body: body, secrets: []string{""}, words: []string{"signature mismatch"}},
	}, nil)

	b64 := HMAC{Header: "X-Payload-Mac", Encoding: "base64"}
	runCases(t, b64, []testCase{
		{name: "base64", header: hdr("X-Payload-Mac", base64.StdEncoding.EncodeToString(macSHA256([]byte(secret), body))), body: body, secrets: []string{secret}},
		{name: "hex to a base64 source", header: hdr("X-Payload-Mac", hexMAC(secret, body)), body: body, secrets: []string{secret}, words: []string{"X-Payload-Mac"}},
		{name: "not base64", header: hdr("X-Payload-Mac", "@@"), body: body, secrets: []string{secret}, words: []string{"malformed X-Payload-Mac header", "base64"}},
	}, nil)
}

// Slack's published example ("Verifying requests from Slack",
// https://api.slack.com/authentication/verifying-requests-from-slack): a
// timestamped hmac with Slack's template.
const (
	slackSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	slackTimestamp = "1531420618"
	slackBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	slackSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func TestHMACTimestamped(t *testing.T) {
	t.Parallel()
	content, err := ParseSignedContent("v0:{timestamp}:{body}")
	require.NoError(t, err)
	slack := HMAC{Header: "X-Slack-Signature", Encoding: "hex", Prefix: "v0=", TimestampHeader: "X-Slack-Request-Timestamp", Content: content, Tolerance: 5 * time.Minute}
	now := time.Unix(1531420618, 0)
	body := []byte(slackBody)
	h := func(sig, ts string) http.Header {
		return hdr("X-Slack-Signature", sig, "X-Slack-Request-Timestamp", ts)
	}
	sign := func(secret, signed string) string { return "v0=" + hexMAC(secret, []byte(signed)) }
	leaks := func(secret string, tc testCase) []string {
		return []string{hexMAC(secret, []byte("v0:"+tc.header.Get("X-Slack-Request-Timestamp")+":"+string(tc.body)))}
	}
	runCases(t, slack, []testCase{
		{name: "Slack's published example", header: h(slackSignature, slackTimestamp), body: body, now: now, secrets: []string{slackSecret}},
		{name: "inside the tolerance", header: h(slackSignature, slackTimestamp), body: body, now: now.Add(5 * time.Minute), secrets: []string{"other-secret", slackSecret}},
		{name: "replayed after the tolerance", header: h(slackSignature, slackTimestamp), body: body, now: now.Add(5*time.Minute + time.Second), secrets: []string{slackSecret},
			words: []string{"stale timestamp", "X-Slack-Request-Timestamp", "5m1s ago", "5m0s tolerance"}},
		{name: "replayed with a fresh timestamp", header: h(slackSignature, "1531420900"), body: body, now: time.Unix(1531420900, 0), secrets: []string{slackSecret},
			words: []string{"signature mismatch", "X-Slack-Signature", "X-Slack-Request-Timestamp and the body"}},
		{name: "body-only signature is not enough", header: h("v0="+hexMAC(slackSecret, body), slackTimestamp), body: body, now: now, secrets: []string{slackSecret}, words: []string{"signature mismatch"}},
		{name: "tampered body", header: h(slackSignature, slackTimestamp), body: append([]byte(slackBody), '&'), now: now, secrets: []string{slackSecret}, words: []string{"signature mismatch"}},
		{name: "missing timestamp", header: hdr("X-Slack-Signature", slackSignature), body: body, now: now, secrets: []string{slackSecret}, words: []string{"missing X-Slack-Request-Timestamp header"}},
		{name: "missing signature", header: hdr("X-Slack-Request-Timestamp", slackTimestamp), body: body, now: now, secrets: []string{slackSecret}, words: []string{"missing signature header X-Slack-Signature"}},
		{name: "missing both", body: body, now: now, secrets: []string{slackSecret}, words: []string{"missing X-Slack-Signature, X-Slack-Request-Timestamp headers"}},
		{name: "malformed timestamp", header: h(slackSignature, "yesterday"), body: body, now: now, secrets: []string{slackSecret}, words: []string{"malformed X-Slack-Request-Timestamp header", `"yesterday"`}},
		{name: "rotated secret", header: h(sign("new-secret-1", "v0:"+slackTimestamp+":"+slackBody), slackTimestamp), body: body, now: now, secrets: []string{"new-secret-1", slackSecret}},
	}, leaks)

	// The default template, a body-first one, and no tolerance.
	ts := "1700000000"
	at := time.Unix(1700000000, 0)
	b := []byte(`{"a":1}`)
	runCases(t, HMAC{Header: "X-Sig", TimestampHeader: "X-Ts", Tolerance: time.Minute}, []testCase{
		{name: "default {timestamp}.{body}", header: hdr("X-Sig", hexMAC("k-1234", []byte(ts+"."+string(b))), "X-Ts", ts), body: b, now: at, secrets: []string{"k-1234"}},
	}, nil)
	bodyFirst, err := ParseSignedContent("{body}|t={timestamp}")
	require.NoError(t, err)
	runCases(t, HMAC{Header: "X-Sig", TimestampHeader: "X-Ts", Content: bodyFirst}, []testCase{
		{name: "body first, tolerance 0 checks no window", header: hdr("X-Sig", hexMAC("k-1234", []byte(string(b)+"|t="+ts)), "X-Ts", ts), body: b, now: time.Now(), secrets: []string{"k-1234"}},
	}, nil)
}

func TestParseSignedContent(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "{body}", "{timestamp}", "{timestamp}{timestamp}{body}", "{body}.{body}.{timestamp}", "{ts}.{body}"} {
		_, err := ParseSignedContent(bad)
		require.ErrorContains(t, err, "{timestamp} and {body} once each", bad)
	}
	sc, err := ParseSignedContent("v0:{timestamp}:{body}!")
	require.NoError(t, err)
	require.Equal(t, "v0:1:b!", string(bytes.Join(sc.parts("1", []byte("b")), nil)))
}

// Result.Signed names what the signature covers: the same for a replay
// however its signature is spelled, different for other content.
func TestSignedDigest(t *testing.T) {
	t.Parallel()
	body := []byte(`{"status":"firing"}`)
	verify := func(v Verifier, h http.Header, body []byte, now time.Time) string {
		res, err := v.Verify(context.Background(), Request{Header: h, Body: body, Now: now}, []string{"k-1234"})
		require.NoError(t, err)
		require.Len(t, res.Signed, 64)
		return res.Signed
	}
	plain := HMAC{Header: "X-Sig", Encoding: "hex", Prefix: "sha256="}
	lower := verify(plain, hdr("X-Sig", "sha256="+hexMAC("k-1234", body)), body, time.Time{})
	upper := verify(plain, hdr("X-Sig", " sha256="+strings.ToUpper(hexMAC("k-1234", body))), body, time.Time{})
	require.Equal(t, lower, upper, "another spelling of the same signature is the same request")
	sum := sha256.Sum256(body)
	require.Equal(t, hex.EncodeToString(sum[:]), lower)
	other := []byte(`{"status":"resolved"}`)
	require.NotEqual(t, lower, verify(plain, hdr("X-Sig", "sha256="+hexMAC("k-1234", other)), other, time.Time{}))

	stamped := HMAC{Header: "X-Sig", TimestampHeader: "X-Ts"}
	t1 := verify(stamped, hdr("X-Sig", hexMAC("k-1234", []byte("1.")), "X-Ts", "1"), nil, time.Time{})
	t2 := verify(stamped, hdr("X-Sig", hexMAC("k-1234", []byte("2.")), "X-Ts", "2"), nil, time.Time{})
	require.NotEqual(t, t1, t2, "a timestamped delivery sent again, signed anew, is another request")

	now := time.Unix(1_700_000_000, 0)
	require.Equal(t, lower, verify(Sentry{}, hdr(SentrySignatureHeader, hexMAC("k-1234", body)), body, now))
	require.Equal(t, lower, verify(PagerDuty{}, hdr(PagerDutySignatureHeader, "v1="+hexMAC("k-1234", body)), body, now))
}

package verify

import (
	"encoding/base64"
	"strings"
	"testing"
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

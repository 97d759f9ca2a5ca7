package verify

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Standard Webhooks headers (https://www.standardwebhooks.com/,
// spec/standard-webhooks.md "Webhook headers").
const (
	WebhookIDHeader        = "webhook-id"
	WebhookTimestampHeader = "webhook-timestamp"
	WebhookSignatureHeader = "webhook-signature"
)

// WebhookSecretPrefix starts every Standard Webhooks symmetric secret.
const WebhookSecretPrefix = "whsec_"

// ParseWebhookSecret returns the key of a whsec_<base64> secret, which the
// spec wants 24 to 64 random bytes long.
func ParseWebhookSecret(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, WebhookSecretPrefix)
	if !ok {
		return nil, fmt.Errorf("must start with %q (a Standard Webhooks secret: whsec_ + base64 of 24 to 64 random bytes)", WebhookSecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, errors.New("the part after whsec_ is not valid base64")
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("the key is %d bytes; want 24 to 64", len(key))
	}
	return key, nil
}

// StandardWebhooks checks a Standard Webhooks delivery (auth type
// standard-webhooks): webhook-signature is a space-separated list of
// v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">
// keyed with a whsec_ secret; any valid one under any of the secrets
// passes. webhook-timestamp must be within Tolerance of the receive time in
// either direction (0: not checked). webhook-id, which the sender keeps
// across retries, becomes the event's dedup key.
//
// The official library (standard-webhooks/libraries/go) computes the
// signature; its Verify is not used because it reads the wall clock with a
// fixed 5-minute window and its errors do not say which header is wrong.
type StandardWebhooks struct {
	Tolerance time.Duration
}

var _ Verifier = StandardWebhooks{}

const webhookSignatureForm = "want space-separated v1,<base64> entries"

// Verify checks the headers, the timestamp, then the signatures against
// every secret.
func (v StandardWebhooks) Verify(_ context.Context, r Request, secrets []string) (Result, error) {
	id := strings.TrimSpace(r.Header.Get(WebhookIDHeader))
	stamp := r.Header.Get(WebhookTimestampHeader)
	sigHeader := r.Header.Get(WebhookSignatureHeader)
	var absent []string
	for _, h := range []struct{ name, value string }{{WebhookIDHeader, id}, {WebhookTimestampHeader, stamp}, {WebhookSignatureHeader, sigHeader}} {
		if strings.TrimSpace(h.value) == "" {
			absent = append(absent, h.name)
		}
	}
	if len(absent) > 0 {
		return Result{}, missing(absent...)
	}
	var sigs [][]byte
	entries := 0
	for entry := range strings.FieldsSeq(sigHeader) {
		version, value, ok := strings.Cut(entry, ",")
		if !ok || version == "" || value == "" {
			return Result{}, unauthorized("malformed %s header: %s", WebhookSignatureHeader, webhookSignatureForm)
		}
		if entries++; entries > maxSignatures {
			return Result{}, unauthorized("malformed %s header: more than %d signatures", WebhookSignatureHeader, maxSignatures)
		}
		if version != "v1" {
			continue // v1a (asymmetric) or a future scheme
		}
		sig, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return Result{}, unauthorized("malformed %s header: a v1 signature is not base64", WebhookSignatureHeader)
		}
		sigs = append(sigs, sig)
	}
	if len(sigs) == 0 {
		return Result{}, unauthorized("malformed %s header: no v1 (HMAC-SHA256) signature; only v1 is supported", WebhookSignatureHeader)
	}
	ts, err := checkTimestamp(WebhookTimestampHeader, stamp, r.Now, v.Tolerance)
	if err != nil {
		return Result{}, err
	}
	ok := 0
	for _, s := range secrets {
		want, err := webhookSignature(s, id, ts, r.Body)
		if err != nil {
			continue // not a whsec_ secret: matches nothing
		}
		for _, g := range sigs {
			ok |= subtle.ConstantTimeCompare(g, want)
		}
	}
	if ok != 1 {
		return Result{}, unauthorized("signature mismatch: no v1 signature in %s matches %s.%s.<body> signed with this source's secret", WebhookSignatureHeader, WebhookIDHeader, WebhookTimestampHeader)
	}
	return Result{DedupKey: id}, nil
}

// webhookSignature is the raw v1 signature of one delivery under secret.
func webhookSignature(secret, id string, ts time.Time, body []byte) ([]byte, error) {
	key, err := ParseWebhookSecret(secret)
	if err != nil {
		return nil, err
	}
	wh, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		return nil, err
	}
	signed, err := wh.Sign(id, ts, body)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(strings.TrimPrefix(signed, "v1,"))
}

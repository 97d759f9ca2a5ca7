package verify

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
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
// passes, and entries of other versions (v1a, asymmetric) are skipped.
// webhook-timestamp must be within Tolerance of the receive time in either
// direction (0: not checked). webhook-id, which the sender keeps across
// retries and the signature covers, becomes the event's dedup key.
//
// The signature is computed here, streaming the body into the HMAC,
// rather than with the official library (standard-webhooks/libraries/go):
// its Sign copies the body twice per secret (about 4.5 times the body in
// garbage for two secrets), its Verify reads the wall clock with a fixed
// 5-minute window, and its errors do not say which header is wrong. The
// tests and the fuzz target hold this verifier to the library's answers.
type StandardWebhooks struct {
	Tolerance time.Duration
}

var _ Verifier = StandardWebhooks{}

// Verify checks the headers, the timestamp, then the signatures against
// every secret.
func (v StandardWebhooks) Verify(_ context.Context, r Request, secrets []string) (Result, error) {
	id := r.Header.Get(WebhookIDHeader)
	stamp := r.Header.Get(WebhookTimestampHeader)
	sigHeader := r.Header.Get(WebhookSignatureHeader)
	var absent []string
	for _, h := range []struct{ name, value string }{{WebhookIDHeader, id}, {WebhookTimestampHeader, stamp}, {WebhookSignatureHeader, sigHeader}} {
		if h.value == "" {
			absent = append(absent, h.name)
		}
	}
	if len(absent) > 0 {
		return Result{}, missing(absent...)
	}
	var sigs [][]byte
	entries := 0
	for entry := range strings.SplitSeq(sigHeader, " ") {
		if entry == "" {
			continue
		}
		if entries++; entries > maxSignatures {
			return Result{}, unauthorized("malformed %s header: more than %d signatures", WebhookSignatureHeader, maxSignatures)
		}
		version, rest, _ := strings.Cut(entry, ",")
		value, _, _ := strings.Cut(rest, ",")
		if version != "v1" {
			continue // v1a (asymmetric), a future scheme, or not an entry
		}
		// Strict, and no line breaks (which the decoder would skip): one
		// signature has one spelling, as in the reference's string compare.
		if strings.ContainsAny(value, "\r\n") {
			continue
		}
		if sig, err := base64.StdEncoding.Strict().DecodeString(value); err == nil {
			sigs = append(sigs, sig)
		}
	}
	if len(sigs) == 0 {
		return Result{}, unauthorized("malformed %s header: no v1,<base64> signature (only v1, HMAC-SHA256, is supported)", WebhookSignatureHeader)
	}
	ts, err := checkTimestamp(WebhookTimestampHeader, stamp, r.Now, v.Tolerance)
	if err != nil {
		return Result{}, err
	}
	// The signed content: id, the timestamp as the integer it parsed to,
	// and the raw body, joined by full stops.
	prefix := []byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + ".")
	ok := 0
	for _, s := range secrets {
		key, err := ParseWebhookSecret(s)
		if err != nil {
			continue // not a whsec_ secret: matches nothing
		}
		want := macSHA256(key, prefix, r.Body)
		for _, g := range sigs {
			ok |= subtle.ConstantTimeCompare(g, want)
		}
	}
	if ok != 1 {
		return Result{}, unauthorized("signature mismatch: no v1 signature in %s matches %s.%s.<body> signed with this source's secret", WebhookSignatureHeader, WebhookIDHeader, WebhookTimestampHeader)
	}
	return Result{DedupKey: id}, nil
}

package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Sentry's integration-platform webhook headers
// (https://docs.sentry.io/integrations/integration-platform/webhooks/).
const (
	SentrySignatureHeader = "Sentry-Hook-Signature"
	SentryTimestampHeader = "Sentry-Hook-Timestamp"
)

// Sentry checks a Sentry integration-platform webhook (auth type sentry):
// Sentry-Hook-Signature is the hex HMAC-SHA256 of the raw body keyed with
// the integration's client secret (the secrets). Sentry-Hook-Timestamp,
// Unix seconds at sending, is checked against Tolerance when present
// (0: not checked). Sentry's signature does not cover the timestamp, so
// the window stops a naive replay of a captured request, not a careful one.
type Sentry struct {
	Tolerance time.Duration
}

var _ Verifier = Sentry{}

// Verify checks the timestamp, then the signature against every secret.
func (v Sentry) Verify(_ context.Context, r Request, secrets []string) (Result, error) {
	sig := strings.TrimSpace(r.Header.Get(SentrySignatureHeader))
	if sig == "" {
		return Result{}, unauthorized("missing %s header: Sentry signs every integration webhook with the integration's client secret", SentrySignatureHeader)
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return Result{}, unauthorized("malformed %s header: want the 64 hex digits of an HMAC-SHA256", SentrySignatureHeader)
	}
	if ts := r.Header.Get(SentryTimestampHeader); ts != "" {
		if _, err := checkTimestamp(SentryTimestampHeader, ts, r.Now, v.Tolerance); err != nil {
			return Result{}, err
		}
	}
	if !anyMAC([][]byte{got}, secrets, r.Body) {
		return Result{}, unauthorized("signature mismatch: %s does not match the body signed with this source's client secret", SentrySignatureHeader)
	}
	return Result{Signed: digest(r.Body)}, nil
}

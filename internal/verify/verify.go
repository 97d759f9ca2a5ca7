// Package verify checks that an inbound webhook request comes from the
// source it claims to: a shared token, HTTP Basic credentials, an HMAC of
// the body, or a vendor's own signature scheme (Sentry, PagerDuty, Amazon
// SNS, Standard Webhooks). The web layer picks a Verifier by the source's
// auth.type and calls it after reading the body and before storing it.
package verify

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Request is what a verifier sees of one inbound request.
type Request struct {
	Header http.Header
	Query  url.Values
	Body   []byte    // the raw body, byte for byte
	Now    time.Time // the receive time, for replay windows
}

// Result is what a successful verification learned.
type Result struct {
	// DedupKey, when not empty, is the sender's own id of this delivery
	// (Standard Webhooks' webhook-id, SNS's MessageId): the event's dedup
	// key, so a retried delivery is a duplicate.
	DedupKey string
	// Signed, when not empty, identifies what the signature covers (the
	// hex SHA-256 of the signed content) for schemes whose signature
	// carries no delivery id (hmac, sentry, pagerduty): a replay of the
	// request has the same, however its signature is spelled.
	Signed string
}

// Verifier authenticates one request. secrets are the source's current
// secrets (the new and the previous one during a rotation's overlap); a
// request signed or authenticated with any of them passes. An error is an
// *incidenthub.Error with code EUNAUTHORIZED whose message names the
// problem (missing header, stale timestamp, signature mismatch) and never
// contains a secret.
type Verifier interface {
	Verify(ctx context.Context, r Request, secrets []string) (Result, error)
}

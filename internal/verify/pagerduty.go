package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// PagerDutySignatureHeader carries the signatures of a PagerDuty v3
// webhook (https://developer.pagerduty.com/docs/webhooks/webhook-signatures/).
const PagerDutySignatureHeader = "X-PagerDuty-Signature"

// maxSignatures bounds how many signatures of one header are checked
// (senders send one, two during a rotation).
const maxSignatures = 8

// PagerDuty checks a PagerDuty v3 webhook (auth type pagerduty):
// X-PagerDuty-Signature is a comma-separated list of v1=<hex HMAC-SHA256 of
// the raw body>, one per signing secret PagerDuty holds (two during its
// secret rotation); any valid one under any of the secrets passes.
// Signatures of other versions are ignored. PagerDuty sends no timestamp,
// so there is no replay window; a replayed delivery is a duplicate by the
// event id in its body (the kind's dedup key).
type PagerDuty struct{}

var _ Verifier = PagerDuty{}

const pagerDutyForm = "want v1=<64 hex digits>[,v1=…]"

// Verify checks the v1 signatures against every secret.
func (PagerDuty) Verify(_ context.Context, r Request, secrets []string) (Result, error) {
	h := r.Header.Get(PagerDutySignatureHeader)
	if strings.TrimSpace(h) == "" {
		return Result{}, unauthorized("missing %s header: PagerDuty signs every v3 webhook with the subscription's signing secret", PagerDutySignatureHeader)
	}
	var sigs [][]byte
	versions := 0
	for part := range strings.SplitSeq(h, ",") {
		part = strings.TrimSpace(part)
		version, value, ok := strings.Cut(part, "=")
		if !ok || version == "" {
			return Result{}, unauthorized("malformed %s header: %s", PagerDutySignatureHeader, pagerDutyForm)
		}
		if versions++; versions > maxSignatures {
			return Result{}, unauthorized("malformed %s header: more than %d signatures", PagerDutySignatureHeader, maxSignatures)
		}
		if version != "v1" {
			continue // a future scheme: not ours to check
		}
		sig, err := hex.DecodeString(value)
		if err != nil || len(sig) != sha256.Size {
			return Result{}, unauthorized("malformed %s header: %s", PagerDutySignatureHeader, pagerDutyForm)
		}
		sigs = append(sigs, sig)
	}
	if len(sigs) == 0 {
		return Result{}, unauthorized("malformed %s header: no v1 signature (%s)", PagerDutySignatureHeader, pagerDutyForm)
	}
	if !anyMAC(sigs, secrets, r.Body) {
		return Result{}, unauthorized("signature mismatch: no v1 signature in %s matches the body signed with this source's signing secret", PagerDutySignatureHeader)
	}
	return Result{Signed: digest(r.Body)}, nil
}

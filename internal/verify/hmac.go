package verify

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// HMAC checks an HMAC-SHA256 signature (auth type hmac), the scheme of
// GitHub-style webhooks: the signature is in Header, hex or base64
// (Encoding), optionally after Prefix (e.g. "sha256="). The secrets are
// the valid keys.
//
// Without TimestampHeader the signature covers the raw body only. With
// it, the sender also signs its send time: TimestampHeader carries Unix
// seconds, checked against Tolerance (0: not checked), and the signed
// content is Content with {timestamp} replaced by that header's value and
// {body} by the raw body (Slack: "v0:{timestamp}:{body}"), so a captured
// request cannot be replayed once its timestamp is stale.
type HMAC struct {
	Header   string
	Encoding string // hex (default) or base64
	Prefix   string

	TimestampHeader string
	Content         SignedContent // zero: DefaultSignedContent
	Tolerance       time.Duration
}

var _ Verifier = HMAC{}

// DefaultSignedContent is what a timestamped hmac signs unless configured
// otherwise.
const DefaultSignedContent = "{timestamp}.{body}"

// SignedContent is a parsed signed-content template: the bytes signed are
// Before, the timestamp, Middle, the body, After (or the body first, when
// BodyFirst).
type SignedContent struct {
	Before, Middle, After string
	BodyFirst             bool
	set                   bool
}

// ParseSignedContent parses a template holding {timestamp} and {body}
// exactly once each, e.g. "v0:{timestamp}:{body}".
func ParseSignedContent(tmpl string) (SignedContent, error) {
	if strings.Count(tmpl, "{timestamp}") != 1 || strings.Count(tmpl, "{body}") != 1 {
		return SignedContent{}, errors.New(`must contain {timestamp} and {body} once each, e.g. "{timestamp}.{body}" or "v0:{timestamp}:{body}"`)
	}
	ti, bi := strings.Index(tmpl, "{timestamp}"), strings.Index(tmpl, "{body}")
	sc := SignedContent{set: true}
	if ti < bi {
		sc.Before, sc.Middle, sc.After = tmpl[:ti], tmpl[ti+len("{timestamp}"):bi], tmpl[bi+len("{body}"):]
	} else {
		sc.BodyFirst = true
		sc.Before, sc.Middle, sc.After = tmpl[:bi], tmpl[bi+len("{body}"):ti], tmpl[ti+len("{timestamp}"):]
	}
	return sc, nil
}

// parts are the signed bytes in order.
func (sc SignedContent) parts(ts string, body []byte) [][]byte {
	if !sc.set {
		sc, _ = ParseSignedContent(DefaultSignedContent)
	}
	if sc.BodyFirst {
		return [][]byte{[]byte(sc.Before), body, []byte(sc.Middle), []byte(ts), []byte(sc.After)}
	}
	return [][]byte{[]byte(sc.Before), []byte(ts), []byte(sc.Middle), body, []byte(sc.After)}
}

// Verify checks the timestamp, when the scheme has one, then the
// signature against every secret.
func (v HMAC) Verify(_ context.Context, r Request, secrets []string) (Result, error) {
	sig := r.Header.Get(v.Header)
	var stamp string
	if v.TimestampHeader != "" {
		stamp = r.Header.Get(v.TimestampHeader)
		switch {
		case sig == "" && stamp == "":
			return Result{}, missing(v.Header, v.TimestampHeader)
		case stamp == "":
			return Result{}, unauthorized("missing %s header: this source signs its send time with the body", v.TimestampHeader)
		}
	}
	if sig == "" {
		return Result{}, unauthorized("missing signature header %s", v.Header)
	}
	sig = strings.TrimPrefix(strings.TrimSpace(sig), v.Prefix)
	var (
		got []byte
		err error
	)
	encoding := v.Encoding
	if encoding == "base64" {
		got, err = base64.StdEncoding.DecodeString(sig)
	} else {
		encoding = "hex"
		got, err = hex.DecodeString(sig)
	}
	if err != nil {
		return Result{}, unauthorized("malformed %s header: the signature is not %s", v.Header, encoding)
	}
	signed := [][]byte{r.Body}
	what := "the body's HMAC-SHA256"
	if v.TimestampHeader != "" {
		if _, err := checkTimestamp(v.TimestampHeader, stamp, r.Now, v.Tolerance); err != nil {
			return Result{}, err
		}
		signed = v.Content.parts(stamp, r.Body)
		what = "the HMAC-SHA256 of " + v.TimestampHeader + " and the body"
	}
	if !anyMACParts([][]byte{got}, secrets, signed...) {
		return Result{}, unauthorized("signature mismatch: %s does not match %s with this source's secret", v.Header, what)
	}
	return Result{Signed: digest(signed...)}, nil
}

// digest is the hex SHA-256 of the parts, for Result.Signed.
func digest(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

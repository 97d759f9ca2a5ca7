package verify

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// HMAC checks an HMAC-SHA256 of the raw body (auth type hmac), the scheme
// of GitHub-style webhooks: the signature is in Header, hex or base64
// (Encoding), optionally after Prefix (e.g. "sha256="). The secrets are
// the valid keys.
type HMAC struct {
	Header   string
	Encoding string // hex (default) or base64
	Prefix   string
}

var _ Verifier = HMAC{}

// Verify checks the body's signature against every secret.
func (v HMAC) Verify(_ context.Context, r Request, secrets []string) (Result, error) {
	sig := r.Header.Get(v.Header)
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
	if !anyMAC([][]byte{got}, secrets, r.Body) {
		return Result{}, unauthorized("signature mismatch: %s does not match the body's HMAC-SHA256 with this source's secret", v.Header)
	}
	return Result{}, nil
}

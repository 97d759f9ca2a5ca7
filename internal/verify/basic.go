package verify

import (
	"context"
	"encoding/base64"
	"strings"
)

// Basic checks HTTP Basic credentials (RFC 7617; auth type basic), for
// senders that can only put a username and password in the URL or a
// form. Username is fixed by the config; the secrets are the valid
// passwords (the password is what the registry rotates).
type Basic struct {
	Username string
}

var _ Verifier = Basic{}

const basicHint = `send an "Authorization: Basic <base64 of username:password>" header (or user:password@ in the URL)`

// Verify checks the username and the password against every secret.
func (v Basic) Verify(_ context.Context, r Request, secrets []string) (Result, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return Result{}, unauthorized("missing Authorization header: %s", basicHint)
	}
	enc, ok := Credentials(h, "Basic")
	if !ok {
		return Result{}, unauthorized("the Authorization header is not Basic credentials: %s", basicHint)
	}
	enc = strings.TrimSpace(enc)
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		// Some clients drop the padding.
		raw, err = base64.RawStdEncoding.DecodeString(enc)
	}
	if err != nil {
		return Result{}, unauthorized("malformed Authorization header: the Basic credentials are not base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return Result{}, unauthorized("malformed Authorization header: the Basic credentials are not username:password")
	}
	// Both compared in constant time, and both always: the answer does not
	// say which one was wrong.
	userOK := EqualSecret(user, v.Username)
	passOK := anyEqualSecret(pass, secrets)
	if !userOK || !passOK {
		return Result{}, unauthorized("invalid username or password")
	}
	return Result{}, nil
}

package verify

import (
	"context"
	"strconv"
	"strings"
)

// Token checks a shared token (auth type token), sent as
// "Authorization: Bearer <token>", as the value of Header when set (for
// senders that name their own header, e.g. Api-Key) or, when QueryParam is
// set, as that query parameter (for senders that cannot set headers). The
// secrets are the valid tokens.
type Token struct {
	QueryParam string
	Header     string
}

var _ Verifier = Token{}

// Verify checks the request's token against every secret.
func (v Token) Verify(_ context.Context, r Request, secrets []string) (Result, error) {
	var got string
	if v.QueryParam != "" {
		got = r.Query.Get(v.QueryParam)
	}
	if got == "" && v.Header != "" {
		got = strings.TrimSpace(r.Header.Get(v.Header))
	}
	if got == "" {
		if t, ok := Credentials(r.Header.Get("Authorization"), "Bearer"); ok {
			got = strings.TrimSpace(t)
		}
	}
	if got == "" {
		where := `an "Authorization: Bearer <token>" header`
		if v.Header != "" {
			where += ", a " + strconv.Quote(v.Header) + " header"
		}
		if v.QueryParam != "" {
			where += " or the " + strconv.Quote(v.QueryParam) + " query parameter"
		}
		return Result{}, unauthorized("missing token: send %s", where)
	}
	if !anyEqualSecret(got, secrets) {
		return Result{}, unauthorized("invalid token")
	}
	return Result{}, nil
}

// Credentials returns the credentials of an Authorization header value in
// the given scheme ("Bearer", "Basic"); the scheme is case-insensitive
// (RFC 9110 §11.1).
func Credentials(h, scheme string) (string, bool) {
	if len(h) <= len(scheme) || h[len(scheme)] != ' ' || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	return h[len(scheme)+1:], true
}

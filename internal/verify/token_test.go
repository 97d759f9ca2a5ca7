package verify

import (
	"net/url"
	"testing"
)

func TestToken(t *testing.T) {
	t.Parallel()
	const tok, old = "ihs_0f3c9b7e2a", "ihs_previous_77"
	secrets := []string{tok, old}
	bearer := func(v string) []string { return []string{"Authorization", v} }
	cases := []testCase{
		{name: "bearer", header: hdr(bearer("Bearer " + tok)...), secrets: secrets},
		{name: "scheme case-insensitive, padded", header: hdr(bearer("bEaReR  " + tok + " ")...), secrets: secrets},
		{name: "previous token during overlap", header: hdr(bearer("Bearer " + old)...), secrets: secrets},
		{name: "previous token after overlap", header: hdr(bearer("Bearer " + old)...), secrets: []string{tok}, words: []string{"invalid token"}},
		{name: "wrong", header: hdr(bearer("Bearer nope")...), secrets: secrets, words: []string{"invalid token"}},
		{name: "prefix of the token", header: hdr(bearer("Bearer " + tok[:6])...), secrets: secrets, words: []string{"invalid token"}},
		{name: "missing", secrets: secrets, words: []string{"missing token", "Authorization: Bearer"}},
		{name: "basic scheme", header: hdr(bearer("Basic " + tok)...), secrets: secrets, words: []string{"missing token"}},
		{name: "scheme without space", header: hdr(bearer("Bearer" + tok)...), secrets: secrets, words: []string{"missing token"}},
		{name: "empty secret never matches", header: hdr(bearer("Bearer  ")...), secrets: []string{""}, words: []string{"missing token"}},
	}
	runCases(t, Token{}, cases, nil)

	q := func(v string) url.Values { return url.Values{"token": {v}} }
	runCases(t, Token{QueryParam: "token"}, []testCase{
		{name: "query", query: q(tok), secrets: secrets},
		{name: "query wrong", query: q("x"), secrets: secrets, words: []string{"invalid token"}},
		{name: "bearer still works", header: hdr(bearer("Bearer " + tok)...), secrets: secrets},
		{name: "query missing", secrets: secrets, words: []string{"missing token", `"token" query parameter`}},
	}, nil)

	runCases(t, Token{Header: "Api-Key"}, []testCase{
		{name: "header", header: hdr("Api-Key", tok), secrets: secrets},
		{name: "header, other case, padded", header: hdr("api-key", " "+tok+" "), secrets: secrets},
		{name: "header wrong", header: hdr("Api-Key", "x"), secrets: secrets, words: []string{"invalid token"}},
		{name: "bearer still works", header: hdr(bearer("Bearer " + tok)...), secrets: secrets},
		{name: "header missing", secrets: secrets, words: []string{"missing token", `"Api-Key" header`}},
	}, nil)
}

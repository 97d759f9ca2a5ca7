package verify

import (
	"encoding/base64"
	"testing"
)

func TestBasic(t *testing.T) {
	t.Parallel()
	const user, pass, old = "grafana", "pw-7c41d0e9ab", "pw-old-11aa"
	secrets := []string{pass, old}
	basic := func(cred string) []string {
		return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(cred))}
	}
	cases := []testCase{
		{name: "good", header: hdr(basic(user + ":" + pass)...), secrets: secrets},
		// RFC 7617 §2: the user-id has no colon; the password may.
		{name: "password with colon", header: hdr(basic(user + ":a:b")...), secrets: []string{"a:b"}},
		{name: "previous password during overlap", header: hdr(basic(user + ":" + old)...), secrets: secrets},
		{name: "scheme case-insensitive", header: hdr("Authorization", "basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass))), secrets: secrets},
		{name: "unpadded base64", header: hdr("Authorization", "Basic "+base64.RawStdEncoding.EncodeToString([]byte(user+":"+pass+"x"))), secrets: []string{pass + "x"}},
		{name: "wrong password", header: hdr(basic(user + ":nope")...), secrets: secrets, words: []string{"invalid username or password"}},
		{name: "wrong user", header: hdr(basic("admin:" + pass)...), secrets: secrets, words: []string{"invalid username or password"}},
		{name: "rotated away", header: hdr(basic(user + ":" + old)...), secrets: []string{pass}, words: []string{"invalid username or password"}},
		{name: "empty password", header: hdr(basic(user + ":")...), secrets: []string{""}, words: []string{"invalid username or password"}},
		{name: "missing", secrets: secrets, words: []string{"missing Authorization header", "Basic"}},
		{name: "bearer instead", header: hdr("Authorization", "Bearer "+pass), secrets: secrets, words: []string{"not Basic credentials"}},
		{name: "not base64", header: hdr("Authorization", "Basic !!!"), secrets: secrets, words: []string{"malformed Authorization header", "base64"}},
		{name: "no colon", header: hdr(basic(user + pass)...), secrets: secrets, words: []string{"malformed Authorization header", "username:password"}},
	}
	runCases(t, Basic{Username: user}, cases, nil)
}

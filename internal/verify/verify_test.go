package verify

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
)

// testCase is one request to a verifier and what it must answer.
type testCase struct {
	name    string
	header  http.Header
	query   url.Values
	body    []byte
	now     time.Time
	secrets []string
	// words the error message must contain; nil means the request passes.
	words []string
	dedup string // the Result's DedupKey on success
}

// hdr builds a header from name, value pairs.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func runCases(t *testing.T, v Verifier, cases []testCase, leaks func(secret string, tc testCase) []string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := Request{Header: tc.header, Query: tc.query, Body: tc.body, Now: tc.now}
			if r.Header == nil {
				r.Header = http.Header{}
			}
			res, err := v.Verify(context.Background(), r, tc.secrets)
			if tc.words == nil {
				require.NoError(t, err)
				require.Equal(t, tc.dedup, res.DedupKey)
				return
			}
			requireUnauthorized(t, err, tc.words...)
			require.Zero(t, res, "a refused request yields no result")
			for _, s := range tc.secrets {
				if s == "" {
					continue
				}
				forbidden := append([]string{s}, macForms(s, tc.body)...)
				if leaks != nil {
					forbidden = append(forbidden, leaks(s, tc)...)
				}
				for _, f := range forbidden {
					require.NotContains(t, err.Error(), f, "the error must not reveal a secret or the expected signature")
				}
			}
		})
	}
}

// requireUnauthorized checks err is an *incidenthub.Error with code
// EUNAUTHORIZED whose message contains every one of words.
func requireUnauthorized(t *testing.T, err error, words ...string) {
	t.Helper()
	require.Error(t, err)
	var e *incidenthub.Error
	require.True(t, errors.As(err, &e), "want *incidenthub.Error, got %T", err)
	require.Equal(t, incidenthub.EUNAUTHORIZED, e.Code)
	for _, w := range words {
		require.Contains(t, e.Message, w)
	}
}

// macForms are the ways the expected body signature of secret could leak.
func macForms(secret string, body []byte) []string {
	m := macSHA256([]byte(secret), body)
	return []string{hex.EncodeToString(m), strings.ToUpper(hex.EncodeToString(m)), base64.StdEncoding.EncodeToString(m)}
}

func hexMAC(secret string, body []byte) string {
	return hex.EncodeToString(macSHA256([]byte(secret), body))
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func TestCheckTimestamp(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		value     string
		tolerance time.Duration
		words     []string
	}{
		{value: "1700000000", tolerance: time.Minute},
		{value: "1700000060", tolerance: time.Minute},
		{value: " 1700000060", tolerance: time.Minute, words: []string{"malformed"}}, // net/http trims header values; anything else is not ours
		{value: "1699999940", tolerance: time.Minute},
		{value: "1699999939", tolerance: time.Minute, words: []string{"stale timestamp", "1m1s ago", "1m0s tolerance"}},
		{value: "1700000061", tolerance: time.Minute, words: []string{"in the future", "1m1s ahead", "1m0s tolerance"}},
		{value: "1", tolerance: 0},
		{value: "0", tolerance: time.Minute, words: []string{"stale timestamp"}},
		// Found by FuzzVerifySentry: more than 292 years ahead saturated the
		// difference and passed.
		{value: "11000000000", tolerance: time.Minute, words: []string{"in the future"}},
		{value: "253402300799", tolerance: time.Minute, words: []string{"in the future"}},
		{value: "-5", tolerance: time.Minute, words: []string{"malformed X-Ts header", `"-5"`}},
		{value: "1700000000.5", tolerance: time.Minute, words: []string{"malformed", "Unix time in seconds"}},
		{value: "253402300800", tolerance: time.Minute, words: []string{"malformed"}},
		{value: "9223372036854775807", tolerance: 0, words: []string{"malformed"}},
		{value: strings.Repeat("9", 100), tolerance: 0, words: []string{"malformed", "…"}},
	} {
		_, err := checkTimestamp("X-Ts", tc.value, now, tc.tolerance)
		if tc.words == nil {
			require.NoError(t, err, tc.value)
			continue
		}
		requireUnauthorized(t, err, tc.words...)
		require.Less(t, len(err.Error()), 300, "an untrusted value is cut short in the message")
	}
}

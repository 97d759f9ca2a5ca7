package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/config"
)

// jsonDepth is the nesting depth of a valid JSON document, by decoding it
// token by token: the reference checkDepth's single scan must agree with.
func jsonDepth(body []byte) (int, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return deepest, nil
		}
		if err != nil {
			return 0, err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
				deepest = max(deepest, depth)
			} else {
				depth--
			}
		}
	}
}

func TestCheckDepth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body  string
		limit int
		ok    bool
	}{
		{`{}`, 1, true},
		{`[[]]`, 1, false},
		{`[[]]`, 2, true},
		{`{"a":"[[[["}`, 1, true},
		{`{"a":"\"[[[["}`, 1, true},
		{`{"a":"\\","b":[[]]}`, 2, false},
		{`"[[["`, 1, true},
		{`1`, 1, true},
		{``, 1, true},
		{`[]]`, 5, false},
	} {
		err := checkDepth([]byte(tc.body), tc.limit)
		if tc.ok != (err == nil) {
			t.Errorf("checkDepth(%s, %d) = %v", tc.body, tc.limit, err)
		}
		if err != nil && incidenthub.ErrorCode(err) != incidenthub.EINVALID {
			t.Errorf("checkDepth(%s): code %s", tc.body, incidenthub.ErrorCode(err))
		}
	}
	err := checkDepth([]byte(strings.Repeat("[", 65)), 64)
	if err == nil || !strings.Contains(err.Error(), "body nests deeper than 64 levels") {
		t.Fatalf("want the limit named, got %v", err)
	}
}

// FuzzCheckDepth: on every valid JSON document the single scan agrees with
// a decoder's depth, at the limit and one below it; it never panics on
// anything else.
//
//	go test ./web -run x -fuzz FuzzCheckDepth -fuzztime 60s
func FuzzCheckDepth(f *testing.F) {
	for _, s := range []string{`{}`, `[[{"a":[1,"]"]}]]`, `"\\"`, `{"a":"\"[{"}`, `[]]`, strings.Repeat("[", 70) + strings.Repeat("]", 70), `{"a":{"b":{"c":[[[]]]}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := checkDepth(body, 64)
		if !json.Valid(body) {
			if err != nil && incidenthub.ErrorCode(err) != incidenthub.EINVALID {
				t.Fatalf("code %s", incidenthub.ErrorCode(err))
			}
			return
		}
		d, derr := jsonDepth(body)
		if derr != nil {
			t.Fatalf("valid JSON does not decode: %v", derr)
		}
		for _, limit := range []int{d, d - 1} {
			if limit < 1 {
				continue
			}
			if err := checkDepth(body, limit); (err == nil) != (d <= limit) {
				t.Fatalf("depth %d, limit %d: checkDepth says %v", d, limit, err)
			}
		}
	})
}

func TestKeptHeadersRedactsSignatures(t *testing.T) {
	t.Parallel()
	h := map[string][]string{
		"Sentry-Hook-Signature": {"abc"}, "Sentry-Hook-Timestamp": {"1700000000"}, "X-Pagerduty-Signature": {"v1=abc"},
		"Webhook-Signature": {"v1,abc"}, "Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {"1700000000"},
		"Authorization": {"Basic abc"}, "X-Custom-Mac": {"abc"}, "User-Agent": {"PagerDuty-Webhook/V3.0"},
	}
	got := keptHeaders(h, configHMAC("x-custom-mac"))
	for _, k := range []string{"Sentry-Hook-Signature", "X-Pagerduty-Signature", "Webhook-Signature", "Authorization", "X-Custom-Mac"} {
		if got[k] != "<redacted>" {
			t.Errorf("%s stored as %q", k, got[k])
		}
	}
	for _, k := range []string{"Sentry-Hook-Timestamp", "Webhook-Id", "Webhook-Timestamp", "User-Agent"} {
		if got[k] != h[k][0] {
			t.Errorf("%s: a harmless header is kept as sent, got %q", k, got[k])
		}
	}
}

func configHMAC(header string) config.SourceAuth {
	return config.SourceAuth{Type: config.AuthHMAC, Header: header}
}

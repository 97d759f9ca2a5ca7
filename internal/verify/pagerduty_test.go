package verify

import (
	"strings"
	"testing"
)

func TestPagerDuty(t *testing.T) {
	t.Parallel()
	// PagerDuty's published example: the secret, body and signature of the
	// signature test in PagerDuty's own Go client,
	// https://github.com/PagerDuty/go-pagerduty/blob/main/webhookv3/webhookv3_test.go
	// (the body is testdata/pagerduty-v3-priority-updated.json, byte for byte).
	const pdSecret = "lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK"
	const pdSig = "v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd"
	body := readTestdata(t, "pagerduty-v3-priority-updated.json")
	const old = "b2xkLXBhZ2VyZHV0eS1zaWduaW5nLXNlY3JldC0wMDAwMDAwMDAwMDAwMDAw"
	sig := func(v string) []string { return []string{PagerDutySignatureHeader, v} }
	v1 := func(secret string) string { return "v1=" + hexMAC(secret, body) }
	cases := []testCase{
		{name: "PagerDuty's published example", header: hdr(sig(pdSig)...), body: body, secrets: []string{pdSecret}},
		{name: "two signatures during PagerDuty's rotation: new first", header: hdr(sig(pdSig + "," + v1(old))...), body: body, secrets: []string{pdSecret}},
		{name: "two signatures during PagerDuty's rotation: old first", header: hdr(sig(v1(old) + ", " + pdSig)...), body: body, secrets: []string{pdSecret}},
		{name: "hub-side overlap: previous secret", header: hdr(sig(v1(old))...), body: body, secrets: []string{pdSecret, old}},
		{name: "upper-case hex", header: hdr(sig("v1=" + strings.ToUpper(hexMAC(pdSecret, body)))...), body: body, secrets: []string{pdSecret}},
		{name: "another version beside v1 is ignored", header: hdr(sig("v2=abc," + pdSig)...), body: body, secrets: []string{pdSecret}},
		{name: "PagerDuty's published mismatch", header: hdr(sig("v1=7020c8a7ec668a9b7012bc3dd82e483394b038f4230acc6785efbf2a7d8bcaf5")...), body: body, secrets: []string{pdSecret}, words: []string{"signature mismatch", PagerDutySignatureHeader, "signing secret"}},
		{name: "wrong secret", header: hdr(sig(v1("nope"))...), body: body, secrets: []string{pdSecret, old}, words: []string{"signature mismatch"}},
		{name: "tampered body", header: hdr(sig(pdSig)...), body: append(body[:len(body):len(body)], ' '), secrets: []string{pdSecret}, words: []string{"signature mismatch"}},
		{name: "missing", body: body, secrets: []string{pdSecret}, words: []string{"missing " + PagerDutySignatureHeader + " header"}},
		{name: "malformed: no version", header: hdr(sig(strings.TrimPrefix(pdSig, "v1="))...), body: body, secrets: []string{pdSecret}, words: []string{"malformed " + PagerDutySignatureHeader + " header", "v1=<64 hex digits>"}},
		{name: "malformed: not hex", header: hdr(sig("v1=xyz")...), body: body, secrets: []string{pdSecret}, words: []string{"malformed " + PagerDutySignatureHeader}},
		{name: "malformed: empty entry", header: hdr(sig(pdSig + ",")...), body: body, secrets: []string{pdSecret}, words: []string{"malformed"}},
		{name: "malformed: only other versions", header: hdr(sig("v2=" + hexMAC(pdSecret, body))...), body: body, secrets: []string{pdSecret}, words: []string{"no v1 signature"}},
		{name: "too many signatures", header: hdr(sig(strings.Repeat(v1("x")+",", 8) + pdSig)...), body: body, secrets: []string{pdSecret}, words: []string{"more than 8 signatures"}},
	}
	runCases(t, PagerDuty{}, cases, nil)
}

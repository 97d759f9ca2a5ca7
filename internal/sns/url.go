package sns

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// hostRe is the one host form the hub talks to on SNS's behalf:
// sns.<region>.amazonaws.com, e.g. sns.us-east-1.amazonaws.com or
// sns.us-gov-west-1.amazonaws.com. Nothing else (no other domain, no
// trailing dot, no port, no upper case) passes.
var hostRe = regexp.MustCompile(`^sns\.([a-z]{2}(?:-[a-z]+)+-[0-9]{1,2})\.amazonaws\.com$`)

// checkSNSURL parses raw and checks it is https://sns.<region>.amazonaws.com/…
// with nothing that could make a client go elsewhere. It returns the URL
// and the region.
// Messages show display, not raw (raw may hold a token).
func checkSNSURL(what, raw, display string) (*url.URL, string, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s %s: %s", what, quoteURL(display), fmt.Sprintf(format, args...))
	}
	if strings.ContainsAny(raw, "\\ \t\r\n") || strings.ContainsFunc(raw, func(r rune) bool { return r < 0x20 || r >= 0x7f }) {
		return nil, "", bad("contains spaces, backslashes or non-ASCII characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", bad("not a URL")
	}
	if !strings.HasPrefix(raw, "https://") {
		return nil, "", bad("must start with https://")
	}
	if u.User != nil {
		return nil, "", bad("must not carry user information (an @ before the host)")
	}
	if u.Port() != "" {
		return nil, "", bad("must not name a port")
	}
	m := hostRe.FindStringSubmatch(u.Host)
	if m == nil {
		return nil, "", bad("host %q is not sns.<region>.amazonaws.com", u.Host)
	}
	if u.Opaque != "" || u.Fragment != "" || u.RawFragment != "" || strings.Contains(raw, "#") {
		return nil, "", bad("must not have a fragment")
	}
	return u, m[1], nil
}

// CheckCertURL checks a SigningCertURL: https://sns.<region>.amazonaws.com/<name>.pem,
// without a query.
func CheckCertURL(raw string) (*url.URL, error) {
	u, _, err := checkSNSURL("SigningCertURL", raw, raw)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(u.Path, ".pem") || u.Path != u.EscapedPath() || strings.Contains(u.Path, "/..") {
		return nil, fmt.Errorf("SigningCertURL %s: path must be a plain /….pem file", quoteURL(raw))
	}
	if u.RawQuery != "" || u.ForceQuery {
		return nil, fmt.Errorf("SigningCertURL %s: must not have a query", quoteURL(raw))
	}
	return u, nil
}

// CheckSubscribeURL checks the SubscribeURL of a subscription
// confirmation for topicARN: https://sns.<region>.amazonaws.com/?Action=ConfirmSubscription&TopicArn=<topicARN>&Token=…,
// in the topic's region. The error never repeats the token.
func CheckSubscribeURL(raw, topicARN string) (*url.URL, error) {
	u, region, err := checkSNSURL("SubscribeURL", raw, redactToken(raw))
	if err != nil {
		return nil, err
	}
	if u.Path != "/" && u.Path != "" {
		return nil, fmt.Errorf("SubscribeURL: path %q is not /", u.Path)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("SubscribeURL: bad query")
	}
	if a := q["Action"]; len(a) != 1 || a[0] != "ConfirmSubscription" {
		return nil, fmt.Errorf("SubscribeURL: Action is not ConfirmSubscription")
	}
	if t := q["TopicArn"]; len(t) != 1 || t[0] != topicARN {
		return nil, fmt.Errorf("SubscribeURL: its TopicArn is not the message's topic %s", topicARN)
	}
	if t := q["Token"]; len(t) != 1 || t[0] == "" {
		return nil, fmt.Errorf("SubscribeURL: no Token")
	}
	if r := arnRegion(topicARN); r != region {
		return nil, fmt.Errorf("SubscribeURL: host region %s is not the topic's region %q", region, r)
	}
	return u, nil
}

// arnRegion is the region of arn:partition:service:region:account:resource.
func arnRegion(arn string) string {
	p := strings.SplitN(arn, ":", 6)
	if len(p) < 6 || p[0] != "arn" {
		return ""
	}
	return p[3]
}

// redactToken replaces the value of a Token query parameter, so a
// confirmation URL can be shown in a message.
func redactToken(raw string) string {
	base, query, ok := strings.Cut(raw, "?")
	if !ok {
		return raw
	}
	parts := strings.Split(query, "&")
	for i, p := range parts {
		if k, _, ok := strings.Cut(p, "="); ok && k == "Token" {
			parts[i] = "Token=<redacted>"
		}
	}
	return base + "?" + strings.Join(parts, "&")
}

// quoteURL quotes a URL for a message, cut to a readable length.
func quoteURL(raw string) string {
	if len(raw) > 200 {
		raw = raw[:200] + "…"
	}
	return fmt.Sprintf("%q", raw)
}

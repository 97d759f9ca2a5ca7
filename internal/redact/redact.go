// Package redact removes secrets from everything the hub shows or keeps
// outside its encrypted columns: logs, API answers, the UI, CLI output, the
// attempt log and stored event headers. It is the one place the hub decides
// what a secret looks like.
//
// A secret is found two ways:
//
//   - by name: a header or field whose name says it holds a credential
//     (Authorization, Cookie, X-Api-Key, …; see [SensitiveHeader] and
//     [SensitiveKey]) has its whole value hidden;
//   - by value: a [Redactor] knows the secret values themselves (tokens,
//     passwords, signing keys, the query values of a target URL) and hides
//     each wherever it appears, in every encoding a program on the way may
//     have applied: raw, JSON-escaped, URL query- and path-escaped, and
//     base64 (also inside a longer base64 text, as in Basic credentials).
//
// URLs follow one rule ([URL]): the values of the query and the user
// information are secrets, except the query parameters the operator
// declares public.
package redact

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Mark replaces a secret.
const Mark = "<redacted>"

// MinLen is the shortest secret value searched for: shorter ones would
// replace ordinary text. Shorter values are still hidden by name and
// inside URLs.
const MinLen = 4

// MinURLLen is MinLen for values taken from a URL (query values, user
// information): a URL also holds short non-secret values (?format=json),
// so only values this long are searched for elsewhere; every value is
// still hidden inside the URL itself.
const MinURLLen = 8

// Redactor hides a fixed set of secret values. The zero value and nil
// hide nothing by value. It is safe for concurrent use.
type Redactor struct {
	r *strings.Replacer
}

// Secret is a value to hide and, optionally, what to show instead (Mark
// when empty).
type Secret struct {
	Value string
	// Show replaces Value as written; "" shows Mark. Value's encoded
	// forms always show Mark.
	Show string
}

// New returns a Redactor for the given secret values; values shorter than
// MinLen are ignored.
func New(secrets ...string) *Redactor {
	ss := make([]Secret, 0, len(secrets))
	for _, s := range secrets {
		ss = append(ss, Secret{Value: s})
	}
	return NewSecrets(ss...)
}

// cache holds the Redactors Cached built, so a hot path (every inbound
// request) does not rebuild one for the same secrets. It is bounded:
// secrets change only on rotation, so a full cache is simply emptied.
var cache struct {
	sync.Mutex
	m map[string]*Redactor
}

const cacheSize = 256

// Cached is New, reusing the Redactor of an earlier call with the same
// secrets.
func Cached(secrets ...string) *Redactor {
	k := strings.Join(secrets, "\x00")
	cache.Lock()
	r, ok := cache.m[k]
	cache.Unlock()
	if ok {
		return r
	}
	r = New(secrets...)
	cache.Lock()
	if cache.m == nil || len(cache.m) >= cacheSize {
		cache.m = map[string]*Redactor{}
	}
	cache.m[k] = r
	cache.Unlock()
	return r
}

// NewSecrets is New with a replacement per secret.
func NewSecrets(secrets ...Secret) *Redactor {
	type pair struct{ old, new string }
	seen := map[string]bool{}
	var pairs []pair
	for _, s := range secrets {
		if len(s.Value) < MinLen {
			continue
		}
		for i, f := range Forms(s.Value) {
			if !seen[f] {
				seen[f] = true
				show := Mark
				if i == 0 { // the raw form
					show = cmp.Or(s.Show, Mark)
				}
				pairs = append(pairs, pair{f, show})
			}
		}
	}
	if len(pairs) == 0 {
		return &Redactor{}
	}
	// strings.Replacer tries the olds in argument order at each position:
	// longest first, so a form that contains another wins.
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(len(b.old), len(a.old)) })
	args := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		args = append(args, p.old, p.new)
	}
	return &Redactor{r: strings.NewReplacer(args...)}
}

// String returns s with every secret replaced.
func (r *Redactor) String(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	return r.r.Replace(s)
}

// Bytes is String for a body.
func (r *Redactor) Bytes(b []byte) string { return r.String(string(b)) }

// Header returns a copy of h with every credential header (by name, or
// named in always) hidden and every secret value replaced in the others.
func (r *Redactor) Header(h http.Header, always ...string) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		hide := hiddenHeader(k, always)
		for _, v := range vs {
			if hide {
				v = Mark
			}
			out[k] = append(out[k], r.String(v))
		}
	}
	return out
}

// HeaderMap is Header with each header's values joined by ", ", the form
// an event keeps its request headers in.
func (r *Redactor) HeaderMap(h http.Header, always ...string) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if hiddenHeader(k, always) {
			out[k] = Mark
			continue
		}
		out[k] = r.String(strings.Join(vs, ", "))
	}
	return out
}

// Map is HeaderMap for headers already kept as a map (an event read back
// from the store).
func (r *Redactor) Map(h map[string]string, always ...string) map[string]string {
	if h == nil {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		if hiddenHeader(k, always) {
			v = Mark
		}
		out[k] = r.String(v)
	}
	return out
}

func hiddenHeader(k string, always []string) bool {
	if SensitiveHeader(k) {
		return true
	}
	for _, a := range always {
		if a != "" && strings.EqualFold(a, k) {
			return true
		}
	}
	return false
}

// sensitiveWords mark a name (of a header, field or parameter) whose value
// is a credential.
var sensitiveWords = []string{
	"token", "secret", "password", "passwd", "signature", "credential", "authorization",
	"api-key", "apikey", "api_key", "private-key", "private_key", "access-key", "access_key",
}

// SensitiveKey reports whether a field or parameter name says its value is
// a credential ("token", "client_secret", "api_key", …). The audit trail
// hides the string values of such keys.
func SensitiveKey(name string) bool {
	name = strings.ToLower(name)
	for _, w := range sensitiveWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// SensitiveHeader reports whether a header's name says its value is a
// credential: Authorization, Proxy-Authorization, Cookie, Set-Cookie, any
// name SensitiveKey accepts, and names containing "auth" or "session" or
// ending in "-key" (X-Auth-Key, Ocp-Apim-Subscription-Key), except
// Idempotency-Key.
func SensitiveHeader(name string) bool {
	k := strings.ToLower(name)
	switch k {
	case "cookie", "set-cookie":
		return true
	case "idempotency-key", "x-idempotency-key":
		return false
	}
	return SensitiveKey(k) || strings.Contains(k, "auth") || strings.Contains(k, "session") || strings.HasSuffix(k, "-key")
}

// Forms returns s in every encoding the hub looks for: raw; JSON-escaped
// (with and without HTML escaping, with "\/" and with \uXXXX for
// non-ASCII, as other languages' encoders write it); URL query- and
// path-escaped (upper- and lower-case hex); base64 (standard and URL
// alphabets, padded and not) and, for values of 8 bytes or more, the
// part of their base64 that is the same wherever they sit in a longer
// base64 text.
func Forms(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	add := func(f string) {
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	add(s)
	for _, j := range jsonForms(s) {
		add(j)
	}
	for _, e := range []string{url.QueryEscape(s), url.PathEscape(s), strings.ReplaceAll(url.QueryEscape(s), "+", "%20")} {
		add(e)
		add(lowerHex(e))
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		add(enc.EncodeToString([]byte(s)))
	}
	if len(s) >= 8 {
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			for k := range 3 {
				add(base64Core(enc, s, k))
			}
		}
	}
	// A base64 form inside a URL or a JSON string.
	std := base64.StdEncoding.EncodeToString([]byte(s))
	add(url.QueryEscape(std))
	add(strings.ReplaceAll(std, "/", `\/`))
	return out
}

func jsonForms(s string) []string {
	html, _ := json.Marshal(s)
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	plain := strings.TrimSpace(b.String())
	var out []string
	for _, q := range []string{string(html), plain} {
		q = q[1 : len(q)-1]
		out = append(out, q, strings.ReplaceAll(q, "/", `\/`), asciiJSON(q))
	}
	return out
}

// asciiJSON rewrites the non-ASCII characters of a JSON string body as
// \uXXXX escapes (Python's json.dumps does so by default).
func asciiJSON(q string) string {
	var b strings.Builder
	for _, r := range q {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r > 0xFFFF:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// lowerHex lower-cases the hex digits of a percent-encoded string.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lower(b[i+1]), lower(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

// base64Core is the part of the base64 of s that does not depend on the
// bytes around it when s starts k bytes (mod 3) into the encoded text:
// the characters whose 6 bits all come from s.
func base64Core(enc *base64.Encoding, s string, k int) string {
	full := enc.EncodeToString(append(make([]byte, k), s...))
	from := (8*k + 5) / 6
	to := 8 * (k + len(s)) / 6
	if to <= from {
		return ""
	}
	return full[from:to]
}

// URL returns raw with its user information and the value of every query
// parameter not named in public replaced by Mark; a raw that does not
// parse is replaced whole when it may hold a query or user information.
func URL(raw string, public []string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		if strings.ContainsAny(raw, "?@") {
			return Mark
		}
		return raw
	}
	return URLOf(u, public)
}

// URLOf is URL for a parsed URL.
func URLOf(u *url.URL, public []string) string {
	c := *u
	if c.User != nil {
		c.User = url.User(Mark)
	}
	if c.RawQuery != "" || c.ForceQuery {
		q, err := url.ParseQuery(c.RawQuery)
		if err != nil && len(q) == 0 {
			c.RawQuery = url.QueryEscape(Mark)
		} else {
			for k, vs := range q {
				if slices.Contains(public, k) {
					continue
				}
				for i := range vs {
					vs[i] = Mark
				}
			}
			c.RawQuery = q.Encode()
		}
	}
	return c.String()
}

// URLSecrets returns the values URL hides in raw that are long enough
// (MinURLLen) to be searched for elsewhere: the user information's name
// and password and the query values not named in public.
func URLSecrets(raw string, public []string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	var out []string
	keep := func(v string) {
		if len(v) >= MinURLLen && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if u.User != nil {
		keep(u.User.Username())
		if p, ok := u.User.Password(); ok {
			keep(p)
		}
	}
	q, _ := url.ParseQuery(u.RawQuery)
	for k, vs := range q {
		if slices.Contains(public, k) {
			continue
		}
		for _, v := range vs {
			keep(v)
		}
	}
	return out
}

// URLSecret returns the secrets of raw for a Redactor: the whole URL,
// shown redacted (so an error quoting it shows its public parts), then
// each value of URLSecrets.
func URLSecret(raw string, public []string) []Secret {
	if raw == "" {
		return nil
	}
	out := []Secret{}
	if shown := URL(raw, public); shown != raw {
		out = append(out, Secret{Value: raw, Show: shown})
		if u, err := url.Parse(raw); err == nil && u.String() != raw {
			out = append(out, Secret{Value: u.String(), Show: shown})
		}
	}
	for _, v := range URLSecrets(raw, public) {
		out = append(out, Secret{Value: v})
	}
	return out
}

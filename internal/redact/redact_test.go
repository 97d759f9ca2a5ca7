package redact_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/redact"
)

// encodings writes s the ways a target, a library or the hub itself may
// have on the way to an output. Written here, not taken from the package,
// so the test checks the package rather than itself.
func encodings(s string) map[string]string {
	j, _ := json.Marshal(s)
	return map[string]string{
		"raw":            s,
		"json":           string(j[1 : len(j)-1]),
		"query":          url.QueryEscape(s),
		"path":           url.PathEscape(s),
		"base64":         base64.StdEncoding.EncodeToString([]byte(s)),
		"base64url":      base64.RawURLEncoding.EncodeToString([]byte(s)),
		"json of base64": strings.ReplaceAll(base64.StdEncoding.EncodeToString([]byte(s)), "/", `\/`),
	}
}

func TestRedactorEveryEncoding(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{
		`p"ss\word/with<html>&more`,  // JSON-escaped, HTML-escaped by encoding/json
		"p@ss word+plus/slash?x=1#f", // query and path escaping differ
		"xoxb-secret-1",              // nothing to escape
		"clé-secrète-été-😀",          // non-ASCII
	} {
		r := redact.New(secret)
		for name, form := range encodings(secret) {
			for _, text := range []string{form, "before " + form + " after", `{"h":"` + form + `"}`} {
				got := r.String(text)
				require.NotContains(t, got, form, "%s form of %q in %q", name, secret, text)
				require.Contains(t, got, redact.Mark, "%s form of %q", name, secret)
			}
		}
	}
}

// A secret inside a longer base64 text (Basic credentials echoed back)
// is found at any alignment.
func TestRedactorBase64Inside(t *testing.T) {
	t.Parallel()
	const pw = "hunter2-very-secret"
	r := redact.New(pw)
	for _, user := range []string{"", "a", "ab", "abc", "alice"} {
		b64 := base64.StdEncoding.EncodeToString([]byte(user + ":" + pw + "\n"))
		got := r.String("Basic " + b64)
		require.Contains(t, got, redact.Mark, user)
		dec, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(got, "Basic "))
		if err == nil {
			require.NotContains(t, string(dec), pw, user)
		}
	}
}

func TestRedactorLeavesOtherText(t *testing.T) {
	t.Parallel()
	r := redact.New("abc", "sixteen-byte-key")
	require.Equal(t, "abc and <redacted>", r.String("abc and sixteen-byte-key"), "values shorter than MinLen are not searched for")
	var none *redact.Redactor
	require.Equal(t, "text", none.String("text"))
	require.Equal(t, "text", redact.New().String("text"))
}

// The attempt log's redactor, as it was in internal/delivery: credential
// headers by name, configured values in headers and bodies, URLs' user
// information and query values.
func TestRedactor(t *testing.T) {
	t.Parallel()
	r := redact.New("xoxb-secret-1", "p@ss word")
	require.Equal(t, "https://%3Credacted%3E@h.example/x?keep=1&token=%3Credacted%3E",
		redact.URL("https://user:pw@h.example/x?token=abc&keep=1", []string{"keep"}))
	h := r.Header(http.Header{"Authorization": {"Bearer xoxb-secret-1"}, "X-Trace": {"t xoxb-secret-1"}, "Webhook-Id": {"msg_1"}})
	require.Equal(t, []string{"<redacted>"}, h["Authorization"])
	require.Equal(t, []string{"t <redacted>"}, h["X-Trace"])
	require.Equal(t, []string{"msg_1"}, h["Webhook-Id"])
	require.Equal(t, "token=<redacted>&pw=<redacted>", r.Bytes([]byte("token=xoxb-secret-1&pw=p%40ss+word")))
}

func TestURL(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"":                               "",
		"https://h.example/hook":         "https://h.example/hook",
		"https://h.example/hook?token=a": "https://h.example/hook?token=%3Credacted%3E",
		"https://h.example/x?key=k1&token=t1&key=k2&threadKey=ops": "https://h.example/x?key=%3Credacted%3E&key=%3Credacted%3E&threadKey=ops&token=%3Credacted%3E",
		"https://u:p@h.example/":                                   "https://%3Credacted%3E@h.example/",
		"https://h.example/?":                                      "https://h.example/?",
		"https://h.example/%zz?token=t":                            "<redacted>",
		"/hooks/alertmanager":                                      "/hooks/alertmanager",
		"https://h.example/x?api-version=1&sig":                    "https://h.example/x?api-version=1&sig=%3Credacted%3E",
	} {
		require.Equal(t, want, redact.URL(raw, []string{"threadKey", "api-version"}), raw)
	}
}

func TestURLSecret(t *testing.T) {
	t.Parallel()
	const raw = "https://chat.example/v1/spaces/AAA/messages?key=AIzaSy-long-key&token=tok-long-value&threadKey=ops"
	r := redact.NewSecrets(redact.URLSecret(raw, []string{"threadKey"})...)
	got := r.String(`Post "` + raw + `": dial tcp: connection refused`)
	require.Equal(t, `Post "https://chat.example/v1/spaces/AAA/messages?key=%3Credacted%3E&threadKey=ops&token=%3Credacted%3E": dial tcp: connection refused`, got)
	require.Equal(t, "echo <redacted> and <redacted>", r.String("echo AIzaSy-long-key and dG9rLWxvbmctdmFsdWU="))
	require.Equal(t, "ops", r.String("ops"), "public values are not secrets")
	require.Empty(t, redact.URLSecret("", nil))
	require.ElementsMatch(t, []string{"admin-user", "password-1"}, redact.URLSecrets("https://admin-user:password-1@h.example/?format=json", nil),
		"values shorter than MinURLLen are hidden only in the URL")
}

func TestSensitiveNames(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "Api-Key",
		"Dd-Api-Key", "X-Gitlab-Token", "Private-Token", "X-Auth-Key", "Ocp-Apim-Subscription-Key", "X-Hub-Signature-256", "X-Session-Id"} {
		require.True(t, redact.SensitiveHeader(h), h)
	}
	for _, h := range []string{"Content-Type", "User-Agent", "Webhook-Id", "Idempotency-Key", "X-Request-Id"} {
		require.False(t, redact.SensitiveHeader(h), h)
	}
	for _, k := range []string{"token", "client_secret", "api_key", "password", "signature"} {
		require.True(t, redact.SensitiveKey(k), k)
	}
	for _, k := range []string{"auth_method", "endpoint", "owner", "name"} {
		require.False(t, redact.SensitiveKey(k), k)
	}
}

func TestHeaderMap(t *testing.T) {
	t.Parallel()
	r := redact.New("src-token-1234")
	got := r.HeaderMap(http.Header{
		"Api-Key":     {"src-token-1234"},
		"X-Copy":      {"Bearer src-token-1234"},
		"X-Hook-Pass": {"anything"},
		"Accept":      {"a", "b"},
	}, "x-hook-pass")
	require.Equal(t, map[string]string{"Api-Key": "<redacted>", "X-Copy": "Bearer <redacted>", "X-Hook-Pass": "<redacted>", "Accept": "a, b"}, got)
	require.Equal(t, got, r.Map(map[string]string{"Api-Key": "x", "X-Copy": "Bearer src-token-1234", "X-Hook-Pass": "anything", "Accept": "a, b"}, "X-Hook-Pass"))
	require.Nil(t, r.Map(nil))
}

func TestCached(t *testing.T) {
	t.Parallel()
	a := redact.Cached("cached-secret-1", "cached-secret-2")
	require.Same(t, a, redact.Cached("cached-secret-1", "cached-secret-2"))
	require.NotSame(t, a, redact.Cached("cached-secret-1"))
	require.Equal(t, "<redacted> <redacted>", a.String("cached-secret-1 cached-secret-2"))
}

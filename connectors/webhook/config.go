package webhook

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// SecretPrefix starts every Standard Webhooks signing secret.
const SecretPrefix = "whsec_"

// Config is one generic webhook target.
type Config struct {
	// Name is the target's name, sent in every event body.
	Name string
	// URL receives a POST per change (http or https).
	URL string
	// Secrets are whsec_<base64> signing keys. Every one signs each request,
	// so a receiver can rotate: add the new secret, switch, drop the old.
	Secrets []string
	// Headers are extra static headers sent with every request.
	Headers map[string]string
}

// FieldError is a problem with one config field; Field is its YAML key.
type FieldError struct{ Field, Msg string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Validate reports every problem as a *FieldError.
func (c Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{field, fmt.Sprintf(format, args...)})
	}
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		add("url", "required for type webhook")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		add("url", "%s must be an absolute http:// or https:// URL", quotedURL(u, err))
	case u.User != nil:
		add("url", "must not carry credentials; use headers")
	}
	for i, s := range c.Secrets {
		if _, err := decodeSecret(s); err != nil {
			add(fmt.Sprintf("secrets[%d]", i), "%v", err)
		}
	}
	for k := range c.Headers {
		switch lk := strings.ToLower(k); {
		case strings.HasPrefix(lk, "webhook-"), lk == "content-type", lk == "content-length", lk == "host":
			add("headers."+k, "is set by the hub and cannot be overridden")
		case !validHeaderName(k):
			add("headers."+k, "is not a valid HTTP header name")
		}
	}
	return errors.Join(errs...)
}

func validHeaderName(k string) bool {
	return k != "" && http.CanonicalHeaderKey(k) != "" && !strings.ContainsAny(k, " :\t\r\n")
}

// decodeSecret returns the key bytes of a whsec_<base64> secret.
func decodeSecret(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("must start with %q (a Standard Webhooks secret: whsec_ + base64 of 24–64 random bytes)", SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, errors.New("the part after whsec_ is not valid base64")
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("key is %d bytes; want 24 to 64", len(key))
	}
	return key, nil
}

// quotedURL shows a URL in an error without what may be a credential (its
// query and user info); errors reach the API and the audit trail.
func quotedURL(u *url.URL, err error) string {
	if err != nil {
		return "the value"
	}
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		c.RawQuery = "<redacted>"
	}
	return strconv.Quote(c.String())
}

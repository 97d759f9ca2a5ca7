// Package httperr classifies the outcome of a call to a vendor's HTTP API
// for the delivery engine: whether to retry, and how long the vendor asked
// to wait. Errors are duck-typed: the engine looks for Retryable() bool and
// RetryAfter() time.Duration, so connectors need not share a type with it.
package httperr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/incidenthub/incidenthub/internal/redact"
)

// Error is a failed call to a vendor API.
type Error struct {
	// Op names the call, e.g. "jira: create issue".
	Op string
	// Status is the HTTP status, 0 for a transport error.
	Status int
	// Message is the vendor's own explanation, secrets removed.
	Message string
	// Err is the underlying transport error, if any.
	Err error

	retryable  bool
	retryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the transport error.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether sending the same request later may succeed.
func (e *Error) Retryable() bool { return e.retryable }

// RetryAfter is how long the vendor asked to wait; 0 when it did not say.
func (e *Error) RetryAfter() time.Duration { return e.retryAfter }

// StatusCode is the HTTP status the vendor answered; 0 when none.
func (e *Error) StatusCode() int { return e.Status }

// RetryableStatus reports whether a response with this status is worth
// retrying: 408, 420 (Statuspage's "Enhance Your Calm"), 425, 429 and 5xx
// except 501 and 505, which a retry cannot fix.
func RetryableStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, 420, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return status >= 500 && status <= 599
}

// FromResponse builds the error for a non-2xx response. message is the
// vendor's explanation extracted from the body (see Body for a fallback);
// every secret is replaced by "<redacted>" in it.
func FromResponse(op string, resp *http.Response, message string, secrets ...string) *Error {
	return &Error{
		Op:         op,
		Status:     resp.StatusCode,
		Message:    Redact(message, secrets...),
		retryable:  RetryableStatus(resp.StatusCode),
		retryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
}

// Transport wraps an error from the HTTP client: the request may not have
// reached the vendor or its answer was lost, so it is retryable — except
// when the caller's context was cancelled, which is the caller's decision,
// and when the delivery engine's SSRF guard refused the address, which no
// retry changes. secrets are removed from the error's text (a URL may
// carry one).
func Transport(op string, err error, secrets ...string) *Error {
	var refused interface{ Refused() bool }
	retry := !errors.Is(err, context.Canceled) && !(errors.As(err, &refused) && refused.Refused())
	return &Error{Op: op, Err: redactedError{err: err, text: Redact(err.Error(), secrets...)}, retryable: retry}
}

// Permanent is a non-retryable error that did not come from an HTTP status,
// e.g. an answer the connector cannot understand.
func Permanent(op, message string) *Error { return &Error{Op: op, Message: message} }

// Temporary is a retryable error that did not come from an HTTP status,
// e.g. a 200 answer that is an HTML maintenance page.
func Temporary(op, message string) *Error { return &Error{Op: op, Message: message, retryable: true} }

type redactedError struct {
	err  error
	text string
}

func (r redactedError) Error() string { return r.text }
func (r redactedError) Unwrap() error { return r.err }

// MaxRetryAfter caps every wait a server asks for (Retry-After): a
// longer or overflowing value is read as this. An hour is longer than any
// vendor's documented rate-limit window, and short enough that a wrong or
// hostile answer cannot park a delivery for days (the retry policy's
// max_age still decides when a delivery gives up).
const MaxRetryAfter = time.Hour

// ParseRetryAfter reads a Retry-After header (RFC 9110 §10.2.3):
// delay-seconds or an HTTP date. The result is in [0, MaxRetryAfter]: 0
// when absent, unparseable, negative or in the past; MaxRetryAfter when
// longer, however many digits the server sent. Every connector reads the
// header through it.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if isDigits(v) {
		// delay-seconds = 1*DIGIT. Compare in seconds before converting,
		// so no count of digits can overflow time.Duration.
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n >= uint64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter // ErrRange: more seconds than uint64 holds
		}
		return time.Duration(n) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil || !t.After(now) {
		return 0
	}
	// Compare times, not durations: t.Sub saturates past 292 years.
	if t.After(now.Add(MaxRetryAfter)) {
		return MaxRetryAfter
	}
	return t.Sub(now).Round(time.Second)
}

// CapRetryAfter bounds a wait a library already parsed to
// [0, MaxRetryAfter].
func CapRetryAfter(d time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d > MaxRetryAfter:
		return MaxRetryAfter
	}
	return d
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Body returns a short printable form of a response body for use as the
// message when the vendor sent no structured error.
func Body(b []byte) string {
	s := strings.TrimSpace(string(b))
	const max = 300
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// Redact replaces every secret in s, in each of its encodings, by
// "<redacted>" (package redact).
func Redact(s string, secrets ...string) string { return redact.New(secrets...).String(s) }

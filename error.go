package incidenthub

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in the web package.
const (
	EINVALID       = "invalid"            // 400: the request is malformed
	EUNAUTHORIZED  = "unauthorized"       // 401: missing or bad credentials
	EFORBIDDEN     = "forbidden"          // 403: not allowed (role, IP)
	ENOTFOUND      = "not_found"          // 404
	ENOTALLOWED    = "method_not_allowed" // 405
	ECONFLICT      = "conflict"           // 409
	ETOOLARGE      = "payload_too_large"  // 413
	EUNSUPPORTED   = "unsupported_media"  // 415
	EUNPROCESSABLE = "unprocessable"      // 422: well-formed but semantically wrong
	ERATELIMITED   = "rate_limited"       // 429: over a rate limit; retry after Retry-After
	EHEADERSTOOBIG = "headers_too_large"  // 431: the request's header fields are too large
	EUNAVAILABLE   = "unavailable"        // 503: try again later
	EINTERNAL      = "internal"           // 500
)

// Error is an error a user may see: a stable code and a human message.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, and
// "internal error" for any other non-nil error, so internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	}
	return "internal error"
}

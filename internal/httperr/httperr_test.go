package httperr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetryableStatus(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]bool{
		400: false, 401: false, 403: false, 404: false, 422: false,
		408: true, 420: true, 429: true, 500: true, 502: true, 503: true, 504: true,
		501: false,
	} {
		require.Equal(t, want, RetryableStatus(status), "status %d", status)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	require.Equal(t, 30*time.Second, ParseRetryAfter("30", now))
	require.Equal(t, time.Duration(0), ParseRetryAfter("", now))
	require.Equal(t, time.Duration(0), ParseRetryAfter("soon", now))
	require.Equal(t, time.Duration(0), ParseRetryAfter("-5", now))
	require.Equal(t, 2*time.Minute, ParseRetryAfter(now.Add(2*time.Minute).Format(http.TimeFormat), now))
}

// A server's wait is capped at MaxRetryAfter whatever it sends: values that
// overflowed time.Duration used to come out negative ("9227000000") or
// wrapped to a few hundred milliseconds ("18446744074").
func TestParseRetryAfterCapped(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"3599":                          3599 * time.Second,
		"3600":                          MaxRetryAfter,
		"3601":                          MaxRetryAfter,
		"9227000000":                    MaxRetryAfter,
		"18446744074":                   MaxRetryAfter,
		"99999999999999999999":          MaxRetryAfter, // beyond uint64
		"0":                             0,
		"007":                           7 * time.Second,
		"+5":                            0, // delay-seconds is 1*DIGIT
		"5s":                            0,
		" 12 ":                          12 * time.Second,
		"Fri, 31 Dec 9999 23:59:59 GMT": MaxRetryAfter,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
		now.Add(59 * time.Minute).Format(http.TimeFormat): 59 * time.Minute,
		now.Add(2 * time.Hour).Format(http.TimeFormat):    MaxRetryAfter,
	} {
		require.Equal(t, want, ParseRetryAfter(v, now), "Retry-After: %q", v)
	}
	require.Equal(t, time.Duration(0), CapRetryAfter(-time.Second))
	require.Equal(t, MaxRetryAfter, CapRetryAfter(48*time.Hour))
	require.Equal(t, time.Minute, CapRetryAfter(time.Minute))

	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"9227000000"}}}
	require.Equal(t, MaxRetryAfter, FromResponse("x", resp, "").RetryAfter())
}

func TestFromResponse(t *testing.T) {
	t.Parallel()
	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"7"}}}
	err := FromResponse("x: send", resp, "slow down, key s3cr3tkey", "s3cr3tkey")
	require.True(t, err.Retryable())
	require.Equal(t, 7*time.Second, err.RetryAfter())
	require.Equal(t, "x: send: HTTP 429: slow down, key <redacted>", err.Error())
	require.Equal(t, 429, err.StatusCode())

	resp = &http.Response{StatusCode: 400, Header: http.Header{}}
	require.False(t, FromResponse("x", resp, "bad").Retryable())
}

func TestTransport(t *testing.T) {
	t.Parallel()
	base := fmt.Errorf("Post \"https://h/?k=s3cr3tkey\": %w", context.DeadlineExceeded)
	err := Transport("x: send", base, "s3cr3tkey")
	require.True(t, err.Retryable())
	require.NotContains(t, err.Error(), "s3cr3tkey")
	require.ErrorIs(t, err, context.DeadlineExceeded)

	err = Transport("x: send", fmt.Errorf("wrap: %w", context.Canceled))
	require.False(t, err.Retryable())
	require.True(t, errors.Is(err, context.Canceled))

	// The SSRF guard's refusal is permanent: no retry reaches another address.
	err = Transport("x: send", fmt.Errorf("dial: %w", refusal{}))
	require.False(t, err.Retryable())
	require.Zero(t, err.StatusCode())
}

type refusal struct{}

func (refusal) Error() string { return "ssrf guard: refusing to connect" }
func (refusal) Refused() bool { return true }

// Package webhook delivers incident changes to a generic HTTP endpoint as
// JSON, signed per the Standard Webhooks spec (webhook-id,
// webhook-timestamp, webhook-signature).
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/httperr"
)

// Renderer turns a notification into the request body. DefaultBody is the
// built-in event document; an outbound mapping plugs in here.
type Renderer func(n *incidenthub.Notification) ([]byte, error)

// Event is the default body: one document per change.
type Event struct {
	ID          string                `json:"id"`
	Type        string                `json:"type"`
	Timestamp   time.Time             `json:"timestamp"`
	Target      string                `json:"target"`
	Changes     []string              `json:"changes"`
	Incident    incidenthub.Incident  `json:"incident"`
	Previous    *incidenthub.Incident `json:"previous,omitempty"`
	LatestAlert *incidenthub.Alert    `json:"latest_alert,omitempty"`
}

// DefaultBody renders the default event document.
func DefaultBody(n *incidenthub.Notification) ([]byte, error) {
	ch := n.Changes
	if ch == nil {
		ch = []string{}
	}
	return json.Marshal(Event{ID: n.ID, Type: n.Event, Timestamp: n.Time.UTC(), Target: n.Target, Changes: ch,
		Incident: n.Incident, Previous: n.Previous, LatestAlert: n.LatestAlert})
}

// Client posts notifications to one webhook target.
type Client struct {
	name    string
	url     string
	keys    [][]byte
	headers map[string]string
	http    *http.Client
	// Render builds the body; nil means DefaultBody.
	Render Renderer
	// Now is the clock for webhook-timestamp; nil means time.Now.
	Now func() time.Time
	// Secrets, when set, is asked for the signing secrets before each
	// send: the webhook registry's once it has rotated this target's secret
	// (during a rotation's overlap, old and new, so the receiver can accept
	// either). When it reports rotated false, the config's secrets sign.
	Secrets func(ctx context.Context) (secrets []string, rotated bool, err error)
}

// SetSecretSource implements the delivery engine's optional secret-source
// interface.
func (c *Client) SetSecretSource(f func(ctx context.Context) ([]string, bool, error)) { c.Secrets = f }

// signingKeys returns the keys to sign with now.
func (c *Client) signingKeys(ctx context.Context) ([][]byte, error) {
	if c.Secrets == nil {
		return c.keys, nil
	}
	secrets, rotated, err := c.Secrets(ctx)
	if err != nil {
		return nil, fmt.Errorf("signing secrets: %w", err)
	}
	if !rotated {
		return c.keys, nil
	}
	keys := make([][]byte, 0, len(secrets))
	for i, sec := range secrets {
		k, err := decodeSecret(sec)
		if err != nil {
			return nil, fmt.Errorf("signing secret %d from the registry: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// New returns a client for cfg that sends with hc (which carries the
// timeout and the SSRF guard). cfg must be valid.
func New(cfg Config, hc *http.Client) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{name: cfg.Name, url: cfg.URL, headers: cfg.Headers, http: hc}
	for _, s := range cfg.Secrets {
		k, _ := decodeSecret(s)
		c.keys = append(c.keys, k)
	}
	return c, nil
}

// Error is a failed delivery: whether retrying may help, and how long the
// receiver asked us to wait (Retry-After).
type Error struct {
	Status int
	Retry  bool
	After  time.Duration
	Err    error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// RetryAfter is the wait the receiver asked for; 0 if none.
func (e *Error) RetryAfter() time.Duration { return e.After }

// StatusCode is the HTTP status the receiver answered; 0 if none.
func (e *Error) StatusCode() int { return e.Status }

// Sign returns the webhook-signature header value for one message: one
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>" per key, space-separated.
func Sign(keys [][]byte, id string, ts int64, body []byte) string {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		m := hmac.New(sha256.New, k)
		fmt.Fprintf(m, "%s.%d.", id, ts)
		m.Write(body)
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	return strings.Join(sigs, " ")
}

// Notify posts n. It reports whether a failure is worth retrying: 5xx,
// 408, 429, timeouts and connection errors are; other 4xx are not.
func (c *Client) Notify(ctx context.Context, n *incidenthub.Notification) (bool, error) {
	render := c.Render
	if render == nil {
		render = DefaultBody
	}
	body, err := render(n)
	if err != nil {
		return false, fmt.Errorf("render body: %w", err)
	}
	return c.post(ctx, n.ID, body)
}

// SendEvent posts an operational event, signed like a delivery: the body
// is ev.Data's fields plus id, type, timestamp and target. Any answer but
// 2xx is an error.
func (c *Client) SendEvent(ctx context.Context, ev *incidenthub.Event) error {
	doc := make(map[string]any, len(ev.Data)+4)
	for k, v := range ev.Data {
		doc[k] = v
	}
	doc["id"], doc["type"], doc["timestamp"], doc["target"] = ev.ID, ev.Type, ev.Time.UTC(), ev.Target
	body, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("render %s event: %w", ev.Type, err)
	}
	if _, err := c.post(ctx, ev.ID, body); err != nil {
		return fmt.Errorf("%s event: %w", ev.Type, err)
	}
	return nil
}

// EventVerify is the event Verify sends; receivers answer it 2xx and
// otherwise ignore it.
const EventVerify = "registry.verify"

// Verify sends a signed registry.verify event, signed with the current
// secrets (both during a rotation's overlap); a 2xx answer means the
// receiver is reachable and accepted it.
func (c *Client) Verify(ctx context.Context) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	return c.SendEvent(ctx, &incidenthub.Event{ID: "msg_" + id.String(), Type: EventVerify, Time: c.now(), Target: c.name})
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// post sends one signed message and classifies the outcome.
func (c *Client) post(ctx context.Context, id string, body []byte) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("build request: %w", err)
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	now := c.now()
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "incidenthub")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	keys, err := c.signingKeys(ctx)
	if err != nil {
		return true, &Error{Retry: true, Err: err} // the registry's store may be back soon
	}
	if len(keys) > 0 {
		req.Header.Set("webhook-signature", Sign(keys, id, ts, body))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// Timeouts, refused connections, resets: the target may recover.
		// The SSRF guard's refusal is the one error retrying cannot fix.
		retry := !IsRefused(err)
		return retry, &Error{Retry: retry, Err: err}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	retry := Retryable(resp.StatusCode)
	return retry, &Error{Status: resp.StatusCode, Retry: retry, After: httperr.ParseRetryAfter(resp.Header.Get("Retry-After"), now),
		Err: fmt.Errorf("%s answered %s", c.url, resp.Status)}
}

// Retryable reports whether an HTTP status is worth retrying.
func Retryable(status int) bool {
	return status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests
}

// refuser is implemented by errors that mean "this address is not allowed"
// (the delivery engine's SSRF guard).
type refuser interface{ Refused() bool }

// IsRefused reports whether err is, or wraps, a refusal by the SSRF guard.
func IsRefused(err error) bool {
	for err != nil {
		if r, ok := err.(refuser); ok && r.Refused() {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			return false
		}
	}
	return false
}

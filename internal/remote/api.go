package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/incidenthub/incidenthub/internal/httperr"
)

// maxAnswer caps how much of an answer is read.
const maxAnswer = 4 << 20

// API calls one vendor's JSON API and classifies failures with httperr.
type API struct {
	HTTP    *http.Client
	BaseURL string
	// Auth sets the request's credentials.
	Auth func(*http.Request)
	// Secrets are removed from every error text.
	Secrets []string
	// Message extracts the vendor's explanation from an error answer;
	// nil uses the body's start.
	Message func(resp *http.Response, body []byte) string
	// Wait, when set, runs before each request (client-side rate limit).
	Wait func(ctx context.Context) error
	// NotJSON explains a 2xx answer that is not JSON (appended to the
	// error, e.g. a hint that the instance is asleep).
	NotJSON string
}

// Do sends one request with a JSON body (when body is non-nil) and decodes
// the JSON answer into out (when out is non-nil). op names the call in
// errors, e.g. "jira: create issue".
func (a *API) Do(ctx context.Context, op, method, path string, body, out any) error {
	if a.Wait != nil {
		if err := a.Wait(ctx); err != nil {
			return httperr.Temporary(op, "rate limiter: "+err.Error())
		}
	}
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return httperr.Permanent(op, "encode: "+err.Error())
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.BaseURL+path, rd)
	if err != nil {
		return httperr.Permanent(op, httperr.Redact(err.Error(), a.Secrets...))
	}
	if a.Auth != nil {
		a.Auth(req)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "incidenthub")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return httperr.Transport(op, err, a.Secrets...)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := ""
		if a.Message != nil {
			msg = a.Message(resp, b)
		} else {
			msg = httperr.Body(b)
		}
		return httperr.FromResponse(op, resp, msg, a.Secrets...)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if !IsJSON(resp.Header.Get("Content-Type")) {
		msg := fmt.Sprintf("unexpected %q answer to HTTP %d", resp.Header.Get("Content-Type"), resp.StatusCode)
		if a.NotJSON != "" {
			msg += " (" + a.NotJSON + ")"
		}
		return httperr.Temporary(op, msg)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return httperr.Permanent(op, "decode answer: "+err.Error())
	}
	return nil
}

// IsJSON reports whether a Content-Type is JSON.
func IsJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

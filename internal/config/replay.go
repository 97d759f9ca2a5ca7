package config

import (
	"net/http"
	"time"

	"github.com/incidenthub/incidenthub/internal/verify"
)

// DefaultDuplicateWindow is auth.duplicate_window when unset: twice the
// default tolerance, so a replay of a timestamped request that the
// timestamp check still lets through is caught.
const DefaultDuplicateWindow = 2 * DefaultTolerance

// SignedAuth holds the auth keys against replayed requests of the types
// that sign the body (hmac, sentry, pagerduty); SourceAuth inlines it.
type SignedAuth struct {
	// TimestampHeader (hmac): the header with the send time (Unix seconds)
	// that the sender signs along with the body; checked against
	// tolerance. Empty: the signature covers the body only.
	TimestampHeader string `yaml:"timestamp_header"`
	// SignedContent (hmac with timestamp_header): what is signed, with
	// {timestamp} and {body}; default verify.DefaultSignedContent
	// ("{timestamp}.{body}"; Slack: "v0:{timestamp}:{body}").
	SignedContent string `yaml:"signed_content"`
	// DuplicateWindow: a request whose signed content (body, and timestamp
	// when signed) equals one stored less than this ago, and that has no
	// other dedup key, is a duplicate of it (202, "duplicate": true).
	// Unset: the larger of DefaultDuplicateWindow and twice the
	// tolerance; 0s turns it off.
	DuplicateWindow *Duration `yaml:"duplicate_window"`
}

// Content is SignedContent parsed (the zero value, the default, when
// unset or invalid: validation refuses an invalid one).
func (a SignedAuth) Content() verify.SignedContent {
	c, _ := verify.ParseSignedContent(a.SignedContent)
	return c
}

// signsTime reports whether the sender's timestamp is checked.
func (a SourceAuth) signsTime() bool {
	return a.Type == AuthSentry || (a.Type == AuthHMAC && a.TimestampHeader != "")
}

// Duplicates is the effective duplicate window of the auth type (0: none).
func (a SourceAuth) Duplicates() time.Duration {
	switch a.Type {
	case AuthHMAC, AuthSentry, AuthPagerDuty:
	default:
		return 0
	}
	if a.DuplicateWindow != nil {
		return a.DuplicateWindow.Std()
	}
	w := DefaultDuplicateWindow
	if a.signsTime() {
		w = max(w, 2*a.ReplayWindow())
	}
	return w
}

// validateSigned checks the SignedAuth keys of the auth block at ap.
func (a SourceAuth) validateSigned(d *document, ap string) {
	_, hasTolerance := d.pos[ap+".tolerance"]
	if a.Type == AuthHMAC {
		switch {
		case a.TimestampHeader == "":
			if a.SignedContent != "" {
				d.at(ap+".signed_content", "needs timestamp_header: without a signed timestamp the hmac covers the body alone")
			}
			if hasTolerance {
				d.at(ap+".tolerance", "needs timestamp_header: a plain hmac carries no time to check (duplicate_window catches replays)")
			}
		case http.CanonicalHeaderKey(a.TimestampHeader) == http.CanonicalHeaderKey(a.Header):
			d.at(ap+".timestamp_header", "must differ from header (%s carries the signature)", a.Header)
		}
		if a.SignedContent != "" && a.TimestampHeader != "" {
			if _, err := verify.ParseSignedContent(a.SignedContent); err != nil {
				d.at(ap+".signed_content", "%v", err)
			}
		}
	}
	if w := a.DuplicateWindow; w != nil {
		switch {
		case *w < 0:
			d.at(ap+".duplicate_window", "must not be negative (0s turns it off)")
		case *w > 0 && a.signsTime() && a.ReplayWindow() > 0 && w.Std() < 2*a.ReplayWindow():
			d.at(ap+".duplicate_window", "must be at least twice the tolerance (%s), or a replay the timestamp check lets through is stored as new; 0s turns it off", 2*a.ReplayWindow())
		}
	}
}

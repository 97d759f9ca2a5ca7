package sns

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SignatureVersion 1 is SHA1withRSA; SNS still defaults to it
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/verify"
)

// DefaultMaxAge is how old a message's Timestamp may be when it arrives:
// SNS retries an HTTP(S) delivery for at most an hour (a hard limit of its
// delivery policies) and keeps the original Timestamp, plus five minutes
// for clocks that disagree.
const DefaultMaxAge = time.Hour + clockSkew

// clockSkew is how far in the future a Timestamp may be.
const clockSkew = 5 * time.Minute

// Options configure a Verifier. The zero value is the production setup.
type Options struct {
	// Client fetches signing certificates; nil is a client with
	// FetchTimeout. Tests point it at a local TLS server (the URL checks
	// stay the production ones).
	Client *http.Client
	// FetchTimeout bounds one certificate fetch; 0 is DefaultFetchTimeout.
	FetchTimeout time.Duration
	// CertTTL is how long a certificate is reused; 0 is DefaultCertTTL.
	CertTTL time.Duration
	// MaxAge is how old a message may be; 0 is DefaultMaxAge.
	MaxAge time.Duration
}

// Verifier checks Amazon SNS message signatures (auth type sns). It is
// safe for concurrent use; keep one per process so its certificate cache
// is shared.
type Verifier struct {
	certs  *certCache
	maxAge time.Duration
}

var _ verify.Verifier = (*Verifier)(nil)

// NewVerifier returns a Verifier with o's settings.
func NewVerifier(o Options) *Verifier {
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = DefaultFetchTimeout
	}
	if o.CertTTL <= 0 {
		o.CertTTL = DefaultCertTTL
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.FetchTimeout}
	}
	// A redirect could leave the checked host.
	c := *o.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Verifier{
		certs:  &certCache{client: &c, timeout: o.FetchTimeout, ttl: o.CertTTL, entries: map[string]cachedCert{}},
		maxAge: o.MaxAge,
	}
}

// Verify implements verify.Verifier: the body must be an SNS message of a
// known type whose signature, made with the certificate at its
// SigningCertURL (https://sns.<region>.amazonaws.com/….pem only), matches,
// sent no longer than MaxAge ago. secrets are not used: SNS signs with
// Amazon's key. The dedup key is the MessageId, which SNS keeps across
// retries of a delivery.
//
// Failures are EUNAUTHORIZED, except a certificate that cannot be fetched
// right now (network, timeout, SNS answering 5xx): that is EUNAVAILABLE,
// a 503, so SNS retries the delivery.
func (v *Verifier) Verify(ctx context.Context, r verify.Request, _ []string) (verify.Result, error) {
	now := r.Now
	if now.IsZero() {
		now = time.Now()
	}
	m, err := Parse(r.Body)
	if err != nil {
		return verify.Result{}, unauthorized("body is not an Amazon SNS message: %v", err)
	}
	if _, err := m.StringToSign(); err != nil {
		return verify.Result{}, unauthorized("%v", err)
	}
	if h := r.Header.Get("x-amz-sns-message-type"); h != "" && h != m.Type {
		return verify.Result{}, unauthorized("header x-amz-sns-message-type %q does not match the message Type %q", h, m.Type)
	}
	if miss := m.missing(); len(miss) > 0 {
		return verify.Result{}, unauthorized("SNS %s lacks %s", m.Type, strings.Join(miss, ", "))
	}
	if err := v.checkTime(m.Timestamp, now); err != nil {
		return verify.Result{}, err
	}
	if err := v.checkSignature(ctx, m, now); err != nil {
		return verify.Result{}, err
	}
	return verify.Result{DedupKey: m.MessageID}, nil
}

func (v *Verifier) checkTime(ts string, now time.Time) error {
	sent, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return unauthorized("SNS Timestamp %q is not an RFC 3339 time", ts)
	}
	switch {
	case sent.After(now.Add(clockSkew)):
		return unauthorized("SNS Timestamp %s is in the future (the hub's time is %s)", ts, now.UTC().Format(time.RFC3339))
	case now.Sub(sent) > v.maxAge:
		return unauthorized("SNS message is too old: sent at %s, more than %s before it arrived (a replay?)", ts, v.maxAge)
	}
	return nil
}

// checkSignature verifies m's signature with the certificate at its
// SigningCertURL.
func (v *Verifier) checkSignature(ctx context.Context, m *Message, now time.Time) error {
	var hash crypto.Hash
	switch m.SignatureVersion {
	case "1":
		hash = crypto.SHA1
	case "2":
		hash = crypto.SHA256
	default:
		return unauthorized("unsupported SNS SignatureVersion %q (want 1 or 2)", m.SignatureVersion)
	}
	u, err := CheckCertURL(m.SigningCertURL)
	if err != nil {
		return unauthorized("%v", err)
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return unauthorized("SNS Signature is not base64")
	}
	cert, err := v.certs.get(ctx, u.String(), now)
	if err != nil {
		if retryable(err) {
			return incidenthub.Errorf(incidenthub.EUNAVAILABLE, "cannot check the SNS signature right now: %v; retry later", err)
		}
		return unauthorized("%v", err)
	}
	if now.Before(cert.NotBefore) {
		return unauthorized("SNS signing certificate %s is not valid before %s", u, cert.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.After(cert.NotAfter) {
		return unauthorized("SNS signing certificate %s expired at %s", u, cert.NotAfter.UTC().Format(time.RFC3339))
	}
	text, _ := m.StringToSign() // the type was checked
	var digest []byte
	if hash == crypto.SHA1 {
		d := sha1.Sum([]byte(text)) //nolint:gosec // SignatureVersion 1
		digest = d[:]
	} else {
		d := sha256.Sum256([]byte(text))
		digest = d[:]
	}
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), hash, digest, sig); err != nil {
		return unauthorized("SNS signature mismatch: the message was not signed by the key of %s, or a signed member was changed", u)
	}
	return nil
}

func unauthorized(format string, args ...any) error {
	return incidenthub.Errorf(incidenthub.EUNAUTHORIZED, format, args...)
}

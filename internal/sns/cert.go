package sns

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Limits of a certificate fetch.
const (
	// MaxCertBytes bounds a SigningCertURL response; SNS's certificates
	// are about 2 KB.
	MaxCertBytes = 64 << 10
	// DefaultFetchTimeout bounds one fetch of a certificate or of a
	// SubscribeURL.
	DefaultFetchTimeout = 10 * time.Second
	// DefaultCertTTL is how long a fetched certificate is reused (never
	// past its NotAfter).
	DefaultCertTTL = 24 * time.Hour
	// maxCachedCerts bounds the cache; SNS signs with one certificate per
	// region at a time, so a handful is plenty.
	maxCachedCerts = 64
)

// certCache fetches signing certificates by URL and keeps them until
// their expiry. Concurrent requests for the same URL share one fetch
// (singleflight), so a burst of notifications signed with a new
// certificate costs one request to SNS. A failed fetch is not cached.
type certCache struct {
	client  *http.Client
	timeout time.Duration
	ttl     time.Duration

	mu      sync.Mutex
	entries map[string]cachedCert
	group   singleflight.Group
}

type cachedCert struct {
	cert    *x509.Certificate
	expires time.Time
}

// get returns the certificate at url (already checked by CheckCertURL),
// from the cache when it holds one that has not expired at now.
func (c *certCache) get(ctx context.Context, url string, now time.Time) (*x509.Certificate, error) {
	c.mu.Lock()
	e, ok := c.entries[url]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.cert, nil
	}
	// The fetch outlives a caller that gives up, so the others waiting
	// on it still get its result.
	ch := c.group.DoChan(url, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		cert, err := c.fetch(fctx, url)
		if err != nil {
			return nil, err
		}
		expires := now.Add(c.ttl)
		if cert.NotAfter.Before(expires) {
			expires = cert.NotAfter
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.entries) >= maxCachedCerts {
			c.evictOldest()
		}
		c.entries[url] = cachedCert{cert: cert, expires: expires}
		return cert, nil
	})
	select {
	case <-ctx.Done():
		return nil, &temporaryError{fmt.Errorf("fetch signing certificate: %w", ctx.Err())}
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*x509.Certificate), nil
	}
}

// evictOldest drops the entry that expires first; c.mu is held.
func (c *certCache) evictOldest() {
	var oldest string
	var at time.Time
	for k, e := range c.entries {
		if oldest == "" || e.expires.Before(at) {
			oldest, at = k, e.expires
		}
	}
	delete(c.entries, oldest)
}

// fetch downloads and parses one PEM certificate with an RSA key.
func (c *certCache) fetch(ctx context.Context, url string) (*x509.Certificate, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch signing certificate: %v", err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, &temporaryError{fmt.Errorf("fetch signing certificate: %v", transportError(err))}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("fetch signing certificate: SNS answered %s", resp.Status)
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return nil, &temporaryError{err}
		}
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxCertBytes+1))
	if err != nil {
		return nil, &temporaryError{fmt.Errorf("fetch signing certificate: %v", err)}
	}
	if len(data) > MaxCertBytes {
		return nil, fmt.Errorf("signing certificate is larger than %d bytes", MaxCertBytes)
	}
	return parseCert(data)
}

// temporaryError is a failure worth retrying later: the network, a
// timeout, the server overloaded.
type temporaryError struct{ err error }

func (e *temporaryError) Error() string { return e.err.Error() }
func (e *temporaryError) Unwrap() error { return e.err }

// retryable reports whether err is a temporaryError.
func retryable(err error) bool {
	var t *temporaryError
	return errors.As(err, &t)
}

// transportError is the cause of a failed request without the request's
// URL (a SubscribeURL carries a token).
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseCert reads the first CERTIFICATE block of a PEM file; its key must
// be RSA (SNS signs with SHA1withRSA or SHA256withRSA).
func parseCert(data []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("signing certificate is not a PEM certificate")
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("signing certificate: %v", err)
		}
		if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
			return nil, errors.New("signing certificate has no RSA key")
		}
		return cert, nil
	}
}

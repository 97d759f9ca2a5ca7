package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/registry"
	"github.com/incidenthub/incidenthub/internal/sns"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/verify"
	"github.com/incidenthub/incidenthub/mappings"
)

type ingestResponse struct {
	EventID   string `json:"event_id"`
	Duplicate bool   `json:"duplicate"`
}

// ingest accepts one webhook: find the source, check the caller, read and
// parse the body within limits, and store it durably before answering 202.
// Everything else happens asynchronously.
func (s *server) ingest(c *gin.Context) {
	name := c.Param("source")
	err := s.accept(c, name)
	if err != nil {
		if incidenthub.ErrorCode(err) == incidenthub.EUNAUTHORIZED && s.Webhooks != nil {
			s.Webhooks.AuthFailed(c.Request.Context(), name, c.ClientIP())
		}
		s.fail(c, err)
	}
	s.inbound.WithLabelValues(metricSource(s.Config(), name), strconv.Itoa(c.Writer.Status())).Inc()
}

// metricSource bounds the label's cardinality: unknown names share one label.
func metricSource(cfg *config.Config, name string) string {
	if _, ok := cfg.Source(name); ok {
		return name
	}
	return "_unknown"
}

func (s *server) accept(c *gin.Context, name string) error {
	src, ok := s.Config().Source(name)
	if !ok {
		return incidenthub.Errorf(incidenthub.ENOTFOUND, "unknown source %q: declare it under sources in the config", name)
	}
	if err := checkIP(src, c.ClientIP()); err != nil {
		return err
	}
	secrets, err := s.sourceSecrets(c.Request.Context(), src)
	if err != nil {
		return err
	}
	if src.Auth.Type == config.AuthToken {
		if err := checkToken(c.Request, src.Auth, secrets); err != nil {
			return err
		}
	}
	// Media types are case-insensitive (RFC 9110 §8.3.1).
	ct := strings.ToLower(c.ContentType())
	if !acceptedContentType(ct) {
		return incidenthub.Errorf(incidenthub.EUNSUPPORTED, "content type %q is not supported: send application/json", c.GetHeader("Content-Type"))
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, src.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return incidenthub.Errorf(incidenthub.ETOOLARGE, "body exceeds the %d-byte limit of source %q", src.MaxBodyBytes, name)
		}
		return incidenthub.Errorf(incidenthub.EINVALID, "read body: %v", err)
	}
	if src.Auth.Type == config.AuthHMAC {
		if err := checkHMAC(c.Request, body, src.Auth, secrets); err != nil {
			return err
		}
	}
	if err := checkJSON(body); err != nil {
		return err
	}
	received := time.Now().UTC()
	var verified verify.Result
	if src.Auth.Type == config.AuthSNS {
		// Amazon's signature on the message (internal/sns).
		if verified, err = s.SNS.Verify(c.Request.Context(), verify.Request{Header: c.Request.Header,
			Query: c.Request.URL.Query(), Body: body, Now: received}, secrets); err != nil {
			return err
		}
	}
	if src.SNS != nil {
		if err := sns.CheckTopic(body, src.SNS.TopicARNs); err != nil {
			return err
		}
	}
	ev := &store.Event{
		Source:      src.Name,
		Kind:        src.Kind,
		ReceivedAt:  received,
		RemoteAddr:  c.ClientIP(),
		ContentType: c.GetHeader("Content-Type"),
		Headers:     store.JSON[map[string]string]{V: keptHeaders(c.Request.Header, src.Auth)},
		Body:        body,
	}
	if key := dedupKey(c.Request, src, s.Config().Mappings, body, verified.DedupKey); key != "" {
		ev.DedupKey = &key
	}
	id, dup, err := s.Store.InsertEvent(c.Request.Context(), ev)
	if err != nil {
		s.Log.Error("store inbound event", "source", name, "err", err)
		return incidenthub.Errorf(incidenthub.EUNAVAILABLE, "the event store is unavailable; retry later")
	}
	if !dup {
		s.Accepted()
	}
	c.JSON(http.StatusAccepted, ingestResponse{EventID: id, Duplicate: dup})
	return nil
}

func checkIP(src *config.Source, clientIP string) error {
	if len(src.AllowedPrefixes) == 0 {
		return nil
	}
	addr, err := netip.ParseAddr(clientIP)
	if err == nil {
		addr = addr.Unmap()
		for _, p := range src.AllowedPrefixes {
			if p.Contains(addr) {
				return nil
			}
		}
	}
	return incidenthub.Errorf(incidenthub.EFORBIDDEN, "client address %s is not in the allow_ips of source %q", clientIP, src.Name)
}

func acceptedContentType(ct string) bool {
	switch {
	case ct == "", ct == "application/json", ct == "text/plain":
		// text/plain: Amazon SNS posts JSON with this type.
		return true
	case strings.HasPrefix(ct, "application/") && strings.HasSuffix(ct, "+json"):
		return true
	}
	return false
}

// equalSecret compares in constant time, also for different lengths.
func equalSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1 && want != ""
}

// sourceSecrets returns the secrets that authenticate src now: once the
// registry has rotated it, the registry's (the current one, plus the
// previous one during the rotation's overlap); before that, the config's.
func (s *server) sourceSecrets(ctx context.Context, src *config.Source) ([]string, error) {
	initial := src.Auth.Token.Value()
	if src.Auth.Type == config.AuthHMAC {
		initial = src.Auth.Secret.Value()
	}
	if s.Webhooks == nil || config.Secretless(src.Auth.Type) {
		return []string{initial}, nil
	}
	secrets, rotated, err := s.Webhooks.Secrets(ctx, registry.Inbound, src.Name)
	if err != nil {
		s.Log.Error("look up source secrets", "source", src.Name, "err", err)
		return nil, incidenthub.Errorf(incidenthub.EUNAVAILABLE, "cannot check credentials of source %q right now; retry later", src.Name)
	}
	if !rotated {
		return []string{initial}, nil
	}
	return secrets, nil
}

// anyEqualSecret compares got with every secret in constant time each.
func anyEqualSecret(got string, secrets []string) bool {
	ok := false
	for _, want := range secrets {
		if equalSecret(got, want) {
			ok = true
		}
	}
	return ok
}

func checkToken(r *http.Request, a config.SourceAuth, secrets []string) error {
	var got string
	if a.QueryParam != "" {
		got = r.URL.Query().Get(a.QueryParam)
	}
	if got == "" {
		h := r.Header.Get("Authorization")
		if t, ok := bearer(h); ok {
			got = strings.TrimSpace(t)
		}
	}
	if got == "" {
		where := `an "Authorization: Bearer <token>" header`
		if a.QueryParam != "" {
			where += " or the " + strconv.Quote(a.QueryParam) + " query parameter"
		}
		return incidenthub.Errorf(incidenthub.EUNAUTHORIZED, "missing token: send %s", where)
	}
	if !anyEqualSecret(got, secrets) {
		return incidenthub.Errorf(incidenthub.EUNAUTHORIZED, "invalid token")
	}
	return nil
}

// bearer returns the credentials of an "Authorization: Bearer <token>"
// header value; the scheme is case-insensitive (RFC 9110 §11.1).
func bearer(h string) (string, bool) {
	const scheme = "bearer "
	if len(h) < len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	return h[len(scheme):], true
}

func checkHMAC(r *http.Request, body []byte, a config.SourceAuth, secrets []string) error {
	sig := r.Header.Get(a.Header)
	if sig == "" {
		return incidenthub.Errorf(incidenthub.EUNAUTHORIZED, "missing signature header %s", a.Header)
	}
	sig = strings.TrimPrefix(strings.TrimSpace(sig), a.Prefix)
	var got []byte
	var err error
	if a.Encoding == "base64" {
		got, err = base64.StdEncoding.DecodeString(sig)
	} else {
		got, err = hex.DecodeString(sig)
	}
	if err != nil {
		return incidenthub.Errorf(incidenthub.EUNAUTHORIZED, "signature in %s is not %s", a.Header, a.Encoding)
	}
	ok := false
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		if hmac.Equal(got, mac.Sum(nil)) && secret != "" {
			ok = true
		}
	}
	if !ok {
		return incidenthub.Errorf(incidenthub.EUNAUTHORIZED, "signature mismatch")
	}
	return nil
}

func checkJSON(body []byte) error {
	if len(body) == 0 {
		return incidenthub.Errorf(incidenthub.EINVALID, "empty body: send a JSON document")
	}
	// json.Valid scans without building a value; only a bad body pays for
	// Unmarshal, to say where it breaks.
	if json.Valid(body) {
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return incidenthub.Errorf(incidenthub.EINVALID, "body is not valid JSON at byte %d: %v", syn.Offset, err)
		}
		return incidenthub.Errorf(incidenthub.EINVALID, "body is not valid JSON: %v", err)
	}
	return incidenthub.Errorf(incidenthub.EINVALID, "body is not valid JSON")
}

// dedupKey is the event's dedup key: the source's idempotency header, else
// the one its verifier learned (SNS's MessageId), else the mapping's.
func dedupKey(r *http.Request, src *config.Source, set *mappings.Set, body []byte, verified string) string {
	if src.IdempotencyHeader != "" {
		if v := r.Header.Get(src.IdempotencyHeader); v != "" {
			return "header:" + v
		}
	}
	if verified != "" {
		return verified
	}
	return set.DedupKey(src.Kind, body) // a nil set is the built-in one
}

// keptHeaders returns the request headers to store with the event, with
// every credential-bearing header redacted.
func keptHeaders(h http.Header, a config.SourceAuth) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		val := strings.Join(v, ", ")
		if sensitiveHeader(k) || (a.Header != "" && http.CanonicalHeaderKey(a.Header) == k) {
			val = "<redacted>"
		}
		out[k] = val
	}
	return out
}

func sensitiveHeader(k string) bool {
	k = strings.ToLower(k)
	switch k {
	case "authorization", "proxy-authorization", "cookie", "x-api-key":
		return true
	}
	for _, w := range []string{"token", "secret", "signature", "password", "auth"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

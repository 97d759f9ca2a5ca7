package web

import (
	"context"
	"crypto/sha256"
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
	"github.com/incidenthub/incidenthub/internal/redact"
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
			s.Webhooks.AuthFailed(c.Request.Context(), name, s.clientIP(c))
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

// storeWait bounds how long ingest waits for the database to store an
// event before answering 503.
const storeWait = 5 * time.Second

func (s *server) accept(c *gin.Context, name string) error {
	cfg := s.Config()
	src, ok := cfg.Source(name)
	if !ok {
		return incidenthub.Errorf(incidenthub.ENOTFOUND, "unknown source %q: declare it under sources in the config", name)
	}
	receivedAt := time.Now().UTC()
	if err := checkIP(src, s.clientIP(c)); err != nil {
		return err
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
	// Before anything parses the body: a verifier may (SNS's does).
	if err := checkDepth(body, maxDepth(cfg)); err != nil {
		return err
	}
	secrets, err := s.sourceSecrets(c.Request.Context(), src)
	if err != nil {
		return err
	}
	res, err := s.verifierFor(src.Auth).Verify(c.Request.Context(), verify.Request{
		Header: c.Request.Header, Query: c.Request.URL.Query(), Body: body, Now: receivedAt,
	}, secrets)
	if err != nil {
		if challenge := challenges[src.Auth.Type]; challenge != "" {
			c.Header("WWW-Authenticate", challenge)
		}
		return err
	}
	// After auth: only the source's own requests spend its budget.
	if err := s.rateLimit(c, cfg, src, time.Now()); err != nil {
		return err
	}
	if err := checkJSON(body); err != nil {
		return err
	}
	if src.SNS != nil {
		if err := sns.CheckTopic(body, src.SNS.TopicARNs); err != nil {
			return err
		}
	}
	ev := &store.Event{
		Source:      src.Name,
		Kind:        src.Kind,
		ReceivedAt:  receivedAt,
		RemoteAddr:  s.clientIP(c),
		ContentType: c.GetHeader("Content-Type"),
		Headers:     store.JSON[map[string]string]{V: keptHeaders(c.Request.Header, src.Auth, secrets...)},
		Body:        body,
	}
	key := dedupKey(c.Request, src, cfg.Mappings, body, res.DedupKey)
	if key == "" && res.Signed != "" {
		// A body-signed request with no id of its own: the same signed
		// content within the source's duplicate_window is a replay (or the
		// sender's retry), answered as a duplicate of the first.
		if window := src.Auth.Duplicates(); window > 0 {
			key = "signed:" + res.Signed
			sctx, cancel := context.WithTimeout(c.Request.Context(), storeWait)
			err := s.Store.ReleaseDedupKey(sctx, src.Name, key, receivedAt.Add(-window))
			cancel()
			if err != nil {
				s.Log.ErrorContext(c.Request.Context(), "release dedup key", "source", name, "err", err)
				return incidenthub.Errorf(incidenthub.EUNAVAILABLE, "the event store is unavailable; retry later")
			}
		}
	}
	if key != "" {
		ev.DedupKey = &key
	}
	// A database that does not answer (down, or a network partition that
	// drops packets) gets a 503 with Retry-After within storeWait, not a
	// request hanging until the sender's own timeout.
	sctx, cancel := context.WithTimeout(c.Request.Context(), storeWait)
	id, dup, err := s.Store.InsertEvent(sctx, ev)
	cancel()
	if err != nil {
		s.Log.ErrorContext(c.Request.Context(), "store inbound event", "source", name, "err", err)
		return incidenthub.Errorf(incidenthub.EUNAVAILABLE, "the event store is unavailable; retry later")
	}
	if !dup {
		s.received.WithLabelValues(src.Name).Inc()
		s.Accepted()
	}
	c.JSON(http.StatusAccepted, ingestResponse{EventID: id, Duplicate: dup})
	return nil
}

// challenges are the WWW-Authenticate values a 401 carries (RFC 9110
// §11.6.1) for the auth types that have a standard scheme.
var challenges = map[string]string{
	config.AuthToken: `Bearer realm="incidenthub"`,
	config.AuthBasic: `Basic realm="incidenthub", charset="UTF-8"`,
}

func maxDepth(cfg *config.Config) int {
	if cfg.Ingest.MaxDepth > 0 {
		return cfg.Ingest.MaxDepth
	}
	return config.DefaultMaxDepth
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

// sourceSecrets returns the secrets that authenticate src now: once the
// registry has rotated it, the registry's (the current one, plus the
// previous one during the rotation's overlap); before that, the config's.
func (s *server) sourceSecrets(ctx context.Context, src *config.Source) ([]string, error) {
	initial := src.Auth.SecretValue()
	if s.Webhooks == nil || config.Secretless(src.Auth.Type) {
		return []string{initial}, nil
	}
	secrets, rotated, err := s.Webhooks.Secrets(ctx, registry.Inbound, src.Name)
	if errors.Is(err, registry.ErrUndecryptable) {
		// The registry flagged the entry and logged that once; /readyz names it.
		return nil, incidenthub.Errorf(incidenthub.EUNAVAILABLE, "cannot check credentials of source %q: its stored secret cannot be decrypted with this hub's keys (see /readyz); retry later", src.Name)
	}
	if err != nil {
		s.Log.ErrorContext(ctx, "look up source secrets", "source", src.Name, "err", err)
		return nil, incidenthub.Errorf(incidenthub.EUNAVAILABLE, "cannot check credentials of source %q right now; retry later", src.Name)
	}
	if !rotated {
		return []string{initial}, nil
	}
	return secrets, nil
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

// dedupKey is the event's dedup key: the source's idempotency_header when
// the request carries it (the operator's explicit choice), else the
// delivery id the verifier authenticated (Standard Webhooks' webhook-id),
// else the kind's own key from the body. Long keys are hashed to fit the
// unique index. (When all are absent, accept falls back to the signed
// content of a body-signed request, within its duplicate_window.)
func dedupKey(r *http.Request, src *config.Source, set *mappings.Set, body []byte, delivery string) string {
	if src.IdempotencyHeader != "" {
		if v := r.Header.Get(src.IdempotencyHeader); v != "" {
			return boundKey("header:", v)
		}
	}
	if delivery != "" {
		return boundKey("delivery:", delivery)
	}
	return set.DedupKey(src.Kind, body) // a nil set is the built-in one
}

// maxKeyLen bounds a stored dedup key (PostgreSQL's B-tree index holds a
// few KB per entry; senders' ids are short).
const maxKeyLen = 200

func boundKey(prefix, v string) string {
	if len(prefix)+len(v) <= maxKeyLen {
		return prefix + v
	}
	sum := sha256.Sum256([]byte(v))
	return prefix + "sha256:" + hex.EncodeToString(sum[:])
}

// keptHeaders returns the request headers to store with the event:
// credential headers (by name, and the ones a's credential is read from)
// hidden, and the source's secrets hidden by value in the others (package
// redact).
func keptHeaders(h http.Header, a config.SourceAuth, secrets ...string) map[string]string {
	return redact.Cached(secrets...).HeaderMap(h, a.CredentialHeaders()...)
}

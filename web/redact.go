package web

import (
	"context"

	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/redact"
	"github.com/incidenthub/incidenthub/internal/registry"
	"github.com/incidenthub/incidenthub/internal/store"
)

// shownHeaders is what the API and the UI show of an event's stored
// request headers: redacted again on the way out (package redact), with
// the source's credential headers and secrets as configured now, so an
// event stored before a rule existed, or under an older config, shows no
// more than a new one.
func (s *server) shownHeaders(ctx context.Context, ev *store.Event) map[string]string {
	src, ok := s.Config().Source(ev.Source)
	if !ok {
		return redact.Cached().Map(ev.Headers.V)
	}
	return redact.Cached(s.knownSecrets(ctx, src)...).Map(ev.Headers.V, src.Auth.CredentialHeaders()...)
}

// knownSecrets are the source's secrets for redaction: the config's and,
// once rotated, the registry's; a registry that cannot answer leaves the
// config's (the headers are hidden by name regardless).
func (s *server) knownSecrets(ctx context.Context, src *config.Source) []string {
	out := []string{src.Auth.SecretValue()}
	if s.Webhooks != nil && !config.Secretless(src.Auth.Type) {
		if rotated, ok, err := s.Webhooks.Secrets(ctx, registry.Inbound, src.Name); err == nil && ok {
			out = append(out, rotated...)
		}
	}
	return out
}

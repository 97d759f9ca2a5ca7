package web

import (
	"context"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/verify"
)

// verifierFor maps a source's auth type to the verifier that checks its
// requests: the one place an inbound auth type plugs in.
func (s *server) verifierFor(a config.SourceAuth) verify.Verifier {
	switch a.Type {
	case config.AuthNone:
		return verify.None{}
	case config.AuthToken:
		return verify.Token{QueryParam: a.QueryParam, Header: a.Header}
	case config.AuthBasic:
		return verify.Basic{Username: a.Username}
	case config.AuthHMAC:
		v := verify.HMAC{Header: a.Header, Encoding: a.Encoding, Prefix: a.Prefix}
		if a.TimestampHeader != "" {
			v.TimestampHeader, v.Content, v.Tolerance = a.TimestampHeader, a.Content(), a.ReplayWindow()
		}
		return v
	case config.AuthSentry:
		return verify.Sentry{Tolerance: a.ReplayWindow()}
	case config.AuthPagerDuty:
		return verify.PagerDuty{}
	case config.AuthStandardWebhooks:
		return verify.StandardWebhooks{Tolerance: a.ReplayWindow()}
	case config.AuthSNS:
		if s.SNS != nil { // Amazon's signature on the message (internal/sns)
			return s.SNS
		}
	}
	return unsupported(a.Type)
}

// unsupported refuses every request of an auth type this build lacks
// (config validation refuses such a config first).
type unsupported string

func (u unsupported) Verify(context.Context, verify.Request, []string) (verify.Result, error) {
	return verify.Result{}, incidenthub.Errorf(incidenthub.EUNAUTHORIZED, "auth type %q is not supported by this hub", string(u))
}

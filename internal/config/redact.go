package config

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/incidenthub/incidenthub/internal/redact"
	"github.com/incidenthub/incidenthub/internal/verify"
)

// What the hub hides of sources and targets (package redact holds the
// rule): a target's secrets and the query values and user information of
// its URLs, except the query parameters named in public_query_params; a
// source's secret and the headers its credential is read from.

// urls lists the target's URLs that may carry a credential.
func (t *Target) urls() []string {
	out := []string{t.URL, t.APIURL}
	if t.Jira != nil {
		out = append(out, t.Jira.BaseURL)
	}
	if t.ServiceNow != nil {
		out = append(out, t.ServiceNow.InstanceURL)
	}
	if t.Statuspage != nil {
		out = append(out, t.Statuspage.BaseURL)
	}
	if t.PagerDuty != nil {
		out = append(out, t.PagerDuty.URL)
	}
	return slices.DeleteFunc(out, func(s string) bool { return s == "" })
}

// ShownURL is the target's url as the hub shows it (registry, audit
// trail, CLI, UI): query values and user information redacted, except
// public_query_params.
func (t *Target) ShownURL() string { return redact.URL(t.URL, t.PublicQueryParams) }

// Redactor hides the target's secrets in whatever the hub keeps or shows
// of its traffic and errors: every configured secret and the secret parts
// of its URLs, in every encoding; a URL quoted whole shows as ShownURL.
func (t *Target) Redactor() *redact.Redactor {
	var ss []redact.Secret
	for _, u := range t.urls() {
		ss = append(ss, redact.URLSecret(u, t.PublicQueryParams)...)
	}
	for _, v := range t.SecretValues() {
		ss = append(ss, redact.Secret{Value: v})
	}
	return redact.NewSecrets(ss...)
}

// validatePublicQueryParams checks public_query_params at key path p.
func (t *Target) validatePublicQueryParams(d *document, p string) {
	for i, k := range t.PublicQueryParams {
		if k == "" {
			d.at(fmt.Sprintf("%s.public_query_params[%d]", p, i), "must not be empty: name a query parameter of the target's URL whose value is not a secret")
		}
	}
}

// CredentialHeaders are the request headers the source's credential is
// read from; the hub never keeps their values (Authorization and the
// signature headers are hidden by name too).
func (a SourceAuth) CredentialHeaders() []string {
	var out []string
	switch a.Type {
	case AuthToken:
		out = append(out, "Authorization")
		if a.Header != "" {
			out = append(out, a.Header)
		}
	case AuthBasic:
		out = append(out, "Authorization")
	case AuthHMAC:
		out = append(out, a.Header)
	case AuthSentry:
		out = append(out, verify.SentrySignatureHeader)
	case AuthPagerDuty:
		out = append(out, verify.PagerDutySignatureHeader)
	case AuthStandardWebhooks:
		out = append(out, verify.WebhookSignatureHeader)
	}
	for i := range out {
		out[i] = http.CanonicalHeaderKey(out[i])
	}
	return out
}

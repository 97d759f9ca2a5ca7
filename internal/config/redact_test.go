package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTargetRedaction(t *testing.T) {
	t.Parallel()
	const (
		token = "tok-in-the-query-5f1e"
		key   = "AIzaSy-chat-key-0c2d"
		hdr   = `hdr"secret-9a7b`
	)
	cfg, err := Parse("c.yaml", []byte(`
targets:
  - name: chat
    type: webhook
    url: "https://chat.example/v1/spaces/AAA/messages?key=`+key+`&token=${TOK}&threadKey=ops&v=1"
    public_query_params: [threadKey]
    headers: {X-Hook-Key: '`+hdr+`'}
  - name: tickets
    type: jira
    jira: {base_url: "https://jira.example?sso=`+token+`", email: hub@example.com, api_token: jira-api-token-secret, project: OPS}
`), env(map[string]string{"TOK": token}))
	require.NoError(t, err)
	chat, _ := cfg.Target("chat")
	require.Equal(t, "https://chat.example/v1/spaces/AAA/messages?key=%3Credacted%3E&threadKey=ops&token=%3Credacted%3E&v=%3Credacted%3E", chat.ShownURL())
	r := chat.Redactor()
	require.Equal(t, `POST `+chat.ShownURL()+` answered 500`, r.String(`POST `+chat.URL+` answered 500`), "the URL quoted whole")
	require.Equal(t, `echo <redacted> <redacted> {"h":"<redacted>"} v=1`, r.String(`echo `+token+` `+key+` {"h":"hdr\"secret-9a7b"} v=1`),
		"values by value, JSON-escaped too; short values only inside the URL")
	tickets, _ := cfg.Target("tickets")
	require.Equal(t, "sso <redacted>, token <redacted>", tickets.Redactor().String("sso "+token+", token jira-api-token-secret"))

	_, err = Parse("c.yaml", []byte(`
targets:
  - {name: chat, type: webhook, url: "https://chat.example/x", public_query_params: [""]}
`), env(nil))
	require.ErrorContains(t, err, "c.yaml:3:")
	require.ErrorContains(t, err, "targets[0].public_query_params[0]: must not be empty")
}

func TestCredentialHeaders(t *testing.T) {
	t.Parallel()
	for a, want := range map[SourceAuth][]string{
		{Type: AuthNone}:                        nil,
		{Type: AuthToken}:                       {"Authorization"},
		{Type: AuthToken, Header: "api-key"}:    {"Authorization", "Api-Key"},
		{Type: AuthBasic}:                       {"Authorization"},
		{Type: AuthHMAC, Header: "x-signature"}: {"X-Signature"},
		{Type: AuthSentry}:                      {"Sentry-Hook-Signature"},
		{Type: AuthPagerDuty}:                   {"X-Pagerduty-Signature"},
		{Type: AuthStandardWebhooks}:            {"Webhook-Signature"},
		{Type: AuthSNS}:                         nil,
	} {
		require.Equal(t, want, a.CredentialHeaders(), a.Type)
	}
}

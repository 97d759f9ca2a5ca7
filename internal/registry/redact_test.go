package registry_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/registry"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// A target URL's query values and user information are secrets: the
// registry keeps and shows the URL redacted (public_query_params shown),
// and so does its audit trail; an endpoint set through the API too.
func TestEndpointRedacted(t *testing.T) {
	t.Parallel()
	const (
		token = "chat-token-2b9e41d7"
		key   = "AIzaSy-chat-key-77ac"
	)
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, dialect, testKeys(t))
		cfg, err := config.Parse("c.yaml", []byte(`
targets:
  - name: chat
    type: webhook
    url: "https://chat.example/v1/spaces/AAA/messages?key=`+key+`&token=`+token+`&threadKey=ops"
    public_query_params: [threadKey]
`), func(string) string { return "" })
		require.NoError(t, err)
		require.NoError(t, f.reg.Sync(ctx, registry.FromTargets(cfg.Targets), audit.ActorConfig))
		e, err := f.reg.Get(ctx, registry.Outbound, "chat")
		require.NoError(t, err)
		require.Equal(t, "https://chat.example/v1/spaces/AAA/messages?key=%3Credacted%3E&threadKey=ops&token=%3Credacted%3E", e.Endpoint)

		_, _, err = f.reg.Create(ctx, "alice", registry.Outbound, "teams", registry.Fields{Kind: ptr("teams"),
			Endpoint: ptr("https://flow.example/workflows/1/triggers/manual/paths/invoke?api-version=1&sig=" + token)})
		require.NoError(t, err)
		_, err = f.reg.Update(ctx, "alice", registry.Outbound, "teams", registry.Fields{
			Endpoint: ptr("https://bot:" + key + "@flow.example/x?sig=" + token)})
		require.NoError(t, err)
		e, err = f.reg.Get(ctx, registry.Outbound, "teams")
		require.NoError(t, err)
		require.Equal(t, "https://%3Credacted%3E@flow.example/x?sig=%3Credacted%3E", e.Endpoint)

		list, err := f.reg.List(ctx, registry.ListFilter{})
		require.NoError(t, err)
		trail, _, err := audit.List(ctx, f.st.DB, audit.Filter{})
		require.NoError(t, err)
		out, err := json.Marshal(map[string]any{"list": list, "audit": trail})
		require.NoError(t, err)
		require.Contains(t, string(out), "threadKey=ops")
		for _, s := range []string{token, key} {
			require.NotContains(t, string(out), s)
		}
	})
}

func ptr[T any](v T) *T { return &v }

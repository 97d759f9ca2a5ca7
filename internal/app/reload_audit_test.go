package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/registry"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// A reload is audited, accepted or not, and an accepted one re-syncs the
// registry: a source dropped from the config is marked removed.
func TestReloadIsAuditedAndSyncsRegistry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		parse := func(y string) *config.Config {
			cfg, err := config.Parse("hub.yaml", []byte(y), func(string) string { return "" })
			require.NoError(t, err)
			return cfg
		}
		before := parse("sources:\n  - {name: a, kind: generic, auth: {type: none}}\n  - {name: b, kind: generic, auth: {type: none}}\n")
		hooks, err := OpenRegistry(ctx, before, st, func(string) string { return "" }, log, nil)
		require.NoError(t, err)

		after := parse("sources:\n  - {name: a, kind: generic, auth: {type: none}}\n")
		auditReload(ctx, st, hooks, log, after, RegistrySpecs, "v2", "v1", nil)
		auditReload(ctx, st, hooks, log, nil, RegistrySpecs, "", "v2", errors.New("hub.yaml:3:5: sources[0].kind: unknown kind"))

		list, err := hooks.List(ctx, registry.ListFilter{Direction: registry.Inbound})
		require.NoError(t, err)
		require.Len(t, list, 1, "a source dropped by the reload is marked removed")
		require.Equal(t, "a", list[0].Name)

		ok, _, err := audit.List(ctx, st.DB, audit.Filter{Action: "config.reload"})
		require.NoError(t, err)
		require.Len(t, ok, 1)
		require.Equal(t, audit.ActorConfig, ok[0].Actor)
		require.Equal(t, "hub.yaml", ok[0].Entity)
		bad, _, err := audit.List(ctx, st.DB, audit.Filter{Action: "config.reload_rejected"})
		require.NoError(t, err)
		require.Len(t, bad, 1)
		require.Contains(t, bad[0].Detail, "unknown kind")
	})
}

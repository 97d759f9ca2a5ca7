package app_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/internal/stormtest"
	"github.com/incidenthub/incidenthub/mappings"
)

// stormTemplates is where each built-in kind's storm templates are.
var stormTemplates = filepath.Join("..", "..", "mappings", "testdata")

// TestKindStorms runs every built-in kind's storm (stormtest.RunKind)
// against one real hub per database, with a source of each kind: 20
// firings over 20 hosts become one incident, two more alerts two more
// incidents, and every alert resolves keeping its firing's start. A kind
// without storm templates fails.
func TestKindStorms(t *testing.T) {
	t.Parallel()
	kinds := mappings.Kinds()
	templates := make(map[string]*stormtest.KindTemplates, len(kinds))
	for _, kind := range kinds {
		k, err := stormtest.LoadKindTemplates(stormTemplates, kind)
		require.NoError(t, err)
		templates[kind] = k
	}
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		db := fmt.Sprintf("path: %q", filepath.Join(t.TempDir(), "hub.db"))
		if dialect == store.Postgres {
			db = fmt.Sprintf("url: %q", storetest.PostgresURL(t))
		}
		url := serveKinds(t, db, kinds)
		for _, kind := range kinds {
			t.Run(kind, func(t *testing.T) {
				t.Parallel() // every kind has its own services, so their keys never meet
				stormtest.RunKind(t, stormtest.KindOptions{
					URL: url, Source: kind, SourceToken: sourceToken, APIToken: apiToken, Templates: templates[kind],
				})
			})
		}
	})
}

// serveKinds runs a hub with one source per kind until the test ends.
func serveKinds(t *testing.T, database string, kinds []string) string {
	t.Helper()
	return serveConfig(t, fmt.Sprintf("database:\n  %s\ningest:\n  workers: 4\n  poll_interval: 100ms\n%s", database, stormtest.KindsSources(kinds)))
}

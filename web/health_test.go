package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/migrations"
)

// A database behind the binary (it knows the newest migration, the
// database has had it rolled back) is not ready; /readyz says which check
// failed, and is ready again once migrated.
func TestReadyzMigrationsBehind(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newRegistryHub(t, dialect)
		require.Equal(t, http.StatusOK, h.get("/readyz", "").Code)

		ctx := context.Background()
		fsys, err := migrations.FS(dialect)
		require.NoError(t, err)
		gd := goose.DialectSQLite3
		if dialect == store.Postgres {
			gd = goose.DialectPostgres
		}
		p, err := goose.NewProvider(gd, h.st.SQL, fsys)
		require.NoError(t, err)
		_, err = p.Down(ctx) // the newest migration, by its own Down
		require.NoError(t, err)
		rec := h.get("/readyz", "")
		requireError(t, rec, http.StatusServiceUnavailable, "unavailable", "migrations pending")
		requireChecks(t, rec, `[{"name":"database","ok":true},
			{"name":"migrations","ok":false,"error":"migrations pending: run `+"`incidenthub migrate up`"+`"}]`)
		require.NotEmpty(t, rec.Header().Get("Retry-After"))

		require.NoError(t, h.st.Migrate(ctx))
		rec = h.get("/readyz", "")
		require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	})
}

package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/storetest"
)

// A database behind the binary (it knows migration 22, the database has
// not applied it) is not ready; /readyz says which check failed, and is
// ready again once migrated.
func TestReadyzMigrationsBehind(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newRegistryHub(t, dialect)
		require.Equal(t, http.StatusOK, h.get("/readyz", "").Code)

		ctx := context.Background()
		require.NoError(t, h.st.DB.Exec("DELETE FROM goose_db_version WHERE version_id = 22").Error)
		rec := h.get("/readyz", "")
		requireError(t, rec, http.StatusServiceUnavailable, "unavailable", "migrations pending")
		requireChecks(t, rec, `[{"name":"database","ok":true},
			{"name":"migrations","ok":false,"error":"migrations pending: run `+"`incidenthub migrate up`"+`"}]`)
		require.NotEmpty(t, rec.Header().Get("Retry-After"))

		require.NoError(t, h.st.DB.Exec("DROP TABLE registry_notices").Error)
		require.NoError(t, h.st.DB.Exec("DROP TABLE hub_instances").Error)
		require.NoError(t, h.st.Migrate(ctx))
		rec = h.get("/readyz", "")
		require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	})
}

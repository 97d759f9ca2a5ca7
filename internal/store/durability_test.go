package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// A 202 on SQLite means the event's commit is fsynced: WAL mode with
// synchronous=FULL syncs the WAL at every commit, so an acked event
// survives an OS crash or power loss, not only a killed process (NORMAL,
// the earlier setting, syncs only at checkpoints).
func TestSQLiteCommitsAreFsynced(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	var mode string
	require.NoError(t, st.SQL.QueryRowContext(context.Background(), "PRAGMA journal_mode").Scan(&mode))
	require.Equal(t, "wal", mode)
	var sync int
	require.NoError(t, st.SQL.QueryRowContext(context.Background(), "PRAGMA synchronous").Scan(&sync))
	require.Equal(t, 2, sync, "PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA")
}

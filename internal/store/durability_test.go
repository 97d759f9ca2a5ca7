package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

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

// Two processes on one SQLite file (the CLI beside a running hub): a
// transaction that reads and then writes fails with SQLITE_BUSY when the
// other process commits a write in between (its snapshot is stale, no
// busy wait helps), and nothing of it applies; RetryBusy runs it again,
// and the second run sees the other write.
func TestSQLiteRetryBusy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts := storetest.Options(t, store.SQLite)
	a, err := store.Open(ctx, opts)
	require.NoError(t, err)
	defer a.Close()
	require.NoError(t, a.Migrate(ctx))
	b, err := store.Open(ctx, opts) // its own connection: another process
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, a.DB.Exec("CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)").Error)
	require.NoError(t, a.DB.Exec("INSERT INTO counters (id, n) VALUES (1, 0)").Error)

	runs := 0
	readThenWrite := func() error {
		runs++
		return a.Tx(ctx, func(tx *gorm.DB) error {
			var n int
			if err := tx.Raw("SELECT n FROM counters WHERE id = 1").Scan(&n).Error; err != nil {
				return err
			}
			if runs == 1 { // the other process writes in between, once
				if err := b.DB.Exec("UPDATE counters SET n = n + 10 WHERE id = 1").Error; err != nil {
					return err
				}
			}
			return tx.Exec("UPDATE counters SET n = ? WHERE id = 1", n+1).Error
		})
	}
	err = readThenWrite()
	require.Error(t, err, "a stale read-then-write transaction is refused")
	require.Contains(t, err.Error(), "database is locked")
	runs = 0
	require.NoError(t, store.RetryBusy(ctx, readThenWrite))
	require.Equal(t, 2, runs, "refused once, then run again")
	var n int
	require.NoError(t, a.DB.Raw("SELECT n FROM counters WHERE id = 1").Scan(&n).Error)
	require.Equal(t, 21, n, "both of the other's writes, then ours on top: nothing of the refused run applied")

	calls := 0
	other := errors.New("not busy")
	require.ErrorIs(t, store.RetryBusy(ctx, func() error { calls++; return other }), other)
	require.Equal(t, 1, calls, "other errors are not retried")
}

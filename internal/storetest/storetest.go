// Package storetest gives tests a fresh, migrated store: a private schema
// in a real PostgreSQL, or a temporary SQLite file.
//
// PostgreSQL is found at $INCIDENTHUB_TEST_POSTGRES_URL (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable). When it is
// unreachable the PostgreSQL variants skip, unless
// INCIDENTHUB_TEST_POSTGRES_REQUIRED=1 (set by .ci/run), which fails them.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for schema setup

	"github.com/incidenthub/incidenthub/internal/store"
)

// DefaultPostgresURL is used when INCIDENTHUB_TEST_POSTGRES_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Dialects are the stores every store test runs against.
var Dialects = []string{store.Postgres, store.SQLite}

// Each runs fn as a subtest once per dialect.
func Each(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}

// PostgresURL returns a URL for a fresh, empty schema that is dropped when
// the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("INCIDENTHUB_TEST_POSTGRES_URL")
	if base == "" {
		base = DefaultPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err == nil {
		err = admin.PingContext(ctx)
	}
	if err != nil {
		if os.Getenv("INCIDENTHUB_TEST_POSTGRES_REQUIRED") == "1" {
			t.Fatalf("PostgreSQL is required (INCIDENTHUB_TEST_POSTGRES_REQUIRED=1) but unreachable: %v", err)
		}
		t.Skipf("PostgreSQL unreachable at %s (set INCIDENTHUB_TEST_POSTGRES_URL; .ci/run makes this mandatory): %v", base, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", base, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Options returns store options for a fresh database of the dialect.
func Options(t testing.TB, dialect string) store.Options {
	t.Helper()
	if dialect == store.Postgres {
		return store.Options{URL: PostgresURL(t), MaxOpenConns: 20}
	}
	return store.Options{Path: filepath.Join(t.TempDir(), "hub.db")}
}

// Open returns a migrated store on a fresh database, closed at test end.
func Open(t testing.TB, dialect string) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, Options(t, dialect))
	if err != nil {
		t.Fatalf("open %s: %v", dialect, err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", dialect, err)
	}
	return st
}

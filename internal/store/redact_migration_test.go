package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// Migration 00018 hides the query values and user information that
// registry rows written before package redact kept whole.
func TestMigrationRedactsEndpoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st, err := store.Open(ctx, storetest.Options(t, dialect))
		require.NoError(t, err)
		defer st.Close()
		require.NoError(t, st.MigrateUpTo(ctx, 17))
		cases := map[string]string{
			"/hooks/alertmanager":                              "/hooks/alertmanager",
			"https://chat.example/v1/messages?key=K1&token=T1": "https://chat.example/v1/messages?redacted=%3Credacted%3E",
			"https://admin:pw@jira.example/rest":               "https://%3Credacted%3E@jira.example/rest",
			"https://u:p@h.example":                            "https://%3Credacted%3E@h.example",
			"https://u:p@h.example/x?sig=S1":                   "https://%3Credacted%3E@h.example/x?redacted=%3Credacted%3E",
			"https://h.example/people/@me":                     "https://h.example/people/@me",
			"":                                                 "",
		}
		now := time.Now().UTC()
		i := 0
		for old := range cases {
			i++
			require.NoError(t, st.DB.Exec(`INSERT INTO registry_entries (name, direction, kind, managed_by, endpoint, created_at, updated_at)
				VALUES (?, 'outbound', 'webhook', 'api', ?, ?, ?)`, "t"+string(rune('a'+i)), old, now, now).Error)
		}
		require.NoError(t, st.Migrate(ctx))
		var rows []struct{ Endpoint string }
		require.NoError(t, st.DB.Raw(`SELECT endpoint FROM registry_entries`).Scan(&rows).Error)
		var got []string
		for _, r := range rows {
			got = append(got, r.Endpoint)
		}
		var want []string
		for _, w := range cases {
			want = append(want, w)
		}
		require.ElementsMatch(t, want, got)
	})
}

package audit_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

func TestRecordAndList(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		err := st.Tx(ctx, func(tx *gorm.DB) error {
			for _, e := range []audit.Entry{
				{At: t0, Actor: "alice", Action: "registry.rotate", EntityType: "registry", Entity: "inbound/am",
					Before: map[string]any{"secret": map[string]any{"version": 1}}, After: map[string]any{"secret": map[string]any{"version": 2}}},
				{At: t0.Add(time.Minute), Actor: "bob", Action: "registry.verify", EntityType: "registry", Entity: "inbound/dd"},
				{At: t0.Add(2 * time.Minute), Actor: "alice", Action: "incident.acknowledge", EntityType: "incident", Entity: "7",
					After: map[string]any{"token": "tok-abc", "note": "on it", "nested": []any{map[string]any{"client_secret": "cs-1"}}}},
			} {
				if err := audit.Record(tx, e); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, err)

		all, next, err := audit.List(ctx, st.DB, audit.Filter{})
		require.NoError(t, err)
		require.Zero(t, next)
		require.Len(t, all, 3)
		require.Equal(t, "incident.acknowledge", all[0].Action, "newest first")
		require.Equal(t, t0.Add(2*time.Minute), all[0].At)
		after := string(all[0].After.(json.RawMessage))
		require.NotContains(t, after, "tok-abc")
		require.NotContains(t, after, "cs-1")
		require.JSONEq(t, `{"token":"<redacted>","note":"on it","nested":[{"client_secret":"<redacted>"}]}`, after)
		require.JSONEq(t, `{"secret":{"version":1}}`, string(all[2].Before.(json.RawMessage)), "metadata under a secret key is kept")
		require.Nil(t, all[1].Before)

		for _, tc := range []struct {
			f    audit.Filter
			want []string
		}{
			{audit.Filter{Actor: "alice"}, []string{"incident.acknowledge", "registry.rotate"}},
			{audit.Filter{Action: "registry.*"}, []string{"registry.verify", "registry.rotate"}},
			{audit.Filter{Action: "registry.verify"}, []string{"registry.verify"}},
			{audit.Filter{EntityType: "registry", Entity: "inbound/am"}, []string{"registry.rotate"}},
			{audit.Filter{Since: t0.Add(time.Minute)}, []string{"incident.acknowledge", "registry.verify"}},
			{audit.Filter{Until: t0.Add(time.Minute)}, []string{"registry.rotate"}},
			{audit.Filter{Action: "reg%"}, nil},
		} {
			got, _, err := audit.List(ctx, st.DB, tc.f)
			require.NoError(t, err)
			var actions []string
			for _, e := range got {
				actions = append(actions, e.Action)
			}
			require.Equal(t, tc.want, actions, "%+v", tc.f)
		}

		page, next, err := audit.List(ctx, st.DB, audit.Filter{Limit: 2})
		require.NoError(t, err)
		require.Len(t, page, 2)
		require.NotZero(t, next)
		rest, next, err := audit.List(ctx, st.DB, audit.Filter{Limit: 2, BeforeID: next})
		require.NoError(t, err)
		require.Len(t, rest, 1)
		require.Zero(t, next)
		require.Equal(t, "registry.rotate", rest[0].Action)

		require.ErrorContains(t, audit.Record(st.DB, audit.Entry{Action: "x"}), "actor")
	})
}

// The database itself refuses to change or remove a record.
func TestAppendOnly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		require.NoError(t, audit.Record(st.DB.WithContext(ctx), audit.Entry{Actor: "a", Action: "x"}))
		err := st.DB.WithContext(ctx).Exec("UPDATE audit_log SET actor = 'mallory'").Error
		require.ErrorContains(t, err, "append-only")
		err = st.DB.WithContext(ctx).Exec("DELETE FROM audit_log").Error
		require.ErrorContains(t, err, "append-only")
		got, _, err := audit.List(ctx, st.DB, audit.Filter{})
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, "a", got[0].Actor)
	})
}

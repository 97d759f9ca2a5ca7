package silence_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/silence"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

func checkout(d time.Duration) silence.New {
	return silence.New{
		Matchers:  []silence.Matcher{{Name: "service", Op: silence.Equal, Value: "checkout"}, {Name: "alertname", Op: silence.Regexp, Value: "5xx.*"}},
		Duration:  d,
		CreatedBy: "alice",
		Comment:   "deploying checkout, CHG-42",
	}
}

func TestCreateGetListExpireExtend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		db := st.DB

		active, err := silence.Create(ctx, db, checkout(2*time.Hour))
		require.NoError(t, err)
		require.Equal(t, silence.Active, active.State)
		require.NotEmpty(t, active.ID)
		require.WithinDuration(t, time.Now().Add(2*time.Hour), active.EndsAt, 5*time.Second)

		pend := checkout(0)
		pend.StartsAt = time.Now().Add(time.Hour)
		pend.EndsAt = pend.StartsAt.Add(time.Hour)
		pending, err := silence.Create(ctx, db, pend)
		require.NoError(t, err)
		require.Equal(t, silence.Pending, pending.State)

		got, err := silence.Get(ctx, db, active.ID)
		require.NoError(t, err)
		require.Equal(t, active, got)

		_, err = silence.Get(ctx, db, "nope")
		require.Equal(t, incidenthub.ENOTFOUND, incidenthub.ErrorCode(err))

		ids := func(state silence.State) []string {
			list, _, err := silence.List(ctx, db, silence.Filter{State: state})
			require.NoError(t, err)
			out := []string{}
			for _, s := range list {
				require.True(t, state == "" || s.State == state, "%s listed under %s", s.State, state)
				out = append(out, s.ID)
			}
			return out
		}
		require.Equal(t, []string{active.ID}, ids(silence.Active))
		require.Equal(t, []string{pending.ID}, ids(silence.Pending))
		require.Empty(t, ids(silence.Expired))
		require.Equal(t, []string{pending.ID, active.ID}, ids("")) // newest first

		// Extend the active one by an hour.
		ext, err := silence.Extend(ctx, db, active.ID, "bob", active.EndsAt.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, active.EndsAt.Add(time.Hour), ext.EndsAt)
		_, err = silence.Extend(ctx, db, active.ID, "bob", time.Now().Add(-time.Minute))
		var fe *silence.FieldError
		require.ErrorAs(t, err, &fe)
		require.Equal(t, "ends_at", fe.Field)
		require.Equal(t, incidenthub.EUNPROCESSABLE, incidenthub.ErrorCode(err))

		// Expire both: the active one ends now, the pending one never starts.
		exp, err := silence.Expire(ctx, db, active.ID, "carol")
		require.NoError(t, err)
		require.Equal(t, silence.Expired, exp.State)
		require.Equal(t, "carol", exp.ExpiredBy)
		require.NotNil(t, exp.ExpiredAt)
		require.WithinDuration(t, time.Now(), exp.EndsAt, 5*time.Second)
		expP, err := silence.Expire(ctx, db, pending.ID, "carol")
		require.NoError(t, err)
		require.Equal(t, silence.Expired, expP.State)
		require.Equal(t, expP.StartsAt, expP.EndsAt)

		require.Empty(t, ids(silence.Active))
		require.Empty(t, ids(silence.Pending))
		require.ElementsMatch(t, []string{active.ID, pending.ID}, ids(silence.Expired))

		_, err = silence.Expire(ctx, db, active.ID, "carol")
		require.Equal(t, incidenthub.ECONFLICT, incidenthub.ErrorCode(err))
		_, err = silence.Extend(ctx, db, active.ID, "carol", time.Now().Add(time.Hour))
		require.Equal(t, incidenthub.ECONFLICT, incidenthub.ErrorCode(err))
		_, err = silence.Expire(ctx, db, "missing", "carol")
		require.Equal(t, incidenthub.ENOTFOUND, incidenthub.ErrorCode(err))

		// Every change is audited with its actor.
		entries, _, err := audit.List(ctx, db, audit.Filter{EntityType: "silence", Entity: active.ID})
		require.NoError(t, err)
		var trail []string
		for _, e := range entries {
			trail = append(trail, e.Action+" by "+e.Actor)
		}
		require.Equal(t, []string{"silence.expire by carol", "silence.extend by bob", "silence.create by alice"}, trail)
		var after silence.Silence
		require.NoError(t, json.Unmarshal(entries[0].After.(json.RawMessage), &after))
		require.Equal(t, "carol", after.ExpiredBy)
		require.Equal(t, "deploying checkout, CHG-42", entries[2].Detail)
	})
}

func TestListPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db := storetest.Open(t, dialect).DB
		var want []string
		for range 5 {
			s, err := silence.Create(ctx, db, checkout(time.Hour))
			require.NoError(t, err)
			want = append([]string{s.ID}, want...)
		}
		var got []string
		cursor := ""
		for {
			page, next, err := silence.List(ctx, db, silence.Filter{Limit: 2, Cursor: cursor})
			require.NoError(t, err)
			require.LessOrEqual(t, len(page), 2)
			for _, s := range page {
				got = append(got, s.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		require.Equal(t, want, got)
	})
}

func TestCreateValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db := storetest.Open(t, dialect).DB
		now := time.Now()
		cases := map[string]struct {
			edit  func(n *silence.New)
			field string
		}{
			"no matchers":     {func(n *silence.New) { n.Matchers = nil }, "matchers"},
			"bad regexp":      {func(n *silence.New) { n.Matchers[1].Value = "5xx(" }, "matchers[1].value"},
			"bad op":          {func(n *silence.New) { n.Matchers[0].Op = "==" }, "matchers[0].op"},
			"bad name":        {func(n *silence.New) { n.Matchers[0].Name = "a b" }, "matchers[0].name"},
			"catch-all":       {func(n *silence.New) { n.Matchers = []silence.Matcher{{Name: "team", Op: silence.Regexp, Value: ".*"}} }, "matchers"},
			"bad expr":        {func(n *silence.New) { n.Matchers, n.Expr = nil, `servce == "x"` }, "expr"},
			"expr not bool":   {func(n *silence.New) { n.Matchers, n.Expr = nil, `service` }, "expr"},
			"no end":          {func(n *silence.New) { n.Duration = 0 }, "ends_at"},
			"end before":      {func(n *silence.New) { n.Duration, n.StartsAt, n.EndsAt = 0, now.Add(time.Hour), now.Add(time.Minute) }, "ends_at"},
			"end passed":      {func(n *silence.New) { n.Duration, n.StartsAt, n.EndsAt = 0, now.Add(-2*time.Hour), now.Add(-time.Hour) }, "ends_at"},
			"both end forms":  {func(n *silence.New) { n.EndsAt = now.Add(5 * time.Hour) }, "duration"},
			"no comment":      {func(n *silence.New) { n.Comment = "  " }, "comment"},
			"no author":       {func(n *silence.New) { n.CreatedBy = "" }, "created_by"},
			"too many":        {func(n *silence.New) { n.Matchers = make([]silence.Matcher, silence.MaxMatchers+1) }, "matchers"},
			"comment too big": {func(n *silence.New) { n.Comment = string(make([]byte, silence.MaxComment+1)) + "x" }, "comment"},
		}
		for name, tc := range cases {
			n := checkout(time.Hour)
			tc.edit(&n)
			_, err := silence.Create(ctx, db, n)
			var fe *silence.FieldError
			require.ErrorAs(t, err, &fe, name)
			require.Equal(t, tc.field, fe.Field, "%s: %v", name, err)
			require.Equal(t, incidenthub.EUNPROCESSABLE, incidenthub.ErrorCode(err), name)
			require.Contains(t, incidenthub.ErrorMessage(err), tc.field+": ", name)
		}
		list, _, err := silence.List(ctx, db, silence.Filter{})
		require.NoError(t, err)
		require.Empty(t, list, "nothing invalid was stored")

		// An expr alone is enough; catch-all matchers are fine beside it.
		n := checkout(time.Hour)
		n.Matchers = []silence.Matcher{{Name: "team", Op: silence.NotEqual, Value: "db"}}
		n.Expr = `severity_rank <= 2 && labels.cluster == "eu-1"`
		_, err = silence.Create(ctx, db, n)
		require.NoError(t, err)
	})
}

func TestQuery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db := storetest.Open(t, dialect).DB
		byMatch, err := silence.Create(ctx, db, checkout(time.Hour))
		require.NoError(t, err)
		byExpr := checkout(time.Hour)
		byExpr.Matchers, byExpr.Expr = nil, `severity == "warning" && labels.cluster startsWith "eu-"`
		exprSil, err := silence.Create(ctx, db, byExpr)
		require.NoError(t, err)
		later := checkout(0)
		later.StartsAt, later.EndsAt = time.Now().Add(time.Hour), time.Now().Add(2*time.Hour)
		pending, err := silence.Create(ctx, db, later)
		require.NoError(t, err)
		gone, err := silence.Create(ctx, db, checkout(time.Hour))
		require.NoError(t, err)
		_, err = silence.Expire(ctx, db, gone.ID, "alice")
		require.NoError(t, err)

		ids := func(a incidenthub.Alert, at time.Time) []string {
			got, err := silence.Query(ctx, db, a, at)
			require.NoError(t, err)
			out := []string{}
			for _, s := range got {
				out = append(out, s.ID)
			}
			return out
		}
		a := incidenthub.Alert{Service: "checkout", Severity: incidenthub.SeverityWarning,
			Labels: map[string]string{"alertname": "5xx-rate", "cluster": "eu-1"}}
		require.Equal(t, []string{byMatch.ID, exprSil.ID}, ids(a, time.Time{}))
		a.Severity = incidenthub.SeverityCritical
		require.Equal(t, []string{byMatch.ID}, ids(a, time.Time{}))
		a.Service = "billing"
		require.Empty(t, ids(a, time.Time{}))
		// In 90 minutes only the pending one is in force.
		a.Service = "checkout"
		require.Equal(t, []string{pending.ID}, ids(a, time.Now().Add(90*time.Minute)))
	})
}

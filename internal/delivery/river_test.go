package delivery_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/delivery"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// River's unique jobs cannot say "one waiting job per pair, queued behind
// the running one": ByState must include running, so a change committed
// while a sync runs would be dropped as a duplicate. That is why the pair
// is coordinated by delivery_syncs (job_queued + lease) instead.
func TestRiverUniqueCannotExcludeRunning(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.Postgres)
	client, err := river.NewClient(riverdatabasesql.New(nil), &river.Config{})
	require.NoError(t, err)
	err = st.Tx(context.Background(), func(tx *gorm.DB) error {
		_, err := client.InsertTx(context.Background(), tx.Statement.ConnPool.(*sql.Tx), delivery.SyncArgs{IncidentID: 1, Target: "x"},
			&river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
				rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateScheduled, rivertype.JobStateRetryable}}})
		return err
	})
	require.ErrorContains(t, err, "missing: running")
}

func TestDiff(t *testing.T) {
	t.Parallel()
	open := incidenthub.Incident{Status: incidenthub.IncidentOpen, Severity: incidenthub.SeverityWarning, AlertCount: 1, FiringCount: 1, Title: "x"}
	with := func(f func(*incidenthub.Incident)) incidenthub.Incident { c := open; f(&c); return c }
	cases := []struct {
		name    string
		prev    *incidenthub.Incident
		cur     incidenthub.Incident
		event   string
		changes []string
	}{
		{"new", nil, open, incidenthub.EventOpened, []string{}},
		{"new but already resolved", nil, with(func(i *incidenthub.Incident) { i.Status = incidenthub.IncidentResolved }), incidenthub.EventResolved, []string{"status"}},
		{"same", &open, open, "", nil},
		{"event count only", &open, with(func(i *incidenthub.Incident) { i.EventCount = 9 }), "", nil},
		{"join", &open, with(func(i *incidenthub.Incident) { i.AlertCount, i.FiringCount = 2, 2 }), incidenthub.EventUpdated, []string{"alert_count", "firing_count"}},
		{"severity raised", &open, with(func(i *incidenthub.Incident) { i.Severity = incidenthub.SeverityCritical }), incidenthub.EventUpdated, []string{"severity_raised"}},
		{"acknowledged", &open, with(func(i *incidenthub.Incident) { i.Status = incidenthub.IncidentAcknowledged }), incidenthub.EventAcknowledged, []string{"status"}},
		{"resolved", &open, with(func(i *incidenthub.Incident) { i.Status, i.FiringCount = incidenthub.IncidentResolved, 0 }), incidenthub.EventResolved, []string{"status", "firing_count"}},
		{"reopened", ptr(with(func(i *incidenthub.Incident) { i.Status = incidenthub.IncidentResolved })), open, incidenthub.EventReopened, []string{"status"}},
	}
	for _, tc := range cases {
		ev, ch := delivery.Diff(tc.prev, tc.cur)
		require.Equal(t, tc.event, ev, tc.name)
		require.Equal(t, tc.changes, ch, tc.name)
	}
}

func ptr[T any](v T) *T { return &v }

package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// A change committed while a queued sync job starts must not be lost: the
// change's transaction sees the job queued and enqueues nothing, so the
// job must not finish on the state from before that transaction commits.
// PostgreSQL only: on SQLite the single connection serialises the two.
func TestChangeDuringClaimIsNotLost(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	opts := storetest.Options(t, store.Postgres)
	ctx := context.Background()
	st, err := store.Open(ctx, opts)
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.Migrate(ctx))
	cfg, err := config.Parse("hub.yaml", fmt.Appendf(nil, `routing: {default: [ops]}
targets:
  - name: ops
    type: webhook
    url: %s/hook
    secrets: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw]
    allow_private_network: true
    update_interval: 0s # the opening goes as it was, the title change right after it
`, srv.URL), func(string) string { return "" })
	require.NoError(t, err)
	e, err := New(ctx, Options{Store: st, DatabaseURL: opts.URL, Config: cfg, Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)

	// An incident whose sync job is queued but not yet worked.
	_, _, err = st.InsertEvent(ctx, &store.Event{Source: "generic", Kind: "generic", ReceivedAt: time.Now().UTC(),
		Body:    []byte(`{"id":"e1","fingerprint":"a","status":"firing","severity":"high","service":"checkout","alert_type":"HighLatency","title":"before"}`),
		Headers: store.JSON[map[string]string]{V: map[string]string{}}})
	require.NoError(t, err)
	p := processor.New(st, slog.New(slog.DiscardHandler), 1, time.Second)
	p.Router, p.Notifier = processor.DefaultRouter{"ops"}, e
	did, err := p.ProcessOne(ctx)
	require.NoError(t, err)
	require.True(t, did)
	var inc store.Incident
	require.NoError(t, st.DB.Take(&inc).Error)

	// A change's transaction sees the job queued; while it is still open,
	// the job starts.
	inTx, commit, workDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	txDone := make(chan error, 1)
	go func() {
		txDone <- st.Tx(ctx, func(tx *gorm.DB) error {
			if err := tx.Model(&store.Incident{}).Where("id = ?", inc.ID).Update("title", "after").Error; err != nil {
				return err
			}
			if err := e.IncidentChanged(tx, correlation.Change{Notify: true, IncidentID: inc.ID, Targets: []string{"ops"}}); err != nil {
				return err
			}
			close(inTx)
			<-commit
			return nil
		})
	}()
	<-inTx
	w := &worker{e: e, timeout: time.Minute}
	go func() {
		workDone <- w.Work(ctx, &river.Job[SyncArgs]{JobRow: &rivertype.JobRow{ID: 1}, Args: SyncArgs{IncidentID: inc.ID, Target: "ops"}})
	}()
	time.Sleep(500 * time.Millisecond)
	close(commit)
	require.NoError(t, <-txDone)
	require.NoError(t, <-workDone)

	var sync store.DeliverySync
	require.NoError(t, st.DB.Where("incident_id = ? AND target = ?", inc.ID, "ops").Take(&sync).Error)
	delivered := sync.SyncedState != nil && sync.SyncedState.V.Title == "after"
	require.True(t, delivered || sync.JobQueued, "the title change is neither delivered nor queued: synced %+v", sync.SyncedState)
}

package delivery

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// A job that stalled past its lease, while another job took the pair over,
// learns so before sending and does not send (which would deliver twice).
func TestRenewDetectsLostLease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		st := storetest.Open(t, dialect)
		now := time.Now().UTC()
		inc := store.Incident{CorrelationKey: "svc/x", Status: "open", Severity: "high", OpenedAt: now, LastSeenAt: now, CreatedAt: now, UpdatedAt: now}
		require.NoError(t, st.DB.Create(&inc).Error)
		owner := int64(1)
		past := now.Add(-time.Minute)
		sync := store.DeliverySync{IncidentID: inc.ID, Target: "ops", LeaseOwner: &owner, LeaseUntil: &past, CreatedAt: now, UpdatedAt: now}
		require.NoError(t, st.DB.Create(&sync).Error)

		w := &worker{e: &Engine{log: slog.New(slog.DiscardHandler), now: func() time.Time { return now }}}
		a := SyncArgs{IncidentID: inc.ID, Target: "ops"}
		held, err := w.renew(st.DB, a, 1, time.Minute, 0)
		require.NoError(t, err)
		require.True(t, held, "an expired lease nobody took is still ours")

		require.NoError(t, st.DB.Model(&store.DeliverySync{}).Where("id = ?", sync.ID).Update("lease_owner", 2).Error)
		held, err = w.renew(st.DB, a, 1, time.Minute, 0)
		require.NoError(t, err)
		require.False(t, held, "job 2 took the pair over")
		var got store.DeliverySync
		require.NoError(t, st.DB.Take(&got, sync.ID).Error)
		require.EqualValues(t, 2, *got.LeaseOwner, "the new owner's lease is untouched")
	})
}

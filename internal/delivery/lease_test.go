package delivery

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/config"
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

// An operator's retry that reopens the pair's dead delivery while the
// pair's job is between its look for an open delivery and its diff sends
// that delivery (its message id, once), not a new delivery of the same
// change.
func TestRetryDuringNextSendsTheRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		st := storetest.Open(t, dialect)
		now := time.Now().UTC()
		inc := store.Incident{CorrelationKey: "svc/x", Status: "open", Severity: "high", AlertCount: 1, FiringCount: 1,
			OpenedAt: now, LastSeenAt: now, CreatedAt: now, UpdatedAt: now}
		require.NoError(t, st.DB.Create(&inc).Error)
		state := store.JSON[incidenthub.Incident]{V: inc.Domain()}
		sync := store.DeliverySync{IncidentID: inc.ID, Target: "ops", NotifyState: &state, CreatedAt: now, UpdatedAt: now}
		require.NoError(t, st.DB.Create(&sync).Error)
		dead := store.Delivery{IncidentID: inc.ID, Target: "ops", TargetType: "webhook", Event: incidenthub.EventOpened,
			MessageID: "msg_dead", Status: incidenthub.DeliveryDead, State: state, WindowStart: now, CreatedAt: now, UpdatedAt: now}
		require.NoError(t, st.DB.Create(&dead).Error)

		w := &worker{e: &Engine{log: slog.New(slog.DiscardHandler), now: func() time.Time { return now }}}
		tg := &target{cfg: config.Target{Name: "ops", Type: "webhook"}}
		a := SyncArgs{IncidentID: inc.ID, Target: "ops"}
		d, wait, err := w.next(st.DB, a, tg)
		require.NoError(t, err)
		require.Zero(t, wait)
		require.Nil(t, d, "a dead delivery of this very state is not retried by itself")

		afterOpenCheck = func() {
			require.NoError(t, st.DB.Model(&store.Delivery{}).Where("id = ?", dead.ID).Update("status", incidenthub.DeliveryPending).Error)
		}
		defer func() { afterOpenCheck = nil }()
		d, _, err = w.next(st.DB, a, tg)
		require.NoError(t, err)
		require.NotNil(t, d)
		require.Equal(t, "msg_dead", d.MessageID, "the retried delivery")
		var n int64
		require.NoError(t, st.DB.Model(&store.Delivery{}).Where("incident_id = ?", inc.ID).Count(&n).Error)
		require.EqualValues(t, 1, n, "no second delivery of the same change")
	})
}

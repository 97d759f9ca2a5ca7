package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/incidenthub/incidenthub/internal/store"
)

// noticeRow is a row of registry_notices: an owner notice queued where no
// delivery engine runs (the CLI), for a running hub to send.
type noticeRow struct {
	ID        int64 `gorm:"primaryKey"`
	CreatedAt time.Time
	Entity    string
	Action    string
	Actor     string
	Notice    store.JSON[Notice]
	ClaimedAt *time.Time
	SentAt    *time.Time
}

func (noticeRow) TableName() string { return "registry_notices" }

// noticeClaim is how long a hub may take to send a claimed notice before
// another may (the first crashed).
const noticeClaim = 5 * time.Minute

// QueueNotices makes the registry queue its owner notices in the database
// instead of sending them, for a running hub to send (SendQueuedNotices):
// what the CLI does, since it runs no delivery engine.
func (r *Registry) QueueNotices() {
	r.SetNotify(func(ctx context.Context, n Notice) {
		if err := r.queueNotice(ctx, n); err != nil {
			r.o.Log.Error("registry: queue owner notice", "entry", n.Entry.Direction+"/"+n.Entry.Name, "err", err)
		}
	})
}

func (r *Registry) queueNotice(ctx context.Context, n Notice) error {
	row := noticeRow{CreatedAt: r.now(), Entity: n.Entry.Direction + "/" + n.Entry.Name, Action: n.Action, Actor: n.Actor,
		Notice: store.JSON[Notice]{V: n}}
	return r.o.Store.DB.WithContext(context.WithoutCancel(ctx)).Create(&row).Error
}

// SendQueuedNotices sends each queued notice once with send (the hub's
// owner-notice path, which logs and audits the outcome) and marks it done;
// it returns how many it sent. Replicas may all call it: each notice is
// claimed by one (a claim older than noticeClaim is taken over).
func (r *Registry) SendQueuedNotices(ctx context.Context, send func(context.Context, Notice)) (int, error) {
	var ids []int64
	db := r.o.Store.DB.WithContext(ctx)
	if err := db.Model(&noticeRow{}).Where("sent_at IS NULL").Order("id").Limit(50).Pluck("id", &ids).Error; err != nil {
		return 0, fmt.Errorf("queued owner notices: %w", err)
	}
	sent := 0
	for _, id := range ids {
		now := r.now()
		claim := db.Model(&noticeRow{}).Where("id = ? AND sent_at IS NULL AND (claimed_at IS NULL OR claimed_at < ?)", id, now.Add(-noticeClaim)).
			Update("claimed_at", now)
		if claim.Error != nil {
			return sent, fmt.Errorf("claim owner notice %d: %w", id, claim.Error)
		}
		if claim.RowsAffected == 0 {
			continue // another hub has it
		}
		var row noticeRow
		if err := db.First(&row, id).Error; err != nil {
			return sent, fmt.Errorf("load owner notice %d: %w", id, err)
		}
		send(ctx, row.Notice.V)
		if err := db.Model(&noticeRow{}).Where("id = ?", id).Update("sent_at", r.now()).Error; err != nil {
			return sent, fmt.Errorf("mark owner notice %d sent: %w", id, err)
		}
		sent++
	}
	return sent, nil
}

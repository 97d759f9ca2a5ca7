package processor

import (
	"fmt"

	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub/internal/store"
)

// snsSubscription handles ev when it is an Amazon SNS subscription or
// unsubscribe confirmation of an SNS source (p.SNS, package internal/sns):
// such an event holds no alert. It is marked processed with a note saying
// what the hub did ("SNS subscription confirmation for topic …;
// confirmed"). Confirming visits the SubscribeURL here, in the
// processor, so the 202 never waits on SNS; when that request fails the
// error rolls the transaction back and the event is retried like any
// other processing failure (RetryBackoff, MaxAttempts).
//
// The request is made inside the event's transaction, holding its claim:
// at most Subscriptions.Timeout (10s), and only once per subscription.
func (p *Processor) snsSubscription(tx *gorm.DB, ev *store.Event) (status string, handled bool, err error) {
	if p.SNS == nil {
		return "", false, nil
	}
	note, handled, err := p.SNS.Handle(tx.Statement.Context, ev.Source, ev.Body)
	if !handled {
		return "", false, nil
	}
	if err != nil {
		return "", true, fmt.Errorf("event %s: %w", ev.ID, err)
	}
	if err := store.FinishEvent(tx, ev, store.Outcome{Status: store.EventProcessed, Note: note}); err != nil {
		return "", true, err
	}
	p.log.Info("sns subscription message", "event_id", ev.ID, "source", ev.Source, "note", note)
	return store.EventProcessed, true, nil
}

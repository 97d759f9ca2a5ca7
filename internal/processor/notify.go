package processor

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/hold"
	"github.com/incidenthub/incidenthub/internal/store"
)

// Notification delay and threshold. An incident opened by an alert whose
// routing has notify_after (Alertmanager's group_wait) or min_alerts is
// created and correlated at once, but held (a gating hold.Delay or
// hold.MinAlerts): its alert-driven notifications wait. The releaser ends
// the delay at its until and the threshold once the incident has
// min_alerts member alerts (or resolved), then syncs the incident's
// targets once; an incident that resolved meanwhile, never delivered,
// sends nothing. The holds are rows in the database, so a restart during
// the wait still notifies on time.

// holdFirst holds back the first notification of each incident the batch
// opened under notify_after or min_alerts (and of one it reopened before
// anyone heard of it). It runs after correlation and before the notifier
// hears of the changes, and returns the incidents whose min_alerts holds
// checkHolds should look at once the notifier has heard (an alert joined).
func (p *Processor) holdFirst(tx *gorm.DB, batch []routed, changes []correlation.Change, now time.Time) ([]int64, error) {
	members := map[int64]int{} // member alerts at the end of the batch
	for _, ch := range changes {
		members[ch.IncidentID] = max(members[ch.IncidentID], ch.AlertCount)
	}
	var recheck []int64
	for j, ch := range changes {
		r := batch[j]
		if ch.IncidentID == 0 || (r.notifyAfter <= 0 && r.minAlerts <= 1) {
			continue
		}
		first := ch.Notify && ch.Outcome == correlation.Opened
		if ch.Notify && ch.Outcome == correlation.Reopened {
			heard, err := delivered(tx, ch.IncidentID)
			if err != nil {
				return nil, err
			}
			first = !heard
		}
		if !first {
			if r.minAlerts > 1 {
				recheck = append(recheck, ch.IncidentID)
			}
			continue
		}
		if r.notifyAfter > 0 {
			until := ch.At.Add(r.notifyAfter)
			spec := hold.Spec{Kind: hold.Delay, Until: &until, Gate: true,
				Reason: fmt.Sprintf("notify_after %s: the first notification waits until %s", r.notifyAfter, until.UTC().Format(time.RFC3339))}
			if _, err := hold.Add(tx, ch.IncidentID, spec, ch.EventID, now); err != nil {
				return nil, err
			}
		}
		if r.minAlerts > 1 && members[ch.IncidentID] < r.minAlerts {
			spec := hold.Spec{Kind: hold.MinAlerts, Ref: strconv.Itoa(r.minAlerts), Gate: true,
				Reason: fmt.Sprintf("min_alerts %d: the first notification waits for %d member alerts", r.minAlerts, r.minAlerts)}
			if _, err := hold.Add(tx, ch.IncidentID, spec, ch.EventID, now); err != nil {
				return nil, err
			}
		}
	}
	return recheck, nil
}

// checkHolds lets the min_alerts holds of incidents go at once when they
// have ended (the third alert joined), instead of at the releaser's next
// pass. It runs after the notifier heard of the batch's changes, which the
// holds still gated: the release decides what to send (nothing for an
// incident that resolved before anyone heard of it).
func (p *Processor) checkHolds(tx *gorm.DB, ids []int64, now time.Time) error {
	if p.Holds == nil || len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	_, err := p.Holds.Check(tx, now, slices.Compact(ids)...)
	return err
}

// delivered reports whether any target has heard, or is about to hear, of
// incident id: a delivery or a status transition is recorded for it.
func delivered(tx *gorm.DB, id int64) (bool, error) {
	for _, model := range []any{&store.Delivery{}, &store.DeliveryTransition{}} {
		var n int64
		if err := tx.Model(model).Where("incident_id = ?", id).Limit(1).Count(&n).Error; err != nil {
			return false, fmt.Errorf("look for deliveries of incident %d: %w", id, err)
		}
		if n > 0 {
			return true, nil
		}
	}
	return false, nil
}

package delivery

import (
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/store"
)

// Status transitions and the state-based sync.
//
// A sync brings a target to the incident's current state, so a burst of
// changes collapses into a few calls. A status change must not collapse
// that way: an acknowledge followed by a resolve before the sync runs
// would reach the target as one resolve. So each status change (opened,
// acknowledged, resolved, reopened) that a target wants is recorded, with
// the incident as it was right after it, in delivery_transitions, in the
// change's own transaction. The sync delivers the pair's recorded
// transitions oldest first, each diffed from what the target had before
// it, and only then the difference to the current state. Plain updates
// (counts, title, severity) are never recorded: between transitions they
// still collapse.

// transitionEvent is the outbound event of a status change, or "" when
// the change is not one (joins, updates, merges, settling).
func transitionEvent(o correlation.Outcome) string {
	switch o {
	case correlation.Opened:
		return incidenthub.EventOpened
	case correlation.Acknowledged:
		return incidenthub.EventAcknowledged
	case correlation.Resolved:
		return incidenthub.EventResolved
	case correlation.Reopened:
		return incidenthub.EventReopened
	}
	return ""
}

// transitions records ch, when it is a status change that target name
// wants, inside the change's transaction tx.
func (e *Engine) transitions(tx *gorm.DB, ch correlation.Change, inc *store.Incident, name string) error {
	event := transitionEvent(ch.Outcome)
	t, ok := e.target(name)
	if event == "" || !ok || !t.cfg.Wants(event) {
		return nil
	}
	row := store.DeliveryTransition{IncidentID: ch.IncidentID, Target: name, Event: event,
		State: store.JSON[incidenthub.Incident]{V: changeState(inc.Domain(), ch)}, CreatedAt: e.now()}
	if err := tx.Create(&row).Error; err != nil {
		return fmt.Errorf("record %s transition for %s: %w", event, name, err)
	}
	return nil
}

// urgentSync reports whether the pair of sync has a change that should not
// wait for its sleeping job (update interval, backoff): a recorded
// transition, or a difference to the current state that urgent says
// should go at once.
func urgentSync(tx *gorm.DB, sync *store.DeliverySync) (bool, error) {
	var n int64
	if err := tx.Model(&store.DeliveryTransition{}).Where("incident_id = ? AND target = ?", sync.IncidentID, sync.Target).
		Limit(1).Count(&n).Error; err != nil {
		return false, fmt.Errorf("look for transitions: %w", err)
	}
	if n > 0 {
		return true, nil
	}
	cur, err := syncTo(tx, sync)
	if err != nil || cur == nil {
		return false, err
	}
	var prev *incidenthub.Incident
	if sync.SyncedState != nil {
		prev = &sync.SyncedState.V
	}
	return urgent(Diff(prev, *cur)), nil
}

// changeState is the incident right after ch. inc is the incident at the
// end of ch's transaction, which a batch may have changed again after ch
// (a payload that fires and resolves an alert): ch's own status, severity
// and counts win.
func changeState(inc incidenthub.Incident, ch correlation.Change) incidenthub.Incident {
	inc.Status, inc.Severity = ch.Status, ch.Severity
	inc.AlertCount, inc.FiringCount, inc.Flapping = ch.AlertCount, ch.FiringCount, ch.Flapping
	if inc.Status != incidenthub.IncidentResolved {
		inc.ResolvedAt, inc.ResolvedBy = nil, ""
	}
	if inc.Status == incidenthub.IncidentOpen {
		inc.AcknowledgedAt, inc.AcknowledgedBy = nil, ""
	}
	return inc
}

// nextTransition returns the pair's oldest recorded transition as the
// delivery to create, diffed from prev (what the target has), or nil when
// none is left. A transition the target already has (nothing differs) or
// no longer wants (its events: list changed) is dropped; one it no longer
// wants moves prev past it, as skip does.
func (w *worker) nextTransition(db *gorm.DB, a SyncArgs, t *target, sync *store.DeliverySync, prev *incidenthub.Incident) (*store.DeliveryTransition, []string, *incidenthub.Incident, error) {
	for {
		var tr store.DeliveryTransition
		err := db.Where("incident_id = ? AND target = ?", a.IncidentID, a.Target).Order("id").Take(&tr).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, nil, prev, nil
		} else if err != nil {
			return nil, nil, prev, err
		}
		ev, changes := Diff(prev, tr.State.V)
		if ev != "" && t.cfg.Wants(tr.Event) {
			if changes == nil {
				changes = []string{}
			}
			return &tr, changes, prev, nil
		}
		err = db.Transaction(func(tx *gorm.DB) error {
			if ev != "" { // not wanted any more: skipped
				if err := w.skip(tx, sync, tr.State.V); err != nil {
					return err
				}
			}
			return tx.Delete(&store.DeliveryTransition{}, tr.ID).Error
		})
		if err != nil {
			return nil, nil, prev, fmt.Errorf("drop transition %d: %w", tr.ID, err)
		}
		if ev != "" {
			s := tr.State.V
			prev = &s
		}
	}
}

// syncTo is the state a sync brings the pair to: the incident as of its
// last change that notified (the pair's notify_state), or, on a pair
// recorded before notify_state existed, the live incident. nil: the
// incident no longer exists.
func syncTo(db *gorm.DB, sync *store.DeliverySync) (*incidenthub.Incident, error) {
	if sync.NotifyState != nil {
		s := sync.NotifyState.V
		return &s, nil
	}
	var inc store.Incident
	if err := db.Take(&inc, "id = ?", sync.IncidentID).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("load incident %d: %w", sync.IncidentID, err)
	}
	cur := inc.Domain()
	return &cur, nil
}

// Package hold records why an incident's notifications wait, and lets
// them go once the reason ends.
//
// Silences, inhibitions and notification delays decide whether a change
// NOTIFIES; they never stop an alert from being stored and correlated. Each
// reason is a hold on the incident, a row of notification_holds, one per
// (incident, kind, ref):
//
//   - A gating hold (Spec.Gate: notify_after, min_alerts) stops every
//     alert-driven notification of the incident while it lasts:
//     Gated is what the delivery side asks before it enqueues. Changes a
//     person made (an acknowledge from the UI, the API or Slack) are
//     delivered regardless.
//   - A marker hold (a silence, an inhibition) stops nothing by itself: the
//     silenced or inhibited alert's own change already notifies nobody
//     (correlation.Input.Silenced). It marks the incident so that, when the
//     silence or the inhibition ends, what is still firing notifies once.
//
// A Releaser runs on every processing replica. Each pass it claims a batch
// of holds (FOR UPDATE SKIP LOCKED on PostgreSQL), asks each kind's
// Checker which have ended (a hold whose Until has passed has ended,
// whatever its kind), deletes those, and for every incident left with no
// hold at all enqueues one sync of its targets through the Notifier. The
// state-based sync then sends the difference between what each target has
// and the incident now, once; an incident that resolved without ever being
// delivered anywhere sends nothing (a blip never pages).
package hold

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/store"
)

// Kind names why an incident is held.
type Kind string

const (
	// Silence: a runtime silence matched one of its alerts (Ref: the
	// silence id). A marker.
	Silence Kind = "silence"
	// Maintenance: a YAML maintenance window (rules' silences) matched
	// one of its alerts (Ref: the silence name). A marker.
	Maintenance Kind = "maintenance"
	// Inhibit: an inhibition rule held back one of its alerts (Ref: the
	// inhibiting incident id). A marker.
	Inhibit Kind = "inhibit"
	// Delay: notify_after; Until is when the first notification may go.
	// A gate.
	Delay Kind = "delay"
	// MinAlerts: min_alerts; Ref is N, the member alerts needed. A gate,
	// ended by the built-in checker once the incident has N members.
	MinAlerts Kind = "min_alerts"
)

// Timeline entry kinds written by this package.
const (
	TimelineHeld     = "held"
	TimelineReleased = "released"
)

// Spec describes one hold.
type Spec struct {
	Kind Kind
	// Ref tells holds of one kind apart (a silence id, an inhibiting
	// incident id, N for min_alerts).
	Ref string
	// Reason is shown on the timeline: "silence 12 (deploy of checkout)".
	Reason string
	// Until, when set, ends the hold at that time.
	Until *time.Time
	// Gate stops the incident's alert-driven notifications while the hold
	// lasts; false makes the hold a marker only.
	Gate bool
}

// Row is a row of notification_holds.
type Row struct {
	ID         int64 `gorm:"primaryKey"`
	IncidentID int64
	Kind       string
	Ref        string
	Reason     string
	Gate       bool
	Until      *time.Time
	CheckedAt  time.Time
	CreatedAt  time.Time
}

// TableName implements gorm's Tabler.
func (Row) TableName() string { return "notification_holds" }

// Add records, inside tx, that incident id is held for s. It is
// idempotent per (incident, kind, ref): a hold that exists already is left
// as it is (its Until is not moved) and Add returns false. A new hold
// writes a timeline entry naming it (eventID, when set, is the event that
// caused it).
func Add(tx *gorm.DB, incidentID int64, s Spec, eventID string, now time.Time) (bool, error) {
	if s.Kind == "" {
		return false, fmt.Errorf("hold incident %d: no kind", incidentID)
	}
	r := Row{IncidentID: incidentID, Kind: string(s.Kind), Ref: s.Ref, Reason: s.Reason, Gate: s.Gate,
		Until: s.Until, CheckedAt: now, CreatedAt: now}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&r)
	if res.Error != nil {
		return false, fmt.Errorf("hold incident %d (%s): %w", incidentID, s.Kind, res.Error)
	}
	if res.RowsAffected == 0 {
		return false, nil
	}
	details := map[string]any{"hold": string(s.Kind), "ref": s.Ref, "gate": s.Gate}
	if s.Until != nil {
		details["until"] = s.Until.UTC().Format(time.RFC3339Nano)
	}
	err := store.AddTimeline(tx, store.TimelineEntry{IncidentID: incidentID, At: now, Kind: TimelineHeld,
		EventID: eventID, Reason: reasonOr(s), Details: store.JSON[map[string]any]{V: details}})
	return err == nil, err
}

func reasonOr(s Spec) string {
	if s.Reason != "" {
		return s.Reason
	}
	if s.Ref != "" {
		return string(s.Kind) + " " + s.Ref
	}
	return string(s.Kind)
}

// Gated reports whether incident id has a gating hold: its alert-driven
// notifications wait.
func Gated(tx *gorm.DB, incidentID int64) (bool, error) {
	var n int64
	if err := tx.Model(&Row{}).Where("incident_id = ? AND gate", incidentID).Limit(1).Count(&n).Error; err != nil {
		return false, fmt.Errorf("check holds of incident %d: %w", incidentID, err)
	}
	return n > 0, nil
}

// List returns incident id's holds, oldest first.
func List(tx *gorm.DB, incidentID int64) ([]Row, error) {
	var rows []Row
	err := tx.Where("incident_id = ?", incidentID).Order("id").Find(&rows).Error
	return rows, err
}

// Checker reports which of holds (all of its kind) have ended as of now,
// by id. It runs inside the releasing transaction, which has claimed the
// holds. A hold whose Until has passed is ended before any checker is
// asked.
type Checker func(tx *gorm.DB, holds []Row, now time.Time) (ended []int64, err error)

// Releaser lets holds go once their reason ends.
type Releaser struct {
	Store *store.Store
	// Notifier hears one change per released incident, in the releasing
	// transaction; nil drops them.
	Notifier correlation.Notifier
	Log      *slog.Logger
	// Interval between passes; 0 means 1s.
	Interval time.Duration

	mu       sync.RWMutex
	checkers map[Kind]Checker
	warned   map[Kind]bool
}

// NewReleaser returns a releaser with the built-in checkers (Delay: its
// Until; MinAlerts: the incident has N members or is resolved).
func NewReleaser(s *store.Store, n correlation.Notifier, log *slog.Logger) *Releaser {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Releaser{Store: s, Notifier: n, Log: log}
	r.Register(Delay, func(*gorm.DB, []Row, time.Time) ([]int64, error) { return nil, nil })
	r.Register(MinAlerts, minAlerts)
	return r
}

// Register sets the checker for kind k. Holds of a kind with no checker
// end only at their Until.
func (r *Releaser) Register(k Kind, c Checker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.checkers == nil {
		r.checkers = map[Kind]Checker{}
	}
	r.checkers[k] = c
}

func (r *Releaser) checker(k Kind) (Checker, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.checkers[k]
	return c, ok
}

// Run releases holds every Interval until ctx is done.
func (r *Releaser) Run(ctx context.Context) {
	iv := r.Interval
	if iv <= 0 {
		iv = time.Second
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := r.Release(context.WithoutCancel(ctx), time.Now().UTC()); err != nil {
			r.Log.Error("release notification holds", "err", err)
		}
	}
}

// batchSize bounds the holds one releasing transaction claims.
const batchSize = 200

// Release runs passes as of now until every hold has been checked once,
// and returns how many incidents it released.
func (r *Releaser) Release(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		n, released, err := r.pass(ctx, now)
		total += released
		if err != nil || n < batchSize {
			return total, err
		}
	}
}

// pass claims holds not yet checked as of now, oldest check first.
func (r *Releaser) pass(ctx context.Context, now time.Time) (claimed, released int, err error) {
	err = r.Store.Tx(ctx, func(tx *gorm.DB) error {
		var rows []Row
		q := tx.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		if err := q.Where("checked_at < ?", now).Order("checked_at, id").Limit(batchSize).Find(&rows).Error; err != nil {
			return fmt.Errorf("claim holds: %w", err)
		}
		claimed = len(rows)
		if claimed == 0 {
			return nil
		}
		ended, err := r.ended(tx, rows, now)
		if err != nil {
			return err
		}
		var kept, gone []int64
		incs := map[int64]bool{}
		for _, h := range rows {
			if ended[h.ID] {
				gone = append(gone, h.ID)
				incs[h.IncidentID] = true
			} else {
				kept = append(kept, h.ID)
			}
		}
		if len(kept) > 0 {
			if err := tx.Model(&Row{}).Where("id IN ?", kept).Update("checked_at", now).Error; err != nil {
				return fmt.Errorf("mark holds checked: %w", err)
			}
		}
		if len(gone) == 0 {
			return nil
		}
		if err := tx.Where("id IN ?", gone).Delete(&Row{}).Error; err != nil {
			return fmt.Errorf("delete ended holds: %w", err)
		}
		ids := make([]int64, 0, len(incs))
		for id := range incs {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		var reasons = map[int64][]string{}
		for _, h := range rows {
			if ended[h.ID] {
				reasons[h.IncidentID] = append(reasons[h.IncidentID], reasonOr(Spec{Kind: Kind(h.Kind), Ref: h.Ref, Reason: h.Reason}))
			}
		}
		for _, id := range ids {
			ok, err := r.releaseIncident(tx, id, reasons[id], now)
			if err != nil {
				return err
			}
			if ok {
				released++
			}
		}
		return nil
	})
	return claimed, released, err
}

// ended returns the ids of rows that have ended.
func (r *Releaser) ended(tx *gorm.DB, rows []Row, now time.Time) (map[int64]bool, error) {
	out := map[int64]bool{}
	byKind := map[Kind][]Row{}
	for _, h := range rows {
		if h.Until != nil && !h.Until.After(now) {
			out[h.ID] = true
			continue
		}
		byKind[Kind(h.Kind)] = append(byKind[Kind(h.Kind)], h)
	}
	for k, hs := range byKind {
		c, ok := r.checker(k)
		if !ok {
			r.mu.Lock()
			if r.warned == nil {
				r.warned = map[Kind]bool{}
			}
			if !r.warned[k] {
				r.warned[k] = true
				r.Log.Warn("notification holds of a kind this replica cannot check; they end only at their until", "kind", k)
			}
			r.mu.Unlock()
			continue
		}
		ids, err := c(tx, hs, now)
		if err != nil {
			return nil, fmt.Errorf("check %s holds: %w", k, err)
		}
		for _, id := range ids {
			out[id] = true
		}
	}
	return out, nil
}

// Check runs the checkers now, inside tx, for the holds of the given
// incidents (e.g. min_alerts right after an alert joined) and releases
// what ended, as a pass would. It reports how many incidents it released.
func (r *Releaser) Check(tx *gorm.DB, now time.Time, incidentIDs ...int64) (int, error) {
	if len(incidentIDs) == 0 {
		return 0, nil
	}
	var rows []Row
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("incident_id IN ?", incidentIDs).Order("id").Find(&rows).Error; err != nil {
		return 0, fmt.Errorf("load holds: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	ended, err := r.ended(tx, rows, now)
	if err != nil {
		return 0, err
	}
	reasons := map[int64][]string{}
	var gone []int64
	for _, h := range rows {
		if ended[h.ID] {
			gone = append(gone, h.ID)
			reasons[h.IncidentID] = append(reasons[h.IncidentID], reasonOr(Spec{Kind: Kind(h.Kind), Ref: h.Ref, Reason: h.Reason}))
		}
	}
	if len(gone) == 0 {
		return 0, nil
	}
	if err := tx.Where("id IN ?", gone).Delete(&Row{}).Error; err != nil {
		return 0, fmt.Errorf("delete ended holds: %w", err)
	}
	ids := make([]int64, 0, len(reasons))
	for id := range reasons {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	n := 0
	for _, id := range ids {
		ok, err := r.releaseIncident(tx, id, reasons[id], now)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// releaseIncident records the end of an incident's holds and, when none is
// left, enqueues one sync of its targets. It reports whether it did.
func (r *Releaser) releaseIncident(tx *gorm.DB, id int64, reasons []string, now time.Time) (bool, error) {
	var left int64
	if err := tx.Model(&Row{}).Where("incident_id = ?", id).Count(&left).Error; err != nil {
		return false, err
	}
	var inc store.Incident
	if err := tx.Take(&inc, "id = ?", id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("load incident %d: %w", id, err)
	}
	details := map[string]any{"ended": reasons, "holds_left": left}
	notify := left == 0
	if notify && inc.Status == string(incidenthub.IncidentResolved) {
		// Resolved while held: only targets that already heard of it hear
		// of the resolve; a blip nobody was told about stays quiet.
		var n int64
		if err := tx.Model(&store.Delivery{}).Where("incident_id = ?", id).Limit(1).Count(&n).Error; err != nil {
			return false, err
		}
		notify = n > 0
	}
	details["notified"] = notify
	reason := "hold ended: " + strings.Join(reasons, "; ")
	if err := store.AddTimeline(tx, store.TimelineEntry{IncidentID: id, At: now, Kind: TimelineReleased,
		Reason: reason, Details: store.JSON[map[string]any]{V: details}}); err != nil {
		return false, err
	}
	if !notify || r.Notifier == nil {
		return false, nil
	}
	ch := correlation.Change{IncidentID: id, Key: inc.CorrelationKey, Outcome: correlation.Outcome(TimelineReleased),
		Reason: reason, Targets: inc.Targets.V, Notify: true, Status: incidenthub.IncidentStatus(inc.Status),
		Severity: incidenthub.Severity(inc.Severity), AlertCount: inc.AlertCount, FiringCount: inc.FiringCount,
		Flapping: inc.Flapping, At: now}
	if err := r.Notifier.IncidentChanged(tx, ch); err != nil {
		return false, fmt.Errorf("incident %d: notify: %w", id, err)
	}
	return true, nil
}

// minAlerts ends a min_alerts hold once its incident has Ref member
// alerts, or is resolved.
func minAlerts(tx *gorm.DB, holds []Row, _ time.Time) ([]int64, error) {
	ids := make([]int64, 0, len(holds))
	for _, h := range holds {
		ids = append(ids, h.IncidentID)
	}
	var incs []store.Incident
	if err := tx.Select("id", "status", "alert_count").Where("id IN ?", ids).Find(&incs).Error; err != nil {
		return nil, err
	}
	byID := map[int64]store.Incident{}
	for _, inc := range incs {
		byID[inc.ID] = inc
	}
	var ended []int64
	for _, h := range holds {
		inc, ok := byID[h.IncidentID]
		n, err := strconv.Atoi(h.Ref)
		if !ok || err != nil || inc.Status == string(incidenthub.IncidentResolved) || inc.AlertCount >= n {
			ended = append(ended, h.ID)
		}
	}
	return ended, nil
}

package correlation

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
)

// Action is who acts on an incident by hand, when, and why.
type Action struct {
	Actor string
	Note  string
	Now   time.Time
}

func (act *Action) now() time.Time {
	if act.Now.IsZero() {
		act.Now = time.Now().UTC()
	}
	return act.Now
}

func (act Action) entry(incidentID int64, kind, reason string) store.TimelineEntry {
	if act.Note != "" {
		if reason != "" {
			reason += ": "
		}
		reason += act.Note
	}
	return store.TimelineEntry{IncidentID: incidentID, At: act.Now, Kind: kind, Actor: act.Actor, Reason: reason}
}

func (act Action) change(inc *store.Incident, outcome Outcome, reason string) Change {
	ch := Change{Key: inc.CorrelationKey, Outcome: outcome, Reason: reason, Actor: act.Actor, At: act.Now, Notify: true}
	fill(&ch, inc)
	return ch
}

func saveIncident(tx *gorm.DB, inc *store.Incident, now time.Time) error {
	inc.UpdatedAt = now
	if err := tx.Save(inc).Error; err != nil {
		return fmt.Errorf("update incident %d: %w", inc.ID, err)
	}
	return nil
}

// Acknowledge marks an open incident acknowledged: someone is on it.
func Acknowledge(tx *gorm.DB, id int64, act Action) (Change, error) {
	now := act.now()
	inc, err := lockIncident(tx, id)
	if err != nil {
		return Change{}, err
	}
	switch incidenthub.IncidentStatus(inc.Status) {
	case incidenthub.IncidentResolved:
		return Change{}, incidenthub.Errorf(incidenthub.ECONFLICT, "incident %d is resolved; reopen it before acknowledging", id)
	case incidenthub.IncidentAcknowledged:
		return Change{}, incidenthub.Errorf(incidenthub.ECONFLICT, "incident %d is already acknowledged (by %s at %s)", id, inc.AcknowledgedBy, fmtTime(*inc.AcknowledgedAt))
	}
	inc.Status = string(incidenthub.IncidentAcknowledged)
	inc.AcknowledgedAt, inc.AcknowledgedBy = &now, act.Actor
	if err := saveIncident(tx, inc, now); err != nil {
		return Change{}, err
	}
	if err := store.AddTimeline(tx, act.entry(id, incidenthub.TimelineAcknowledged, "")); err != nil {
		return Change{}, err
	}
	return act.change(inc, Acknowledged, ""), nil
}

// Resolve resolves an unresolved incident by hand. Its alerts keep their
// state: a firing alert re-sent by its source stays a duplicate and does
// not reopen it; the alert's next firing after a resolve does.
func Resolve(tx *gorm.DB, id int64, act Action) (Change, error) {
	now := act.now()
	inc, err := lockIncident(tx, id)
	if err != nil {
		return Change{}, err
	}
	if inc.Status == string(incidenthub.IncidentResolved) {
		return Change{}, incidenthub.Errorf(incidenthub.ECONFLICT, "incident %d is already resolved", id)
	}
	inc.Status = string(incidenthub.IncidentResolved)
	inc.ResolvedAt, inc.ResolvedBy = &now, act.Actor
	inc.PendingJoins = 0
	if err := saveIncident(tx, inc, now); err != nil {
		return Change{}, err
	}
	reason := fmt.Sprintf("resolved by %s", act.Actor)
	if err := store.AddTimeline(tx, act.entry(id, incidenthub.TimelineResolved, reason)); err != nil {
		return Change{}, err
	}
	return act.change(inc, Resolved, reason), nil
}

// Reopen reopens a resolved incident by hand (not counted as a flap). It
// fails when another incident is unresolved for the same key: merge them
// instead.
func Reopen(tx *gorm.DB, id int64, act Action) (Change, error) {
	now := act.now()
	var peek store.Incident
	if err := tx.Take(&peek, "id = ?", id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Change{}, incidenthub.Errorf(incidenthub.ENOTFOUND, "incident %d not found", id)
		}
		return Change{}, err
	}
	route, err := lockKey(tx, peek.CorrelationKey)
	if err != nil {
		return Change{}, err
	}
	inc, err := lockIncident(tx, id)
	if err != nil {
		return Change{}, err
	}
	switch {
	case inc.Status != string(incidenthub.IncidentResolved):
		return Change{}, incidenthub.Errorf(incidenthub.ECONFLICT, "incident %d is %s, not resolved", id, inc.Status)
	case inc.MergedInto != nil:
		return Change{}, incidenthub.Errorf(incidenthub.ECONFLICT, "incident %d was merged into incident %d; reopen that one", id, *inc.MergedInto)
	}
	var other store.Incident
	err = tx.Where("correlation_key = ? AND status <> ? AND id <> ?", inc.CorrelationKey, incidenthub.IncidentResolved, id).Take(&other).Error
	switch {
	case err == nil:
		return Change{}, incidenthub.Errorf(incidenthub.ECONFLICT, "incident %d is unresolved for the same key %q; merge into it instead", other.ID, inc.CorrelationKey)
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return Change{}, err
	}
	inc.Status = string(incidenthub.IncidentOpen)
	inc.ResolvedAt, inc.ResolvedBy = nil, ""
	inc.AcknowledgedAt, inc.AcknowledgedBy = nil, ""
	inc.PendingJoins, inc.JoinsNotifiedAt = 0, &now
	if err := saveIncident(tx, inc, now); err != nil {
		return Change{}, err
	}
	if route != id {
		if err := setRoute(tx, inc.CorrelationKey, id); err != nil {
			return Change{}, err
		}
	}
	reason := fmt.Sprintf("reopened by %s", act.Actor)
	if err := store.AddTimeline(tx, act.entry(id, incidenthub.TimelineReopened, reason)); err != nil {
		return Change{}, err
	}
	return act.change(inc, Reopened, reason), nil
}

// Merge merges incident from into incident into: from's alerts move to
// into, from resolves (merged_into set), and from's key routes to into from
// now on, so its alerts join into. Both must be unresolved. It returns the
// change to into, then the change to from.
func Merge(tx *gorm.DB, into, from int64, act Action) ([]Change, error) {
	now := act.now()
	if into == from {
		return nil, incidenthub.Errorf(incidenthub.EINVALID, "cannot merge incident %d into itself", into)
	}
	var peek []store.Incident
	if err := tx.Where("id IN ?", []int64{into, from}).Find(&peek).Error; err != nil {
		return nil, err
	}
	keys := []string{}
	for _, id := range []int64{into, from} {
		i := slices.IndexFunc(peek, func(p store.Incident) bool { return p.ID == id })
		if i < 0 {
			return nil, incidenthub.Errorf(incidenthub.ENOTFOUND, "incident %d not found", id)
		}
		keys = append(keys, peek[i].CorrelationKey)
	}
	// Lock order everywhere: keys (sorted), then incidents (by id).
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if _, err := lockKey(tx, k); err != nil {
			return nil, err
		}
	}
	locked := map[int64]*store.Incident{}
	for _, id := range []int64{min(into, from), max(into, from)} {
		inc, err := lockIncident(tx, id)
		if err != nil {
			return nil, err
		}
		if inc.Status == string(incidenthub.IncidentResolved) {
			return nil, incidenthub.Errorf(incidenthub.ECONFLICT, "incident %d is resolved; only unresolved incidents can be merged (reopen it first)", id)
		}
		locked[id] = inc
	}
	dst, src := locked[into], locked[from]

	// An alert that is a member of both (same source and fingerprint: one
	// incarnation was split out or resolved, the next joined the other
	// incident) stays once: its latest incarnation, the one its events
	// find (latestMember).
	if err := dropOlderIncarnations(tx, into, from); err != nil {
		return nil, err
	}
	if err := tx.Model(&store.IncidentAlert{}).Where("incident_id = ?", from).Update("incident_id", into).Error; err != nil {
		return nil, fmt.Errorf("move alerts: %w", err)
	}
	if err := recount(tx, dst); err != nil {
		return nil, err
	}
	dst.EventCount += src.EventCount
	for _, h := range src.Hosts.V {
		dst.Hosts.V = addHost(dst.Hosts.V, h)
	}
	dst.Targets.V = union(dst.Targets.V, src.Targets.V)
	if incidenthub.Severity(src.Severity).Rank() > incidenthub.Severity(dst.Severity).Rank() {
		dst.Severity = src.Severity
	}
	if src.LastSeenAt.After(dst.LastSeenAt) {
		dst.LastSeenAt = src.LastSeenAt
	}
	dst.PendingJoins = 0
	dst.JoinsNotifiedAt = &now
	if err := saveIncident(tx, dst, now); err != nil {
		return nil, err
	}
	src.Status = string(incidenthub.IncidentResolved)
	src.ResolvedAt, src.ResolvedBy, src.MergedInto = &now, act.Actor, &into
	src.AlertCount, src.FiringCount, src.PendingJoins = 0, 0, 0
	if err := saveIncident(tx, src, now); err != nil {
		return nil, err
	}
	if err := tx.Model(&store.CorrelationKey{}).Where("incident_id = ?", from).Update("incident_id", into).Error; err != nil {
		return nil, fmt.Errorf("route merged keys: %w", err)
	}
	inReason := fmt.Sprintf("incident %d (key %q) merged in by %s", from, src.CorrelationKey, act.Actor)
	outReason := fmt.Sprintf("merged into incident %d by %s", into, act.Actor)
	in, out := act.entry(into, incidenthub.TimelineMerged, inReason), act.entry(from, incidenthub.TimelineMergedInto, outReason)
	in.Details.V = map[string]any{"incident_id": from}
	out.Details.V = map[string]any{"incident_id": into}
	if err := store.AddTimeline(tx, in, out); err != nil {
		return nil, err
	}
	chIn, chOut := act.change(dst, Merged, inReason), act.change(src, Resolved, outReason)
	chIn.Related, chOut.Related = from, into
	return []Change{chIn, chOut}, nil
}

// dropOlderIncarnations deletes, of each alert (source, fingerprint) that is
// a member of both incidents a and b, the older member row (in
// LatestIncarnation order).
func dropOlderIncarnations(tx *gorm.DB, a, b int64) error {
	var older []int64
	err := tx.Raw(`SELECT CASE WHEN x.last_seen_at < y.last_seen_at OR (x.last_seen_at = y.last_seen_at AND x.id < y.id)
			THEN x.id ELSE y.id END
		FROM incident_alerts x JOIN incident_alerts y ON y.source = x.source AND y.fingerprint = x.fingerprint
		WHERE x.incident_id = ? AND y.incident_id = ?`, a, b).Scan(&older).Error
	if err != nil {
		return fmt.Errorf("merge alerts: %w", err)
	}
	for len(older) > 0 {
		n := min(len(older), 500)
		if err := tx.Where("id IN ?", older[:n]).Delete(&store.IncidentAlert{}).Error; err != nil {
			return fmt.Errorf("merge alerts: %w", err)
		}
		older = older[n:]
	}
	return nil
}

// recount sets the alert counts of the locked incident from its members.
func recount(tx *gorm.DB, inc *store.Incident) error {
	var c struct{ Alerts, Firing int }
	err := tx.Model(&store.IncidentAlert{}).Where("incident_id = ?", inc.ID).
		Select("COUNT(*) AS alerts, COALESCE(SUM(CASE WHEN status = ? THEN 1 ELSE 0 END), 0) AS firing", incidenthub.AlertFiring).
		Scan(&c).Error
	if err != nil {
		return fmt.Errorf("count alerts of incident %d: %w", inc.ID, err)
	}
	inc.AlertCount, inc.FiringCount = c.Alerts, c.Firing
	return nil
}

// SplitAlert moves one firing alert (by fingerprint, and source when two
// sources share the fingerprint) out of an unresolved incident into a new
// incident of its own, keyed "<key>#<source>/<fingerprint>"; the alert's
// later events follow it there. It returns the change to the new incident,
// then the change to the old one.
func SplitAlert(tx *gorm.DB, id int64, source, fingerprint string, act Action) ([]Change, error) {
	now := act.now()
	if fingerprint == "" {
		return nil, incidenthub.Errorf(incidenthub.EINVALID, `"fingerprint" is required: the alert to split out`)
	}
	var peek store.Incident
	if err := tx.Take(&peek, "id = ?", id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, incidenthub.Errorf(incidenthub.ENOTFOUND, "incident %d not found", id)
		}
		return nil, err
	}
	q := tx.Where("incident_id = ? AND fingerprint = ?", id, fingerprint)
	if source != "" {
		q = q.Where("source = ?", source)
	}
	var members []store.IncidentAlert
	if err := q.Find(&members).Error; err != nil {
		return nil, err
	}
	switch {
	case len(members) == 0 && source != "":
		return nil, incidenthub.Errorf(incidenthub.ENOTFOUND, "incident %d has no alert with fingerprint %q from source %q", id, fingerprint, source)
	case len(members) == 0:
		return nil, incidenthub.Errorf(incidenthub.ENOTFOUND, "incident %d has no alert with fingerprint %q", id, fingerprint)
	case len(members) > 1:
		return nil, incidenthub.Errorf(incidenthub.EINVALID, "incident %d has alert %q from several sources; give \"source\" too", id, fingerprint)
	}
	m := members[0]
	newKey := StorableKey(fmt.Sprintf("%s#%s/%s", peek.CorrelationKey, m.Source, m.Fingerprint))
	keys := []string{peek.CorrelationKey, newKey}
	slices.Sort(keys)
	for _, k := range keys {
		if _, err := lockKey(tx, k); err != nil {
			return nil, err
		}
	}
	inc, err := lockIncident(tx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case inc.Status == string(incidenthub.IncidentResolved):
		return nil, incidenthub.Errorf(incidenthub.ECONFLICT, "incident %d is resolved; only an unresolved incident's alerts can be split out", id)
	case inc.AlertCount <= 1:
		return nil, incidenthub.Errorf(incidenthub.ECONFLICT, "alert %q is incident %d's only alert; there is nothing to split it from", fingerprint, id)
	case m.Status != string(incidenthub.AlertFiring):
		return nil, incidenthub.Errorf(incidenthub.ECONFLICT, "alert %q has resolved; only a firing alert can be split out", fingerprint)
	}
	al := m.Alert.V
	sev := m.Severity
	if !incidenthub.Severity(sev).Valid() {
		sev = string(incidenthub.SeverityWarning)
	}
	title := m.Title
	if title == "" {
		title = al.Title
	}
	split := store.Incident{
		CorrelationKey: newKey, Status: string(incidenthub.IncidentOpen), Title: title, Service: al.Service,
		AlertType: al.AlertType, Severity: sev, Environment: al.Environment,
		Hosts: store.JSON[[]string]{V: addHost(nil, m.Host)}, Targets: store.JSON[[]string]{V: union(nil, inc.Targets.V)},
		EventCount: m.EventCount, AlertCount: 1, FiringCount: 1, OpenedAt: now, LastSeenAt: m.LastSeenAt,
		CreatedAt: now, UpdatedAt: now, ResolvePolicy: inc.ResolvePolicy,
		FlapTimes: store.JSON[[]time.Time]{V: []time.Time{}}, JoinsNotifiedAt: &now,
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&split)
	if res.Error != nil {
		return nil, fmt.Errorf("open split incident: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, incidenthub.Errorf(incidenthub.ECONFLICT, "an unresolved incident for key %q already exists", newKey)
	}
	if err := tx.Model(&store.IncidentAlert{}).Where("id = ?", m.ID).Update("incident_id", split.ID).Error; err != nil {
		return nil, fmt.Errorf("move alert: %w", err)
	}
	if err := setRoute(tx, newKey, split.ID); err != nil {
		return nil, err
	}
	if err := recount(tx, inc); err != nil {
		return nil, err
	}
	outReason := fmt.Sprintf("alert %s split out into incident %d by %s", alertName(m.Source, m.Fingerprint), split.ID, act.Actor)
	entries := []store.TimelineEntry{act.entry(id, incidenthub.TimelineSplit, outReason)}
	chOld := act.change(inc, Split, outReason)
	if inc.FiringCount <= 0 && inc.ResolvePolicy != ResolveManual {
		inc.Status = string(incidenthub.IncidentResolved)
		inc.ResolvedAt, inc.ResolvedBy, inc.PendingJoins = &now, act.Actor, 0
		reason := "every remaining alert has resolved"
		entries = append(entries, act.entry(id, incidenthub.TimelineResolved, reason))
		chOld = act.change(inc, Resolved, reason)
	}
	if err := saveIncident(tx, inc, now); err != nil {
		return nil, err
	}
	inReason := fmt.Sprintf("split out of incident %d by %s", id, act.Actor)
	e := act.entry(split.ID, incidenthub.TimelineSplitFrom, inReason)
	e.Source, e.Fingerprint, e.Status = m.Source, m.Fingerprint, m.Status
	entries = append(entries, e)
	for i := range entries[:len(entries)-1] {
		entries[i].Source, entries[i].Fingerprint = m.Source, m.Fingerprint
		entries[i].Details.V = map[string]any{"incident_id": split.ID}
	}
	entries[len(entries)-1].Details.V = map[string]any{"incident_id": id}
	if err := store.AddTimeline(tx, entries...); err != nil {
		return nil, err
	}
	fill(&chOld, inc)
	chNew := act.change(&split, Opened, inReason)
	chNew.Related, chOld.Related = id, split.ID
	chNew.Fingerprint, chOld.Fingerprint = fingerprint, fingerprint
	return []Change{chNew, chOld}, nil
}

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

// Outcome is what a change did to its incident.
type Outcome string

const (
	Opened         Outcome = "opened"          // a new incident
	Joined         Outcome = "joined"          // a new member alert joined an unresolved incident
	SeverityRaised Outcome = "severity_raised" // a firing alert raised the incident's severity
	Updated        Outcome = "updated"         // a member changed state; the incident's state did not
	Duplicate      Outcome = "duplicate"       // the same alert in the same state: counts bumped only
	Acknowledged   Outcome = "acknowledged"    // a person acknowledged it
	Resolved       Outcome = "resolved"        // its alerts, a person, auto-resolve or a merge resolved it
	Reopened       Outcome = "reopened"        // fired again within the reopen window (a flap), or reopened by a person
	Ignored        Outcome = "ignored"         // a stale or orphaned event; nothing changed
	Merged         Outcome = "merged"          // another incident was merged into this one
	Split          Outcome = "split"           // an alert was split out of this incident
	Settled        Outcome = "settled"         // it stopped flapping: downstream hears the current state
)

// Input is one alert to correlate, with what routing decided about it.
type Input struct {
	Alert incidenthub.Alert
	// Key overrides the correlation key; "" means Key(Alert).
	Key string
	// Resolve is the resolve policy of the rule that routed the alert:
	// "all", "any" or "manual"; "" means the Policy's. It is fixed when the
	// alert opens an incident.
	Resolve string
	// Targets are the outbound targets routing chose; they are added to the
	// incident's targets.
	Targets []string
	// Silenced alerts correlate and are recorded but notify nobody.
	Silenced bool
	EventID  string
	Now      time.Time
	// Policy tunes reopening, flapping and notification throttling; nil
	// means DefaultPolicy().
	Policy *Policy
}

// Change reports the effect of one alert or action on its incident.
type Change struct {
	IncidentID int64
	Key        string
	Outcome    Outcome
	Reason     string
	// Targets are the incident's outbound targets after the change.
	Targets []string
	// Notify is true when downstream targets should hear about the change:
	// one notification per meaningful change (opened, severity raised,
	// acknowledged, resolved, reopened, merged, split, settled, and at most
	// one joins summary per JoinNotifyInterval), never for duplicates,
	// ignored events, silenced alerts or a flapping incident's reopens and
	// resolves.
	Notify bool

	// The incident after the change.
	Status      incidenthub.IncidentStatus
	Severity    incidenthub.Severity
	AlertCount  int
	FiringCount int
	Flapping    bool
	// Joined is how many alerts joined since the last notification: the
	// "N more alerts joined" this notification reports.
	Joined int
	// Actor is who made a manual change ("" for alerts, "auto-resolve" for
	// the inactivity sweep).
	Actor string
	// EventID and Fingerprint identify the alert behind the change.
	EventID     string
	Fingerprint string
	// Alert is the alert as correlated: a resolve that carried no start
	// time has the start of the firing it resolves (StartsAtFiring).
	Alert incidenthub.Alert
	// Related is the other incident of a merge or split.
	Related int64
	At      time.Time
}

// Notifier is told about every change worth notifying, inside the same
// transaction as the change, so outbound work commits with it or not at
// all. The delivery side implements it.
type Notifier interface {
	IncidentChanged(tx *gorm.DB, ch Change) error
}

// Apply correlates one alert inside tx, which must be the transaction that
// also marks its event processed, so an event's effect commits exactly once.
// It is ApplyBatch with one input.
func Apply(tx *gorm.DB, in Input) (Change, error) {
	chs, err := ApplyBatch(tx, []Input{in})
	if len(chs) == 0 {
		return Change{Key: in.Key}, err
	}
	return chs[0], err
}

// ApplyBatch correlates the alerts of one event, in order, inside tx, and
// returns one Change per input. Sorting the inputs by key is not needed:
// every key is locked up front, in key order, so two batches cannot
// deadlock on each other.
//
// Concurrency: every alert first locks its key's row in correlation_keys
// (an upsert), so all decisions for one key (open, join, reopen) are
// serialised, across workers and replicas. The incident row is locked
// after the key (manual actions and the sweep lock incidents only), and a
// partial unique index still allows one unresolved incident per key.
// Within a batch, locked keys and incidents are cached and each incident
// is written once, so a payload of many alerts costs about one statement
// per alert.
func ApplyBatch(tx *gorm.DB, ins []Input) ([]Change, error) {
	b := &batch{tx: tx, routes: map[string]int64{}, incs: map[int64]*store.Incident{}, dirty: map[int64]bool{},
		orphans: map[[2]string]*store.OrphanResolve{}}
	ins = slices.Clone(ins)
	keys := make([]string, 0, len(ins))
	for i := range ins {
		if ins[i].Key == "" {
			ins[i].Key = Key(ins[i].Alert)
		}
		ins[i].Key = StorableKey(ins[i].Key)
		if !ValidResolve(ins[i].Resolve) {
			return nil, fmt.Errorf("correlate %q: unknown resolve policy %q (want all, any or manual)", ins[i].Key, ins[i].Resolve)
		}
		keys = append(keys, ins[i].Key)
	}
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if _, err := b.lockKey(k); err != nil {
			return nil, fmt.Errorf("correlate %q: %w", k, err)
		}
	}
	if err := b.loadOrphans(ins); err != nil {
		return nil, err
	}
	out := make([]Change, 0, len(ins))
	for _, in := range ins {
		pol := DefaultPolicy()
		if in.Policy != nil {
			pol = *in.Policy
		}
		if in.Now.IsZero() {
			in.Now = time.Now().UTC()
		}
		resolve, err := pol.resolveFor(in.Resolve)
		if err != nil {
			return out, fmt.Errorf("correlate %q: %w", in.Key, err)
		}
		a := &applier{batch: b, tx: tx, in: in, pol: pol, resolve: resolve}
		a.ch = Change{Key: in.Key, EventID: in.EventID, Fingerprint: in.Alert.Fingerprint, At: in.Now}
		if err := a.apply(); err != nil {
			return out, fmt.Errorf("correlate %q: %w", in.Key, err)
		}
		if in.Silenced {
			a.ch.Notify = false
		}
		a.ch.Alert = a.in.Alert
		out = append(out, a.ch)
	}
	return out, b.flush()
}

// batch is the state of one ApplyBatch: the keys and incidents it has
// locked (so their cached state is authoritative until commit), the
// incidents it changed, and the timeline entries to add.
type batch struct {
	tx       *gorm.DB
	routes   map[string]int64
	incs     map[int64]*store.Incident
	dirty    map[int64]bool
	orphans  map[[2]string]*store.OrphanResolve
	timeline []store.TimelineEntry
}

func (b *batch) lockKey(key string) (int64, error) {
	if r, ok := b.routes[key]; ok {
		return r, nil
	}
	r, err := lockKey(b.tx, key)
	if err != nil {
		return 0, err
	}
	b.routes[key] = r
	return r, nil
}

func (b *batch) setRoute(key string, id int64) error {
	b.routes[key] = id
	return setRoute(b.tx, key, id)
}

func (b *batch) lockIncident(id int64) (*store.Incident, error) {
	if inc, ok := b.incs[id]; ok {
		return inc, nil
	}
	inc, err := lockIncident(b.tx, id)
	if err != nil {
		return nil, err
	}
	b.incs[id] = inc
	return inc, nil
}

// loadOrphans reads the remembered resolves for the batch's firing alerts.
// They are written under their key's lock, which the batch holds.
func (b *batch) loadOrphans(ins []Input) error {
	var fps []string
	for _, in := range ins {
		if in.Alert.Status == incidenthub.AlertFiring {
			fps = append(fps, in.Alert.Fingerprint)
		}
	}
	slices.Sort(fps)
	fps = slices.Compact(fps)
	for len(fps) > 0 {
		n := min(len(fps), 500)
		var rows []store.OrphanResolve
		if err := b.tx.Where("fingerprint IN ?", fps[:n]).Find(&rows).Error; err != nil {
			return fmt.Errorf("find earlier resolves: %w", err)
		}
		for i := range rows {
			b.orphans[[2]string{rows[i].Source, rows[i].Fingerprint}] = &rows[i]
		}
		fps = fps[n:]
	}
	return nil
}

// flush writes every changed incident once, then the timeline.
func (b *batch) flush() error {
	ids := make([]int64, 0, len(b.dirty))
	for id := range b.dirty {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := b.tx.Save(b.incs[id]).Error; err != nil {
			return fmt.Errorf("update incident %d: %w", id, err)
		}
	}
	return store.AddTimeline(b.tx, b.timeline...)
}

type applier struct {
	*batch
	tx      *gorm.DB
	in      Input
	pol     Policy
	resolve string
	ch      Change
}

func (a *applier) apply() error {
	al := a.in.Alert
	route, err := a.lockKey(a.in.Key)
	if err != nil {
		return err
	}
	m, err := latestMember(a.tx, al.Source, al.Fingerprint)
	if err != nil {
		return err
	}
	if m != nil {
		inc, err := a.lockIncident(m.IncidentID)
		if err != nil {
			return err
		}
		if inc.Status != string(incidenthub.IncidentResolved) || al.Status == incidenthub.AlertResolved ||
			stale(al, m) || m.Status == string(incidenthub.AlertFiring) {
			// The alert belongs to this incident: its own unresolved
			// incident (even if merged or split away from its key), or a
			// resolved one that a stale event, a duplicate or a late resolve
			// cannot reopen.
			return a.member(inc, m)
		}
		// A resolved alert of a resolved incident fired again: the key
		// decides where it goes (reopen or a new incident).
	}
	if al.Status == incidenthub.AlertResolved {
		return a.orphanResolve(route)
	}
	if m == nil {
		if ignored, err := a.staleAfterOrphanResolve(route); ignored || err != nil {
			return err
		}
	}
	if route != 0 {
		inc, err := a.lockIncident(route)
		if err != nil {
			return err
		}
		switch {
		case inc.Status != string(incidenthub.IncidentResolved):
			return a.join(inc)
		case inc.CorrelationKey == a.in.Key && inc.MergedInto == nil && inc.ResolvedAt != nil &&
			a.pol.ReopenWindow > 0 && a.in.Now.Sub(*inc.ResolvedAt) < a.pol.ReopenWindow:
			var prev *store.IncidentAlert
			if m != nil && m.IncidentID == inc.ID {
				prev = m
			}
			return a.reopen(inc, prev)
		}
	}
	return a.open()
}

// lockKey locks key's row in correlation_keys, creating it, and returns
// the incident the key routes to (0 for none yet).
func lockKey(tx *gorm.DB, key string) (int64, error) {
	var route int64
	err := tx.Raw(`INSERT INTO correlation_keys (correlation_key, incident_id) VALUES (?, 0)
		ON CONFLICT (correlation_key) DO UPDATE SET incident_id = correlation_keys.incident_id
		RETURNING incident_id`, key).Scan(&route).Error
	if err != nil {
		return 0, fmt.Errorf("lock key: %w", err)
	}
	return route, nil
}

func setRoute(tx *gorm.DB, key string, incidentID int64) error {
	err := tx.Model(&store.CorrelationKey{}).Where("correlation_key = ?", key).Update("incident_id", incidentID).Error
	if err != nil {
		return fmt.Errorf("route key to incident %d: %w", incidentID, err)
	}
	return nil
}

// alertName names a member alert in messages: its fingerprint and source,
// which together identify it (the same fingerprint may come from two
// sources of one kind).
func alertName(source, fingerprint string) string { return fingerprint + " from " + source }

// LatestIncarnation orders an alert's member rows (one per incident it was
// ever in) latest first: the one that took its latest event (last_seen_at),
// then the newest row. Index incident_alerts_latest serves it.
const LatestIncarnation = "last_seen_at DESC, id DESC"

// latestMember returns the alert's latest incarnation, in whichever
// incident. A member is identified by (source, fingerprint), as the unique
// index incident_alerts_member is.
func latestMember(tx *gorm.DB, source, fingerprint string) (*store.IncidentAlert, error) {
	var m store.IncidentAlert
	err := tx.Where("source = ? AND fingerprint = ?", source, fingerprint).Order(LatestIncarnation).Limit(1).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find alert %s: %w", fingerprint, err)
	}
	return &m, nil
}

func lockIncident(tx *gorm.DB, id int64) (*store.Incident, error) {
	var inc store.Incident
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&inc, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, incidenthub.Errorf(incidenthub.ENOTFOUND, "incident %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("lock incident %d: %w", id, err)
	}
	return &inc, nil
}

// stale reports whether the alert's source time is older than the last
// state change the hub accepted for it. Times compare at the microsecond,
// the precision PostgreSQL stores.
func stale(al incidenthub.Alert, m *store.IncidentAlert) bool {
	return al.EventTime().Truncate(time.Microsecond).Before(m.LastEventAt.Truncate(time.Microsecond))
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (a *applier) entry(incidentID int64, kind, reason string) store.TimelineEntry {
	al := a.in.Alert
	return store.TimelineEntry{
		IncidentID: incidentID, At: a.in.Now, Kind: kind, EventID: a.in.EventID,
		Source: al.Source, Fingerprint: al.Fingerprint, Status: string(al.Status), Reason: reason,
	}
}

func (a *applier) record(incidentID int64, kind, reason string) {
	a.batch.timeline = append(a.batch.timeline, a.entry(incidentID, kind, reason))
}

func (a *applier) ignore(inc *store.Incident, reason string) {
	a.ch.Outcome, a.ch.Reason = Ignored, reason
	if inc != nil {
		a.ch.IncidentID = inc.ID
		fill(&a.ch, inc)
		a.record(inc.ID, incidenthub.TimelineIgnored, reason)
	}
}

// fill copies the incident's state after the change into ch.
func fill(ch *Change, inc *store.Incident) {
	ch.IncidentID = inc.ID
	ch.Status = incidenthub.IncidentStatus(inc.Status)
	ch.Severity = incidenthub.Severity(inc.Severity)
	ch.AlertCount, ch.FiringCount = inc.AlertCount, inc.FiringCount
	ch.Flapping = inc.Flapping
	ch.Targets = inc.Targets.V
	if ch.Targets == nil {
		ch.Targets = []string{}
	}
}

// orphanResolve handles a resolve for an alert with no member anywhere: it
// is remembered (so its late firing is recognised as stale) and ignored.
func (a *applier) orphanResolve(route int64) error {
	al := a.in.Alert
	ended := al.EventTime()
	ok := [2]string{al.Source, al.Fingerprint}
	if o := a.orphans[ok]; o == nil || ended.After(o.EndedAt) {
		a.orphans[ok] = &store.OrphanResolve{Source: al.Source, Fingerprint: al.Fingerprint, EndedAt: ended, EventID: a.in.EventID, ReceivedAt: a.in.Now}
	}
	err := a.tx.Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "source"}, {Name: "fingerprint"}},
		DoUpdates: clause.Set{
			{Column: clause.Column{Name: "ended_at"}, Value: gorm.Expr("CASE WHEN excluded.ended_at > orphan_resolves.ended_at THEN excluded.ended_at ELSE orphan_resolves.ended_at END")},
			{Column: clause.Column{Name: "received_at"}, Value: gorm.Expr("excluded.received_at")},
		},
	}).Create(&store.OrphanResolve{
		Source: al.Source, Fingerprint: al.Fingerprint, EndedAt: ended, EventID: a.in.EventID, ReceivedAt: a.in.Now,
	}).Error
	if err != nil {
		return fmt.Errorf("remember resolve: %w", err)
	}
	inc, err := a.unresolvedRoute(route)
	if err != nil {
		return err
	}
	a.ignore(inc, fmt.Sprintf("resolve for alert %s from %s, which has not fired (yet): remembered, so a firing older than %s will be ignored",
		al.Fingerprint, al.Source, fmtTime(ended)))
	return nil
}

// unresolvedRoute returns the key's incident when it is unresolved (for
// recording an ignored event on it), without locking it.
func (a *applier) unresolvedRoute(route int64) (*store.Incident, error) {
	if route == 0 {
		return nil, nil
	}
	if inc, ok := a.incs[route]; ok {
		if inc.Status == string(incidenthub.IncidentResolved) {
			return nil, nil
		}
		return inc, nil
	}
	var inc store.Incident
	err := a.tx.Where("id = ? AND status <> ?", route, incidenthub.IncidentResolved).Take(&inc).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find incident %d: %w", route, err)
	}
	return &inc, nil
}

// staleAfterOrphanResolve ignores a first firing that is older than a
// resolve for the same alert received before it.
func (a *applier) staleAfterOrphanResolve(route int64) (bool, error) {
	al := a.in.Alert
	ok := [2]string{al.Source, al.Fingerprint}
	o := a.orphans[ok]
	if o == nil {
		return false, nil
	}
	delete(a.orphans, ok)
	if err := a.tx.Where("source = ? AND fingerprint = ?", o.Source, o.Fingerprint).Delete(&store.OrphanResolve{}).Error; err != nil {
		return false, fmt.Errorf("forget earlier resolve: %w", err)
	}
	if al.EventTime().Truncate(time.Microsecond).After(o.EndedAt.Truncate(time.Microsecond)) {
		return false, nil // a new firing after that resolve
	}
	inc, err := a.unresolvedRoute(route)
	if err != nil {
		return false, err
	}
	a.ignore(inc, fmt.Sprintf("stale firing: source time %s is not after the resolve for this alert received earlier (%s, event %s)",
		fmtTime(al.EventTime()), fmtTime(o.EndedAt), o.EventID))
	return true, nil
}

// keepStart gives a resolve whose payload carried no start time the start
// of the alert's firing as the member row m recorded it, so the resolved
// alert says when the condition began rather than when the hub heard of
// its end. Its event time is unchanged (see Alert.EventTime).
func (a *applier) keepStart(m *store.IncidentAlert) {
	al := &a.in.Alert
	prev := m.Alert.V
	if al.Status != incidenthub.AlertResolved || al.StartsAtFrom == "" || prev.StartsAt.IsZero() {
		return
	}
	al.StartsAt, al.StartsAtFrom = prev.StartsAt, incidenthub.StartsAtFiring
}

// member applies the alert to its existing member row m of incident inc.
func (a *applier) member(inc *store.Incident, m *store.IncidentAlert) error {
	a.keepStart(m)
	al, now := a.in.Alert, a.in.Now
	fill(&a.ch, inc)
	if stale(al, m) {
		verb := "resolve"
		what := "does not resolve it"
		if al.Status == incidenthub.AlertFiring {
			verb, what = "firing", "does not reopen it"
		}
		a.ignore(inc, fmt.Sprintf("stale %s: source time %s is before the alert's last change at %s (%s); it %s",
			verb, fmtTime(al.EventTime()), fmtTime(m.LastEventAt), m.Status, what))
		return nil
	}
	last := m.LastEventAt
	if t := al.EventTime(); t.After(last) {
		last = t
	}
	mu := map[string]any{
		"event_count":   gorm.Expr("event_count + 1"),
		"last_seen_at":  now,
		"last_event_at": last,
	}
	inc.EventCount++
	inc.LastSeenAt = now
	unresolved := inc.Status != string(incidenthub.IncidentResolved)
	a.ch.Outcome = Duplicate
	switch {
	case string(al.Status) == m.Status:
		// Re-sent: bump counts. A firing alert may still raise severity.
		if al.Status == incidenthub.AlertFiring && al.Severity.Rank() > incidenthub.Severity(m.Severity).Rank() {
			mu["severity"] = string(al.Severity)
			a.ch.Outcome = Updated
			if unresolved && a.raiseSeverity(inc) {
				a.ch.Outcome = SeverityRaised
			}
		}
	case al.Status == incidenthub.AlertResolved:
		mu["status"], mu["last_event_id"] = string(al.Status), a.in.EventID
		mu["alert"] = store.JSON[incidenthub.Alert]{V: al}
		inc.FiringCount--
		a.record(inc.ID, incidenthub.TimelineAlertResolved, "")
		a.ch.Outcome = Updated
		if unresolved && (inc.ResolvePolicy == ResolveAny || (inc.ResolvePolicy != ResolveManual && inc.FiringCount <= 0)) {
			reason := "every alert resolved"
			if inc.ResolvePolicy == ResolveAny {
				reason = fmt.Sprintf("alert %s resolved (resolve: any)", alertName(al.Source, al.Fingerprint))
			}
			a.resolveIncident(inc, reason)
		}
	default: // resolved → firing in an unresolved incident
		mu["status"], mu["last_event_id"] = string(al.Status), a.in.EventID
		mu["severity"], mu["alert"] = string(al.Severity), store.JSON[incidenthub.Alert]{V: al}
		inc.FiringCount++
		a.record(inc.ID, incidenthub.TimelineAlertFiring, "")
		a.ch.Outcome = Updated
		if a.raiseSeverity(inc) {
			a.ch.Outcome = SeverityRaised
		}
	}
	if err := a.tx.Model(&store.IncidentAlert{}).Where("id = ?", m.ID).Updates(mu).Error; err != nil {
		return fmt.Errorf("update alert in incident %d: %w", inc.ID, err)
	}
	a.addTargets(inc)
	if a.ch.Outcome == SeverityRaised {
		a.notifyWithJoins(inc)
	}
	fill(&a.ch, inc)
	return a.save(inc)
}

// raiseSeverity raises inc's severity to the alert's when it is higher and
// records it; it reports whether it did.
func (a *applier) raiseSeverity(inc *store.Incident) bool {
	al := a.in.Alert
	if al.Status != incidenthub.AlertFiring || al.Severity.Rank() <= incidenthub.Severity(inc.Severity).Rank() {
		return false
	}
	a.record(inc.ID, incidenthub.TimelineSeverityRaised, fmt.Sprintf("%s → %s by alert %s", inc.Severity, al.Severity, alertName(al.Source, al.Fingerprint)))
	inc.Severity = string(al.Severity)
	return true
}

func (a *applier) addTargets(inc *store.Incident) {
	if t := union(inc.Targets.V, a.in.Targets); len(t) != len(inc.Targets.V) {
		inc.Targets.V = t
	}
}

// notifyWithJoins marks the change for notification, reporting (and
// resetting) the alerts that joined since the last one.
func (a *applier) notifyWithJoins(inc *store.Incident) {
	a.ch.Notify = true
	if !a.in.Silenced {
		a.ch.Joined = inc.PendingJoins
		inc.PendingJoins = 0
		now := a.in.Now
		inc.JoinsNotifiedAt = &now
	}
}

// resolveIncident resolves the locked incident; notification is held back
// while it flaps.
func (a *applier) resolveIncident(inc *store.Incident, reason string) {
	now := a.in.Now
	inc.Status = string(incidenthub.IncidentResolved)
	inc.ResolvedAt = &now
	inc.ResolvedBy = ""
	inc.PendingJoins = 0
	a.ch.Outcome, a.ch.Reason = Resolved, reason
	a.record(inc.ID, incidenthub.TimelineResolved, reason)
	if inc.Flapping {
		inc.HeldBack++
		return
	}
	a.ch.Notify = true
}

// join adds the alert as a new member of the unresolved incident inc.
func (a *applier) join(inc *store.Incident) error {
	al, now := a.in.Alert, a.in.Now
	prev, err := a.addMember(inc)
	if err != nil {
		return err
	}
	if prev != nil {
		return a.member(inc, prev)
	}
	inc.AlertCount++
	inc.FiringCount++
	inc.EventCount++
	inc.LastSeenAt = now
	inc.Hosts.V = addHost(inc.Hosts.V, al.Host)
	a.addTargets(inc)
	a.record(inc.ID, incidenthub.TimelineAlertJoined, "")
	a.ch.Outcome = Joined
	switch {
	case a.raiseSeverity(inc):
		a.ch.Outcome = SeverityRaised
		inc.PendingJoins++
		a.notifyWithJoins(inc)
	case a.in.Silenced:
	case inc.JoinsNotifiedAt == nil || now.Sub(*inc.JoinsNotifiedAt) >= a.pol.JoinNotifyInterval:
		inc.PendingJoins++
		a.notifyWithJoins(inc)
		a.record(inc.ID, incidenthub.TimelineJoinsNotified, fmt.Sprintf("%d more alerts joined", a.ch.Joined))
	default:
		inc.PendingJoins++ // reported by the next notification or the sweep
	}
	fill(&a.ch, inc)
	return a.save(inc)
}

// addMember adds the alert as a new member of inc. When inc already has a
// member for the alert's (source, fingerprint) that is not its latest
// incarnation — inc was reopened by hand after a later incident of the
// alert resolved — nothing is added and that member is returned, to take
// the event. The insert tells (ON CONFLICT DO NOTHING), so the common case
// costs no lookup.
func (a *applier) addMember(inc *store.Incident) (*store.IncidentAlert, error) {
	al := a.in.Alert
	m := newMember(inc.ID, al, a.in.EventID, a.in.Now)
	res := a.tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&m)
	if res.Error != nil {
		return nil, fmt.Errorf("add alert to incident %d: %w", inc.ID, res.Error)
	}
	if res.RowsAffected == 1 {
		return nil, nil
	}
	var prev store.IncidentAlert
	err := a.tx.Where("incident_id = ? AND source = ? AND fingerprint = ?", inc.ID, al.Source, al.Fingerprint).Take(&prev).Error
	if err != nil {
		return nil, fmt.Errorf("find alert %s in incident %d: %w", alertName(al.Source, al.Fingerprint), inc.ID, err)
	}
	return &prev, nil
}

// reopen reopens the resolved incident inc for the firing alert; prev is
// the alert's member row in inc, if it has one. A reopen is a flap.
func (a *applier) reopen(inc *store.Incident, prev *store.IncidentAlert) error {
	al, now := a.in.Alert, a.in.Now
	if prev == nil {
		var err error
		if prev, err = a.addMember(inc); err != nil {
			return err
		}
		if prev == nil {
			inc.AlertCount++
			inc.Hosts.V = addHost(inc.Hosts.V, al.Host)
		}
	}
	if prev != nil {
		err := a.tx.Model(&store.IncidentAlert{}).Where("id = ?", prev.ID).Updates(map[string]any{
			"status": string(al.Status), "severity": string(al.Severity), "title": al.Title, "host": al.Host,
			"event_count": gorm.Expr("event_count + 1"), "last_seen_at": now, "last_event_at": al.EventTime(),
			"last_event_id": a.in.EventID, "alert": store.JSON[incidenthub.Alert]{V: al},
		}).Error
		if err != nil {
			return fmt.Errorf("update alert in incident %d: %w", inc.ID, err)
		}
	}
	resolvedAt := *inc.ResolvedAt
	if prev == nil || prev.Status != string(incidenthub.AlertFiring) {
		inc.FiringCount++
	}
	inc.EventCount++
	inc.LastSeenAt = now
	inc.Status = string(incidenthub.IncidentOpen)
	inc.ResolvedAt, inc.ResolvedBy = nil, ""
	inc.AcknowledgedAt, inc.AcknowledgedBy = nil, ""
	inc.PendingJoins, inc.JoinsNotifiedAt = 0, &now
	a.addTargets(inc)
	a.raiseSeverity(inc)

	// Flap accounting: reopens within the flap window.
	inc.FlapCount++
	inc.LastFlapAt = &now
	recent := []time.Time{}
	for _, t := range inc.FlapTimes.V {
		if now.Sub(t) < a.pol.FlapWindow {
			recent = append(recent, t)
		}
	}
	inc.FlapTimes.V = append(recent, now)
	wasFlapping := inc.Flapping
	inc.Flapping = len(inc.FlapTimes.V) > a.pol.FlapThreshold
	reason := fmt.Sprintf("alert %s fired again %s after the incident resolved (flap %d)",
		alertName(al.Source, al.Fingerprint), now.Sub(resolvedAt).Round(time.Second), inc.FlapCount)
	a.record(inc.ID, incidenthub.TimelineReopened, reason)
	a.ch.Outcome, a.ch.Reason = Reopened, reason
	switch {
	case inc.Flapping && !wasFlapping:
		a.record(inc.ID, incidenthub.TimelineFlapping, fmt.Sprintf("reopened %d times within %s (more than %d): reopen and resolve notifications are held back until it has not flapped for %s",
			len(inc.FlapTimes.V), a.pol.FlapWindow, a.pol.FlapThreshold, a.pol.FlapWindow))
		inc.HeldBack++
	case inc.Flapping:
		inc.HeldBack++
	default:
		if wasFlapping {
			a.record(inc.ID, incidenthub.TimelineSettled, "no flap within the flap window")
			inc.HeldBack = 0
		}
		a.ch.Notify = true
	}
	fill(&a.ch, inc)
	return a.save(inc)
}

// open opens a new incident for the alert's key and routes the key to it.
func (a *applier) open() error {
	al, now := a.in.Alert, a.in.Now
	inc := store.Incident{
		CorrelationKey:  a.in.Key,
		Status:          string(incidenthub.IncidentOpen),
		Title:           al.Title,
		Service:         al.Service,
		AlertType:       al.AlertType,
		Severity:        string(al.Severity),
		Environment:     al.Environment,
		Hosts:           store.JSON[[]string]{V: addHost(nil, al.Host)},
		Targets:         store.JSON[[]string]{V: union(nil, a.in.Targets)},
		EventCount:      1,
		AlertCount:      1,
		FiringCount:     1,
		OpenedAt:        now,
		LastSeenAt:      now,
		CreatedAt:       now,
		UpdatedAt:       now,
		ResolvePolicy:   a.resolve,
		FlapTimes:       store.JSON[[]time.Time]{V: []time.Time{}},
		JoinsNotifiedAt: &now,
	}
	if !incidenthub.Severity(inc.Severity).Valid() {
		inc.Severity = string(incidenthub.SeverityWarning)
	}
	res := a.tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&inc)
	if res.Error != nil {
		return fmt.Errorf("open incident: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		// The key lock makes this unreachable unless an incident for the key
		// is unresolved without the key routing to it (a bug).
		return fmt.Errorf("open incident: an unresolved incident for the key exists but the key does not route to it")
	}
	m := newMember(inc.ID, al, a.in.EventID, now)
	if err := a.tx.Create(&m).Error; err != nil {
		return fmt.Errorf("add alert to incident %d: %w", inc.ID, err)
	}
	a.incs[inc.ID] = &inc
	if err := a.setRoute(a.in.Key, inc.ID); err != nil {
		return err
	}
	a.record(inc.ID, incidenthub.TimelineOpened, "")
	a.ch.Outcome, a.ch.Notify = Opened, true
	fill(&a.ch, &inc)
	return nil
}

// save marks the locked incident changed; flush writes it.
func (a *applier) save(inc *store.Incident) error {
	inc.UpdatedAt = a.in.Now
	a.dirty[inc.ID] = true
	return nil
}

func newMember(incidentID int64, a incidenthub.Alert, eventID string, now time.Time) store.IncidentAlert {
	return store.IncidentAlert{
		IncidentID:  incidentID,
		Fingerprint: a.Fingerprint,
		Source:      a.Source,
		Status:      string(a.Status),
		Severity:    string(a.Severity),
		Title:       a.Title,
		Host:        a.Host,
		EventCount:  1,
		FirstSeenAt: now,
		LastSeenAt:  now,
		LastEventAt: a.EventTime(),
		LastEventID: eventID,
		Alert:       store.JSON[incidenthub.Alert]{V: a},
	}
}

// maxHosts caps the hosts list an incident keeps, so a storm across a fleet
// does not grow one row without bound.
const maxHosts = 100

func addHost(hosts []string, h string) []string {
	if h == "" || slices.Contains(hosts, h) || len(hosts) >= maxHosts {
		if hosts == nil {
			return []string{}
		}
		return hosts
	}
	return append(hosts, h)
}

// union returns a with the elements of b it lacks appended, never nil.
func union(a, b []string) []string {
	out := append(make([]string, 0, len(a)+len(b)), a...)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

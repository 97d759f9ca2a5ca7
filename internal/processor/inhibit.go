package processor

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/hold"
	"github.com/incidenthub/incidenthub/internal/store"
)

// Inhibit is an alert's part in one inhibit rule (the rules engine decides
// it; the processor finds and records the firing sources in the database,
// inside the event's transaction, so every replica sees the same).
type Inhibit struct {
	Rule string // the rule's name, for the timeline
	// Key identifies the rule's definition (its name and a hash of its
	// matchers and equal list): sources are recorded and looked up under it.
	Key string
	// Equal encodes the alert's values of the rule's equal list.
	Equal  string
	Source bool // the alert matches the rule's source side
	Target bool // the alert matches the rule's target side
}

// InhibitSources is implemented by a Router with inhibit rules: which
// rules' source side an alert matches. RecordInhibitSources uses it for
// alerts that were already firing when the rules were loaded.
type InhibitSources interface {
	InhibitSources(a incidenthub.Alert) []Inhibit
}

// inhibition is why one alert of a batch notifies nobody: an inhibit rule
// and the firing source, an incident from the database or an alert of the
// same batch (whose incident is known once the batch is correlated).
type inhibition struct {
	rule     string
	incident int64 // the inhibiting incident; 0 while it is batch's
	batch    int   // the index in the batch of the inhibiting alert; -1 for none
}

// FindInhibitor returns the unresolved incident with a firing member alert
// recorded as a source of the rule in for the same equal values, or 0 when
// there is none. An alert that matches both sides of the rule (in.Source)
// is not inhibited by sources that match both sides too (Alertmanager's
// rule: an alert never inhibits itself or its peers). The lowest incident
// id wins, so every replica names the same one.
func FindInhibitor(tx *gorm.DB, in Inhibit) (int64, error) {
	q := `SELECT ia.incident_id FROM inhibit_sources s
		JOIN incident_alerts ia ON ia.id = s.alert_id
		JOIN incidents i ON i.id = ia.incident_id
		WHERE s.rule_key = ? AND s.equal_key = ? AND ia.status = ? AND i.status <> ?`
	if in.Source {
		q += ` AND NOT s.two_sided`
	}
	q += ` ORDER BY ia.incident_id LIMIT 1`
	var ids []int64
	if err := tx.Raw(q, in.Key, in.Equal, incidenthub.AlertFiring, incidenthub.IncidentResolved).Scan(&ids).Error; err != nil {
		return 0, fmt.Errorf("find inhibiting incident for rule %s: %w", in.Rule, err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	return ids[0], nil
}

// inhibitions decides which alerts of the batch are inhibited, by an
// incident already stored or by a firing source alert of the batch itself,
// in rule order (the first rule that inhibits names it). Lookups are cached
// per rule and values, so a storm of targets costs one query per distinct
// (rule, equal values).
func inhibitions(tx *gorm.DB, batch []routed) (map[int]inhibition, error) {
	out := map[int]inhibition{}
	type lookup struct {
		key, equal string
		twoSided   bool
	}
	found := map[lookup]int64{}
	// The batch's firing sources, by rule and values.
	type source struct {
		at       int
		twoSided bool
	}
	sources := map[[2]string][]source{}
	for j, s := range batch {
		if s.in.Alert.Status != incidenthub.AlertFiring {
			continue
		}
		for _, in := range s.inhibits {
			if in.Source {
				k := [2]string{in.Key, in.Equal}
				sources[k] = append(sources[k], source{j, in.Target})
			}
		}
	}
	for i, r := range batch {
	rules:
		for _, in := range r.inhibits {
			if !in.Target {
				continue
			}
			k := lookup{in.Key, in.Equal, in.Source}
			id, ok := found[k]
			if !ok {
				var err error
				if id, err = FindInhibitor(tx, in); err != nil {
					return nil, err
				}
				found[k] = id
			}
			if id != 0 {
				out[i] = inhibition{rule: in.Rule, incident: id, batch: -1}
				break
			}
			for _, s := range sources[[2]string{in.Key, in.Equal}] {
				if s.at != i && !(in.Source && s.twoSided) {
					out[i] = inhibition{rule: in.Rule, batch: s.at}
					break rules
				}
			}
		}
	}
	return out, nil
}

// recordSources keeps inhibit_sources in step with the batch's changes: a
// member alert that matches a rule's source side is recorded when it fires
// and forgotten when it resolves. Ignored (stale) changes changed no member.
func recordSources(tx *gorm.DB, batch []routed, changes []correlation.Change) error {
	for j, ch := range changes {
		if ch.Outcome == correlation.Ignored || ch.IncidentID == 0 {
			continue
		}
		var sources []Inhibit
		for _, in := range batch[j].inhibits {
			if in.Source {
				sources = append(sources, in)
			}
		}
		if len(sources) == 0 {
			continue
		}
		var ids []int64
		if err := tx.Model(&store.IncidentAlert{}).Where("incident_id = ? AND fingerprint = ?", ch.IncidentID, ch.Alert.Fingerprint).
			Pluck("id", &ids).Error; err != nil {
			return fmt.Errorf("find member alert %s: %w", ch.Alert.Fingerprint, err)
		}
		if len(ids) == 0 {
			continue
		}
		if ch.Alert.Status != incidenthub.AlertFiring {
			if err := tx.Exec(`DELETE FROM inhibit_sources WHERE alert_id = ?`, ids[0]).Error; err != nil {
				return fmt.Errorf("forget inhibit source %s: %w", ch.Alert.Fingerprint, err)
			}
			continue
		}
		if err := upsertSources(tx, ids[0], sources); err != nil {
			return err
		}
	}
	return nil
}

func upsertSources(tx *gorm.DB, alertID int64, sources []Inhibit) error {
	for _, in := range sources {
		err := tx.Exec(`INSERT INTO inhibit_sources (alert_id, rule_key, equal_key, two_sided) VALUES (?, ?, ?, ?)
			ON CONFLICT (alert_id, rule_key) DO UPDATE SET equal_key = excluded.equal_key, two_sided = excluded.two_sided`,
			alertID, in.Key, in.Equal, in.Target).Error
		if err != nil {
			return fmt.Errorf("record inhibit source for rule %s: %w", in.Rule, err)
		}
	}
	return nil
}

// recordInhibited writes, for every inhibited alert, a timeline entry
// naming the inhibiting incident and rule on the alert's incident, and
// holds that incident until the inhibitor resolves (a hold.Inhibit marker,
// ended by InhibitEnded), so what still fires then notifies once. An alert
// inhibited by its own incident (children that correlate into the parent's
// incident) needs no hold: the incident notifies as itself. A repeat of an
// alert (Duplicate) adds no timeline entry; ignored events add nothing.
func recordInhibited(tx *gorm.DB, inhibited map[int]inhibition, changes []correlation.Change) error {
	var entries []store.TimelineEntry
	for j := range changes {
		inh, ok := inhibited[j]
		ch := changes[j]
		if !ok || ch.Outcome == correlation.Ignored || ch.IncidentID == 0 {
			continue
		}
		by := inh.incident
		if inh.batch >= 0 {
			by = changes[inh.batch].IncidentID
		}
		if by == 0 {
			continue
		}
		reason := fmt.Sprintf("inhibited by incident #%d (rule %s)", by, inh.rule)
		if by != ch.IncidentID {
			spec := hold.Spec{Kind: hold.Inhibit, Ref: strconv.FormatInt(by, 10), Reason: reason}
			if _, err := hold.Add(tx, ch.IncidentID, spec, ch.EventID, ch.At); err != nil {
				return err
			}
		}
		if ch.Outcome == correlation.Duplicate {
			continue
		}
		e := store.TimelineEntry{IncidentID: ch.IncidentID, At: ch.At, Kind: incidenthub.TimelineInhibited, EventID: ch.EventID,
			Source: ch.Alert.Source, Fingerprint: ch.Alert.Fingerprint, Status: string(ch.Alert.Status), Reason: reason}
		e.Details.V = map[string]any{"inhibited_by": by, "rule": inh.rule}
		entries = append(entries, e)
	}
	return store.AddTimeline(tx, entries...)
}

// InhibitEnded is the hold.Checker of hold.Inhibit: a hold ends once its
// inhibiting incident (Ref) is resolved, or gone. Register it with every
// releaser, so the inhibited incidents that still fire then notify once.
func InhibitEnded(tx *gorm.DB, holds []hold.Row, _ time.Time) ([]int64, error) {
	refs := make([]int64, 0, len(holds))
	for _, h := range holds {
		if id, err := strconv.ParseInt(h.Ref, 10, 64); err == nil {
			refs = append(refs, id)
		}
	}
	var firing []int64
	if len(refs) > 0 {
		if err := tx.Model(&store.Incident{}).Where("id IN ? AND status <> ?", refs, incidenthub.IncidentResolved).
			Pluck("id", &firing).Error; err != nil {
			return nil, fmt.Errorf("check inhibiting incidents: %w", err)
		}
	}
	var ended []int64
	for _, h := range holds {
		id, err := strconv.ParseInt(h.Ref, 10, 64)
		if err != nil || !slices.Contains(firing, id) {
			ended = append(ended, h.ID)
		}
	}
	return ended, nil
}

var _ hold.Checker = InhibitEnded

// backfillPage is how many member alerts RecordInhibitSources reads and
// records per transaction.
const backfillPage = 500

// RecordInhibitSources records as inhibit sources the firing member alerts
// of unresolved incidents that match a rule's source side: alerts that
// fired before the rules were loaded (at start, after a reload that added
// or changed an inhibit rule), so a rule inhibits at once, as
// Alertmanager's do when it loads its config. It is idempotent, and every
// replica may run it; it returns how many alerts it recorded.
func RecordInhibitSources(ctx context.Context, st *store.Store, src InhibitSources) (int, error) {
	var after int64
	n := 0
	for {
		var rows []store.IncidentAlert
		err := st.DB.WithContext(ctx).Select("incident_alerts.id", "incident_alerts.alert").
			Joins("JOIN incidents ON incidents.id = incident_alerts.incident_id").
			Where("incident_alerts.status = ? AND incidents.status <> ? AND incident_alerts.id > ?",
				incidenthub.AlertFiring, incidenthub.IncidentResolved, after).
			Order("incident_alerts.id").Limit(backfillPage).Find(&rows).Error
		if err != nil {
			return n, fmt.Errorf("read firing alerts: %w", err)
		}
		if len(rows) == 0 {
			return n, nil
		}
		err = st.Tx(ctx, func(tx *gorm.DB) error {
			for _, r := range rows {
				for _, in := range src.InhibitSources(r.Alert.V) {
					// The alert may have resolved or moved since it was read.
					res := tx.Exec(`INSERT INTO inhibit_sources (alert_id, rule_key, equal_key, two_sided)
						SELECT id, ?, ?, ? FROM incident_alerts WHERE id = ? AND status = ?
						ON CONFLICT (alert_id, rule_key) DO UPDATE SET equal_key = excluded.equal_key, two_sided = excluded.two_sided`,
						in.Key, in.Equal, in.Target, r.ID, incidenthub.AlertFiring)
					if res.Error != nil {
						return fmt.Errorf("record inhibit source for rule %s: %w", in.Rule, res.Error)
					}
					if res.RowsAffected > 0 {
						n++
					}
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		if len(rows) < backfillPage {
			return n, nil
		}
		after = rows[len(rows)-1].ID
	}
}

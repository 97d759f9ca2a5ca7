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

// Outcome is what applying one alert did to its incident.
type Outcome string

const (
	Opened   Outcome = "opened"   // a new incident
	Joined   Outcome = "joined"   // a new member alert joined an open incident
	Updated  Outcome = "updated"  // a known member changed state or was seen again
	Resolved Outcome = "resolved" // the last firing member resolved: the incident resolved
	Ignored  Outcome = "ignored"  // stale or orphaned event; nothing changed
)

// Input is one alert to correlate, with what routing decided about it.
type Input struct {
	Alert incidenthub.Alert
	// Key overrides the correlation key; "" means Key(Alert).
	Key string
	// Targets are the outbound targets routing chose; they are added to the
	// incident's targets.
	Targets []string
	// Silenced alerts correlate and are recorded but notify nobody.
	Silenced bool
	EventID  string
	Now      time.Time
}

// Change reports the effect of one alert on its incident.
type Change struct {
	IncidentID int64
	Key        string
	Outcome    Outcome
	Reason     string
	// Targets are the incident's outbound targets after the change.
	Targets []string
	// Notify is true when the change is one downstream targets should hear
	// about (and the alert was not silenced).
	Notify bool
}

// Notifier is told about every change worth notifying, inside the same
// transaction as the change, so outbound work commits with it or not at
// all. The delivery side implements it.
type Notifier interface {
	IncidentChanged(tx *gorm.DB, ch Change) error
}

// Apply correlates one alert inside tx, which must be the transaction that
// also marks its event processed, so an event's effect commits exactly once.
//
// Concurrency: the unresolved incident for a key is unique by index. Workers
// (and replicas) that race to open it all INSERT ... ON CONFLICT DO NOTHING;
// the losers then find and row-lock the winner's incident. Member updates
// happen under that row lock.
func Apply(tx *gorm.DB, in Input) (Change, error) {
	ch, err := apply(tx, in)
	ch.Notify = !in.Silenced && (ch.Outcome == Opened || ch.Outcome == Resolved)
	return ch, err
}

func apply(tx *gorm.DB, in Input) (Change, error) {
	a := in.Alert
	key := in.Key
	if key == "" {
		key = Key(a)
	}
	ch := Change{Key: key}
	for range 5 {
		inc, err := lockOpen(tx, key)
		if err != nil {
			return ch, err
		}
		if inc == nil {
			if a.Status == incidenthub.AlertResolved {
				ch.Outcome, ch.Reason = Ignored, "resolve for an alert with no unresolved incident"
				return ch, nil
			}
			created, err := open(tx, key, in)
			if err != nil {
				return ch, err
			}
			if !created {
				continue // another worker opened it first: lock theirs
			}
			inc, err = lockOpen(tx, key)
			if err != nil {
				return ch, err
			}
			ch.IncidentID, ch.Outcome, ch.Targets = inc.ID, Opened, inc.Targets.V
			return ch, nil
		}
		ch.IncidentID = inc.ID
		ch.Outcome, ch.Reason, ch.Targets, err = join(tx, inc, in)
		return ch, err
	}
	return ch, fmt.Errorf("correlate %q: incident kept changing under us", key)
}

func lockOpen(tx *gorm.DB, key string) (*store.Incident, error) {
	var inc store.Incident
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).
		Where("correlation_key = ? AND status <> ?", key, incidenthub.IncidentResolved).
		Take(&inc).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lock incident %q: %w", key, err)
	}
	return &inc, nil
}

// open inserts a new incident and its first member. It reports false when
// another transaction holds the unresolved incident for key.
func open(tx *gorm.DB, key string, in Input) (bool, error) {
	a, now := in.Alert, in.Now
	inc := store.Incident{
		CorrelationKey: key,
		Status:         string(incidenthub.IncidentOpen),
		Title:          a.Title,
		Service:        a.Service,
		AlertType:      a.AlertType,
		Severity:       string(a.Severity),
		Environment:    a.Environment,
		Hosts:          store.JSON[[]string]{V: addHost(nil, a.Host)},
		Targets:        store.JSON[[]string]{V: union(nil, in.Targets)},
		EventCount:     1,
		AlertCount:     1,
		FiringCount:    1,
		OpenedAt:       now,
		LastSeenAt:     now,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&inc)
	if res.Error != nil {
		return false, fmt.Errorf("open incident %q: %w", key, res.Error)
	}
	if res.RowsAffected == 0 {
		return false, nil
	}
	m := member(inc.ID, a, in.EventID, now)
	if err := tx.Create(&m).Error; err != nil {
		return false, fmt.Errorf("add alert to incident %d: %w", inc.ID, err)
	}
	return true, nil
}

func member(incidentID int64, a incidenthub.Alert, eventID string, now time.Time) store.IncidentAlert {
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

// join applies the alert to the locked unresolved incident inc and returns
// the outcome, the reason for an ignored event, and the incident's targets.
func join(tx *gorm.DB, inc *store.Incident, in Input) (Outcome, string, []string, error) {
	a, eventID, now := in.Alert, in.EventID, in.Now
	targets := inc.Targets.V
	var m store.IncidentAlert
	err := tx.Where("incident_id = ? AND fingerprint = ?", inc.ID, a.Fingerprint).Take(&m).Error
	isNew := errors.Is(err, gorm.ErrRecordNotFound)
	if err != nil && !isNew {
		return "", "", targets, fmt.Errorf("find alert in incident %d: %w", inc.ID, err)
	}
	outcome := Updated
	switch {
	case isNew && a.Status == incidenthub.AlertResolved:
		return Ignored, "resolve for an alert that is not part of the incident", targets, nil
	case isNew:
		m = member(inc.ID, a, eventID, now)
		if err := tx.Create(&m).Error; err != nil {
			return "", "", targets, fmt.Errorf("add alert to incident %d: %w", inc.ID, err)
		}
		inc.AlertCount++
		inc.FiringCount++
		outcome = Joined
	case a.EventTime().Before(m.LastEventAt):
		return Ignored, fmt.Sprintf("stale %s event: source time %s is before the alert's last change at %s",
			a.Status, a.EventTime().Format(time.RFC3339Nano), m.LastEventAt.Format(time.RFC3339Nano)), targets, nil
	default:
		if m.Status != string(a.Status) {
			if a.Status == incidenthub.AlertFiring {
				inc.FiringCount++
			} else {
				inc.FiringCount--
			}
		}
		err := tx.Model(&m).Updates(map[string]any{
			"status":        string(a.Status),
			"severity":      string(a.Severity),
			"title":         a.Title,
			"host":          a.Host,
			"event_count":   gorm.Expr("event_count + 1"),
			"last_seen_at":  now,
			"last_event_at": a.EventTime(),
			"last_event_id": eventID,
			"alert":         store.JSON[incidenthub.Alert]{V: a},
		}).Error
		if err != nil {
			return "", "", targets, fmt.Errorf("update alert in incident %d: %w", inc.ID, err)
		}
	}
	updates := map[string]any{
		"event_count":  gorm.Expr("event_count + 1"),
		"alert_count":  inc.AlertCount,
		"firing_count": inc.FiringCount,
		"last_seen_at": now,
		"updated_at":   now,
		"hosts":        store.JSON[[]string]{V: addHost(inc.Hosts.V, a.Host)},
	}
	if t := union(targets, in.Targets); len(t) != len(targets) {
		targets = t
		updates["targets"] = store.JSON[[]string]{V: t}
	}
	if a.Status == incidenthub.AlertFiring && incidenthub.Severity(a.Severity).Rank() > incidenthub.Severity(inc.Severity).Rank() {
		updates["severity"] = string(a.Severity)
	}
	if inc.FiringCount <= 0 {
		updates["status"] = string(incidenthub.IncidentResolved)
		updates["resolved_at"] = now
		outcome = Resolved
	}
	if err := tx.Model(&store.Incident{}).Where("id = ?", inc.ID).Updates(updates).Error; err != nil {
		return "", "", targets, fmt.Errorf("update incident %d: %w", inc.ID, err)
	}
	return outcome, "", targets, nil
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

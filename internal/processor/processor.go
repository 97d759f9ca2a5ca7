// Package processor turns stored raw events into correlated incidents,
// asynchronously from the 202 that accepted them. Each event is claimed,
// normalized, correlated and marked processed in one transaction, so a crash
// at any point leaves it pending and it is processed again after restart.
package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/hold"
	"github.com/incidenthub/incidenthub/internal/sns"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/mappings"
)

// RetryBackoff is the wait after the n-th failed attempt (1s, 5s, 25s, 2m,
// …, at most 10m), so a transient failure (a deadlock, a restarting
// database) does not use up every attempt at once.
func RetryBackoff(n int) time.Duration {
	d := time.Second
	for range n - 1 {
		d *= 5
		if d >= 10*time.Minute {
			return 10 * time.Minute
		}
	}
	return d
}

// MaxAttempts is how often an event whose processing fails with an internal
// error is tried before it is marked failed (it can still be replayed).
const MaxAttempts = 5

// Router decides, before correlation, what happens to an alert: the rules
// engine implements it.
type Router interface {
	Route(a incidenthub.Alert) (Routing, error)
}

// Routing is a Router's decision for one alert.
type Routing struct {
	Alert    incidenthub.Alert // possibly enriched by rules
	Key      string            // correlation key override; "" for the default
	Targets  []string          // outbound targets to notify
	Drop     bool              // discard the alert (recorded on the event)
	Silenced bool              // correlate and record, notify nobody
	Resolve  string            // how the incident resolves: "all", "any", "manual"; "" for the default
	// Inhibits is the alert's part in the inhibit rules whose source or
	// target side it matches (inhibit.go).
	Inhibits []Inhibit
	// NotifyAfter and MinAlerts hold back the first notification of an
	// incident the alert opens (notify.go); 0 holds nothing.
	NotifyAfter time.Duration
	MinAlerts   int
}

// Silencer holds back the notifications of alerts that a runtime silence
// matches: internal/silence implements it over the silences table.
type Silencer interface {
	// Silencing returns the silences in force at now. It is asked at most
	// once per event, inside the event's transaction, so a silence
	// committed on any replica holds for every event processed after.
	Silencing(tx *gorm.DB, now time.Time) (Silencing, error)
}

// Silencing is the silences in force at one moment.
type Silencing interface {
	// Holds returns one marker hold (hold.Silence, Gate false) per silence
	// that matches a; none when a is not silenced. An error (a silence's
	// condition failed on this alert) is logged; the holds returned still
	// apply.
	Holds(a incidenthub.Alert) ([]hold.Spec, error)
}

// DefaultRouter routes every alert to the same targets.
type DefaultRouter []string

// Route implements Router.
func (d DefaultRouter) Route(a incidenthub.Alert) (Routing, error) {
	return Routing{Alert: a, Targets: d}, nil
}

// Processor runs worker goroutines that drain pending events.
type Processor struct {
	// Router routes alerts; nil routes nowhere.
	Router Router
	// Notifier hears about incident changes worth notifying; nil drops them.
	Notifier correlation.Notifier
	// Mappings returns the current inbound mappings (they change when the
	// config is reloaded); nil uses the built-in ones.
	Mappings func() *mappings.Set
	// Policy tunes correlation; nil means correlation.DefaultPolicy().
	Policy *correlation.Policy
	// SNS handles Amazon SNS subscription messages before mapping (sns.go);
	// nil maps every event.
	SNS *sns.Subscriptions
	// Silencer applies runtime silences after routing: a matched alert
	// correlates with Input.Silenced (it notifies nobody) and its incident
	// gets a hold naming the silence, released when the silence ends; nil
	// applies none.
	Silencer Silencer
	// Holds, when set, checks min_alerts holds as soon as an alert joins
	// their incident (notify.go); without it they end at its next pass.
	Holds *hold.Releaser

	store   *store.Store
	log     *slog.Logger
	workers int
	poll    time.Duration
	wake    chan struct{}
	// Observe, when set, is told the outcome of every processed event.
	Observe func(source, status string, d time.Duration)
	// Finished, when set, is told of every event that reached a final
	// status (processed, unmapped, or failed after its last attempt) and
	// how long after its receipt.
	Finished func(source, status string, sinceReceived time.Duration)
}

// New returns a processor with the given number of workers that also polls
// every poll interval (for events stored by other replicas or before a
// restart).
func New(s *store.Store, log *slog.Logger, workers int, poll time.Duration) *Processor {
	if workers <= 0 {
		workers = 1
	}
	return &Processor{store: s, log: log, workers: workers, poll: poll, wake: make(chan struct{}, 1)}
}

// Notify wakes a worker: an event was just stored. It never blocks.
func (p *Processor) Notify() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run processes events until ctx is done, then returns once in-flight work
// has committed or rolled back.
func (p *Processor) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range p.workers {
		wg.Go(func() { p.loop(ctx) })
	}
	wg.Wait()
}

func (p *Processor) loop(ctx context.Context) {
	t := time.NewTicker(p.poll)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			// The transaction finishes even when shutdown starts mid-way.
			did, err := p.ProcessOne(context.WithoutCancel(ctx))
			if err != nil {
				p.log.Error("process event", "err", err)
				break
			}
			if !did {
				break
			}
			p.Notify() // there may be more: let a sibling help
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-t.C:
		}
	}
}

// ProcessOne claims and processes the oldest pending event. It reports
// whether there was one.
func (p *Processor) ProcessOne(ctx context.Context) (bool, error) {
	var (
		claimed *store.Event
		status  string
		start   = time.Now()
		changes []correlation.Change // committed with the event: logged after
	)
	err := p.store.Tx(ctx, func(tx *gorm.DB) error {
		ev, err := store.ClaimPendingEvent(tx)
		if err != nil || ev == nil {
			return err
		}
		claimed = ev
		status, err = p.process(tx, ev, &changes)
		return err
	})
	if claimed == nil {
		return false, err
	}
	if err != nil {
		err = p.recordFailure(ctx, claimed, err)
		if p.Finished != nil && claimed.Attempts+1 >= MaxAttempts {
			p.Finished(claimed.Source, store.EventFailed, time.Since(claimed.ReceivedAt))
		}
		return true, err
	}
	if p.Observe != nil {
		p.Observe(claimed.Source, status, time.Since(start))
	}
	correlation.LogChanges(ctx, p.log, changes)
	if p.Finished != nil {
		p.Finished(claimed.Source, status, time.Since(claimed.ReceivedAt))
	}
	return true, nil
}

// process normalizes and correlates ev inside tx and returns its final status.
// The changes correlation made are kept in *changed.
func (p *Processor) process(tx *gorm.DB, ev *store.Event, changed *[]correlation.Change) (string, error) {
	if status, handled, err := p.snsSubscription(tx, ev); handled {
		return status, err
	}
	var set *mappings.Set // nil: the built-in mappings
	if p.Mappings != nil {
		set = p.Mappings()
	}
	res, err := set.Normalize(ev.Kind, ev.Source, ev.Body, ev.ReceivedAt)
	if err != nil {
		code := incidenthub.ErrorCode(err)
		if code == incidenthub.EINVALID || code == incidenthub.EUNPROCESSABLE {
			// Kept, with the reason, for replay once the mapping is fixed.
			return store.EventUnmapped, store.FinishEvent(tx, ev, store.Outcome{Status: store.EventUnmapped, Error: incidenthub.ErrorMessage(err)})
		}
		return "", fmt.Errorf("normalize event %s: %w", ev.ID, err)
	}
	alerts := res.Alerts
	now := time.Now().UTC()
	batch := make([]routed, 0, len(alerts))
	var silencing Silencing // read on first need
	for i, a := range alerts {
		r := Routing{Alert: a}
		if p.Router != nil {
			if r, err = p.Router.Route(a); err != nil {
				return "", fmt.Errorf("route alert %d of event %s: %w", i, ev.ID, err)
			}
		}
		// Rules may have set values; keep every one storable (a mapped
		// alert already is: mappings repairs it).
		r.Alert.Repair()
		alerts[i] = r.Alert
		if r.Drop {
			continue
		}
		in := correlation.Input{Alert: r.Alert, Key: r.Key, Targets: r.Targets, Silenced: r.Silenced, Resolve: r.Resolve, EventID: ev.ID, Now: now, Policy: p.Policy}
		if in.Key == "" {
			in.Key = correlation.Key(in.Alert)
		}
		var holds []hold.Spec
		if p.Silencer != nil {
			if silencing == nil {
				if silencing, err = p.Silencer.Silencing(tx, now); err != nil {
					return "", fmt.Errorf("event %s: %w", ev.ID, err)
				}
			}
			holds, err = silencing.Holds(in.Alert)
			if err != nil {
				p.log.Warn("runtime silence not evaluated", "event_id", ev.ID, "err", err)
			}
			in.Silenced = in.Silenced || len(holds) > 0
		}
		batch = append(batch, routed{in: in, alert: i, inhibits: r.Inhibits, holds: holds, notifyAfter: r.NotifyAfter, minAlerts: r.MinAlerts})
	}
	// A payload that fans out to several keys locks their incidents in key
	// order, so two such payloads cannot deadlock each other.
	slices.SortStableFunc(batch, func(a, b routed) int { return strings.Compare(a.in.Key, b.in.Key) })
	inhibited, err := inhibitions(tx, batch)
	if err != nil {
		return "", fmt.Errorf("event %s: %w", ev.ID, err)
	}
	inputs := make([]correlation.Input, len(batch))
	for j, r := range batch {
		inputs[j] = r.in
		if _, ok := inhibited[j]; ok {
			inputs[j].Silenced = true // correlate and record, notify nobody
		}
	}
	changes, err := correlation.ApplyBatch(tx, inputs)
	if err != nil {
		return "", fmt.Errorf("event %s: %w", ev.ID, err)
	}
	*changed = changes
	if err := recordInhibited(tx, inhibited, changes); err != nil {
		return "", fmt.Errorf("event %s: %w", ev.ID, err)
	}
	if err := recordSources(tx, batch, changes); err != nil {
		return "", fmt.Errorf("event %s: %w", ev.ID, err)
	}
	recheck, err := p.holdFirst(tx, batch, changes, now)
	if err != nil {
		return "", fmt.Errorf("event %s: %w", ev.ID, err)
	}
	// The event records the alerts as correlated: a resolve that carried
	// no start time shows the start of the firing it resolved.
	for j, ch := range changes {
		alerts[batch[j].alert] = ch.Alert
		// The incident remembers which silences held the alert back, on
		// its timeline and as holds the releaser lets go when they end.
		if ch.IncidentID == 0 || ch.Outcome == correlation.Ignored {
			continue
		}
		for _, h := range batch[j].holds {
			if _, err := hold.Add(tx, ch.IncidentID, h, ev.ID, now); err != nil {
				return "", fmt.Errorf("event %s: %w", ev.ID, err)
			}
		}
	}
	for _, ch := range changes {
		if ch.Notify && p.Notifier != nil {
			if err := p.Notifier.IncidentChanged(tx, ch); err != nil {
				return "", fmt.Errorf("event %s: notify: %w", ev.ID, err)
			}
		}
	}
	if err := p.checkHolds(tx, recheck, now); err != nil {
		return "", fmt.Errorf("event %s: %w", ev.ID, err)
	}
	return store.EventProcessed, store.FinishEvent(tx, ev, store.Outcome{Status: store.EventProcessed, Alerts: alerts, Warnings: res.Warnings})
}

// routed is one alert of an event on its way to correlation.
type routed struct {
	in       correlation.Input
	alert    int // its index in the event's alerts
	inhibits []Inhibit
	holds    []hold.Spec // the runtime silences that hold it back
	// notifyAfter and minAlerts: Routing's (notify.go).
	notifyAfter time.Duration
	minAlerts   int
}

// recordFailure counts a failed attempt outside the rolled-back transaction
// and marks the event failed after MaxAttempts.
func (p *Processor) recordFailure(ctx context.Context, ev *store.Event, cause error) error {
	attempts := ev.Attempts + 1
	updates := map[string]any{"attempts": attempts, "error": incidenthub.RepairText(cause.Error()),
		"retry_at": time.Now().UTC().Add(RetryBackoff(attempts))}
	if attempts >= MaxAttempts {
		updates["status"] = store.EventFailed
	}
	if err := p.store.DB.WithContext(ctx).Model(&store.Event{}).Where("id = ?", ev.ID).Updates(updates).Error; err != nil {
		return errors.Join(cause, fmt.Errorf("record failure: %w", err))
	}
	p.log.Warn("event processing failed", "event_id", ev.ID, "source", ev.Source, "attempt", attempts, "err", cause)
	return nil
}

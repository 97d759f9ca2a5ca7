package delivery

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
)

// worker runs sync jobs.
type worker struct {
	river.WorkerDefaults[SyncArgs]
	e       *Engine
	timeout time.Duration
}

// Timeout bounds one run: maxRun of deliveries plus one last attempt
// (at least as long as at start, longer for a target whose timeout a
// reload raised).
func (w *worker) Timeout(job *river.Job[SyncArgs]) time.Duration {
	if t, ok := w.e.target(job.Args.Target); ok {
		return max(w.timeout, w.e.maxRun+3*t.cfg.Timeout.Std()+time.Minute)
	}
	return w.timeout
}

// Work syncs one (incident, target) pair. Only the holder of the pair's
// lease sends, so syncs for a pair never overlap, even across replicas; a
// job that finds the lease taken snoozes until it frees. Under the lease
// it delivers the oldest open delivery, then compares the incident's
// current state with the state last delivered and creates the next
// delivery, until the target is up to date.
func (w *worker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	e, a := w.e, job.Args
	db := e.store.DB.WithContext(context.WithoutCancel(ctx))
	t, ok := e.target(a.Target)
	if !ok {
		return w.removed(db, a)
	}
	// The pair's lease is short and kept alive while this job works
	// (heartbeat, catchup.go): a job that died (kill -9, the database
	// gone mid-run) frees the pair within pairLease and the engine's
	// resync sweep hands it to a fresh job.
	lease := pairLease
	wait, err := w.claim(db, a, job.ID, lease)
	if err != nil || wait > 0 {
		if err == nil {
			err = river.JobSnooze(wait)
		}
		return err
	}
	stopBeat := w.heartbeat(db, a, job.ID, lease)
	defer func() {
		stopBeat()
		if err := db.Model(&store.DeliverySync{}).Where("incident_id = ? AND target = ? AND lease_owner = ?", a.IncidentID, a.Target, job.ID).
			Updates(map[string]any{"lease_owner": nil, "lease_until": nil}).Error; err != nil {
			e.log.Error("release delivery lease", "err", err, "incident_id", a.IncidentID, "target", a.Target)
		}
	}()
	start := e.now()
	for {
		if e.now().Sub(start) > e.maxRun || ctx.Err() != nil {
			return w.later(db, a, 0) // hand over to a fresh job
		}
		// A reload may have changed or removed the target since the last
		// attempt (reload.go): the next attempt uses what is configured now.
		if t, ok = e.target(a.Target); !ok {
			return w.removed(db, a)
		}
		probe := 3*t.cfg.Timeout.Std() + 30*time.Second // how long a half-open breaker's probe may take
		d, wait, err := w.next(db, a, t)
		if err != nil {
			return err
		}
		if wait > 0 {
			return w.later(db, a, wait)
		}
		if d == nil {
			return nil
		}
		now := e.now()
		if d.NextAttemptAt != nil && d.NextAttemptAt.After(now) {
			return w.later(db, a, d.NextAttemptAt.Sub(now))
		}
		if ok, wait := t.breaker.allow(now, probe); !ok {
			return w.postpone(db, a, d, wait)
		}
		if t.limiter != nil {
			r := t.limiter.Reserve()
			delay := r.Delay()
			if delay > 0 {
				e.m.rateWaits.WithLabelValues(t.cfg.Name).Inc()
			}
			if delay > 2*time.Second {
				r.Cancel()
				return w.postpone(db, a, d, delay)
			} else if delay > 0 {
				select {
				case <-time.After(delay):
				case <-ctx.Done():
					r.Cancel()
					return w.later(db, a, 0)
				}
			}
		}
		if held, err := w.renew(db, a, job.ID, lease, d.ID); err != nil || !held {
			// Not held: this job stalled past its lease and another job
			// took the pair over; sending too would deliver twice.
			return err
		}
		if wait, err := w.attempt(ctx, db, t, d); err != nil || wait >= 0 {
			if err == nil {
				err = w.later(db, a, wait)
			}
			return err
		}
	}
}

// removed ends a sync of a target a reload removed: its open deliveries of
// the incident are marked dead and the pair no longer has a queued job.
func (w *worker) removed(db *gorm.DB, a SyncArgs) error {
	if _, err := w.e.abandon(db, a.Target, a.IncidentID); err != nil {
		return err
	}
	return db.Model(&store.DeliverySync{}).Where("incident_id = ? AND target = ?", a.IncidentID, a.Target).
		Updates(map[string]any{"job_queued": false, "wake_at": nil, "updated_at": w.e.now()}).Error
}

// claim takes the pair's lease for job, clearing its queued flag so that a
// change committed from now on enqueues another job. It returns how long
// to wait when another job holds the lease.
func (w *worker) claim(db *gorm.DB, a SyncArgs, jobID int64, lease time.Duration) (time.Duration, error) {
	now := w.e.now()
	res := db.Model(&store.DeliverySync{}).
		Where("incident_id = ? AND target = ? AND (lease_owner IS NULL OR lease_until < ? OR lease_owner = ?)", a.IncidentID, a.Target, now, jobID).
		Updates(map[string]any{"job_queued": false, "wake_at": nil, "lease_owner": jobID, "lease_until": now.Add(lease), "job_id": jobID, "updated_at": now})
	if res.Error != nil {
		return 0, fmt.Errorf("claim sync lease: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return 0, nil
	}
	var s store.DeliverySync
	if err := db.Where("incident_id = ? AND target = ?", a.IncidentID, a.Target).Take(&s).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return 0, nil // nothing to sync (incident deleted)
		}
		return 0, err
	}
	wait := 100 * time.Millisecond
	if s.LeaseUntil != nil {
		wait = min(max(s.LeaseUntil.Sub(now)/4, wait), 5*time.Second)
	}
	return wait, nil
}

// renew extends jobID's lease on the pair before a send of delivery
// sending and reports whether jobID still holds it. In the same statement
// it marks sending as in flight, moving a mark left by an attempt that was
// never recorded to interrupted_delivery_id (SET reads the row's old
// values): that attempt's outcome is unknown.
func (w *worker) renew(db *gorm.DB, a SyncArgs, jobID int64, lease time.Duration, sending int64) (bool, error) {
	res := db.Model(&store.DeliverySync{}).Where("incident_id = ? AND target = ? AND lease_owner = ?", a.IncidentID, a.Target, jobID).
		Updates(map[string]any{"lease_until": w.e.now().Add(lease), "sending_delivery_id": sending,
			"interrupted_delivery_id": gorm.Expr("sending_delivery_id")})
	if res.Error != nil {
		return false, fmt.Errorf("renew sync lease: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		w.e.log.Warn("delivery sync lease lost to another job; stopping without sending",
			"incident_id", a.IncidentID, "target", a.Target, "job_id", jobID)
		return false, nil
	}
	return true, nil
}

// later marks the pair as having a queued job (this one) and snoozes it.
func (w *worker) later(db *gorm.DB, a SyncArgs, wait time.Duration) error {
	if err := db.Model(&store.DeliverySync{}).Where("incident_id = ? AND target = ?", a.IncidentID, a.Target).
		Updates(map[string]any{"job_queued": true, "wake_at": w.e.now().Add(max(wait, 0))}).Error; err != nil {
		return err
	}
	return river.JobSnooze(max(wait, 0))
}

// postpone delays d without an attempt (breaker open, rate limited).
func (w *worker) postpone(db *gorm.DB, a SyncArgs, d *store.Delivery, wait time.Duration) error {
	at := w.e.now().Add(wait)
	if err := db.Model(&store.Delivery{}).Where("id = ?", d.ID).Updates(map[string]any{"next_attempt_at": at, "updated_at": w.e.now()}).Error; err != nil {
		return err
	}
	return w.later(db, a, wait)
}

// next returns the oldest open delivery of the pair, or creates one for
// the oldest status transition the target has still to hear
// (transition.go), or for the difference between the incident now and
// what the target has, or returns nil when the target is up to date. A
// plain update due to wait for the target's update interval returns the
// wait instead. A change the target's events: list does not want is
// skipped (skip).
func (w *worker) next(db *gorm.DB, a SyncArgs, t *target) (*store.Delivery, time.Duration, error) {
	var d store.Delivery
	err := db.Where("incident_id = ? AND target = ? AND status IN ?", a.IncidentID, a.Target,
		[]string{incidenthub.DeliveryPending, incidenthub.DeliveryRetrying}).Order("id").Take(&d).Error
	if err == nil {
		return &d, 0, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, 0, err
	}
	if afterOpenCheck != nil {
		afterOpenCheck()
	}
	var (
		sync store.DeliverySync
		last store.Delivery
	)
	// The state to sync to is read before the transitions: every
	// transition that led to it is then seen, and delivered before it.
	if err := db.Where("incident_id = ? AND target = ?", a.IncidentID, a.Target).Take(&sync).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, 0, nil
	} else if err != nil {
		return nil, 0, err
	}
	to, err := syncTo(db, &sync)
	if err != nil || to == nil {
		return nil, 0, err
	}
	cur := *to
	var prev *incidenthub.Incident
	if sync.SyncedState != nil {
		prev = &sync.SyncedState.V
	}
	tr, changes, prev, err := w.nextTransition(db, a, t, &sync, prev)
	if err != nil {
		return nil, 0, err
	}
	if tr != nil {
		d, err := w.create(db, a, t, tr.Event, changes, tr.State.V, prev, tr.ID)
		return d, 0, err
	}
	event, changes := Diff(prev, cur)
	if event == "" {
		return nil, 0, nil
	}
	if !t.cfg.Wants(event) {
		return nil, 0, w.skip(db, &sync, cur)
	}
	// A dead delivery of this very state is not retried by itself: that
	// takes an operator (POST …/retry) or a newer change.
	err = db.Where("incident_id = ? AND target = ?", a.IncidentID, a.Target).Order("id DESC").Take(&last).Error
	if err == nil && (last.Status == incidenthub.DeliveryPending || last.Status == incidenthub.DeliveryRetrying) {
		// Retried by an operator since the first look (Retry reopens a
		// dead delivery while this job holds the lease): send that one,
		// not a new delivery of the same change.
		return &last, 0, nil
	}
	if err == nil && last.Status == incidenthub.DeliveryDead && last.ID > sync.SyncedDeliveryID {
		if ev, _ := Diff(&last.State.V, cur); ev == "" {
			return nil, 0, nil
		}
	} else if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, 0, err
	}
	if !urgent(event, changes) && t.cfg.UpdateInterval != nil && *t.cfg.UpdateInterval > 0 {
		var lastDelivered store.Delivery
		err := db.Where("incident_id = ? AND target = ? AND status = ?", a.IncidentID, a.Target, incidenthub.DeliveryDelivered).
			Order("id DESC").Take(&lastDelivered).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, 0, err
		}
		if err == nil && lastDelivered.DeliveredAt != nil {
			if due := lastDelivered.DeliveredAt.Add(t.cfg.UpdateInterval.Std()); due.After(w.e.now()) {
				return nil, due.Sub(w.e.now()), nil
			}
		}
	}
	created, err := w.create(db, a, t, event, changes, cur, prev, 0)
	return created, 0, err
}

// afterOpenCheck, set by a test, runs in next between its look for an
// open delivery and the rest: where an operator's Retry can land.
var afterOpenCheck func()

// create records the delivery of event (state, diffed from prev) to the
// pair; for a recorded transition (id transition) it deletes the
// transition in the same transaction: the delivery carries it from now on.
func (w *worker) create(db *gorm.DB, a SyncArgs, t *target, event string, changes []string, state incidenthub.Incident, prev *incidenthub.Incident, transition int64) (*store.Delivery, error) {
	var latest store.IncidentAlert
	var latestAlert *store.JSON[incidenthub.Alert]
	if err := db.Where("incident_id = ?", a.IncidentID).Order("last_seen_at DESC, id DESC").Take(&latest).Error; err == nil {
		latestAlert = &store.JSON[incidenthub.Alert]{V: latest.Alert.V}
	} else if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	now := w.e.now()
	d := store.Delivery{IncidentID: a.IncidentID, Target: a.Target, TargetType: t.cfg.Type, Event: event,
		MessageID: "msg_" + id.String(), Status: incidenthub.DeliveryPending, Changes: store.JSON[[]string]{V: changes},
		State: store.JSON[incidenthub.Incident]{V: state}, LatestAlert: latestAlert, WindowStart: now, CreatedAt: now, UpdatedAt: now}
	if prev != nil {
		d.Previous = &store.JSON[incidenthub.Incident]{V: *prev}
	}
	err = db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&d).Error; err != nil {
			return fmt.Errorf("create delivery: %w", err)
		}
		if transition == 0 {
			return nil
		}
		return tx.Delete(&store.DeliveryTransition{}, transition).Error
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// skip moves the pair's synced state to cur without sending: the target's
// events: list does not want the change that led there. The next change
// it wants is diffed from cur, so its event names what happened last
// (a resolve after a skipped acknowledge is still incident.resolved) and
// its changes what changed since the skipped one.
func (w *worker) skip(db *gorm.DB, sync *store.DeliverySync, cur incidenthub.Incident) error {
	return db.Model(&store.DeliverySync{}).Where("id = ?", sync.ID).
		Updates(map[string]any{"synced_state": store.JSON[incidenthub.Incident]{V: cur}, "updated_at": w.e.now()}).Error
}

// Diff compares what a target has (prev; nil when it has nothing) with
// the incident now, and names the event and the fields that changed. An
// empty event means the target is up to date.
func Diff(prev *incidenthub.Incident, cur incidenthub.Incident) (string, []string) {
	if prev == nil {
		if cur.Status == incidenthub.IncidentResolved {
			return incidenthub.EventResolved, []string{incidenthub.ChangeStatus}
		}
		return incidenthub.EventOpened, []string{}
	}
	var changes []string
	if prev.Status != cur.Status {
		changes = append(changes, incidenthub.ChangeStatus)
	}
	switch r := cur.Severity.Rank() - prev.Severity.Rank(); {
	case r > 0:
		changes = append(changes, incidenthub.ChangeSeverityRaised)
	case r < 0:
		changes = append(changes, incidenthub.ChangeSeverity)
	}
	if prev.AlertCount != cur.AlertCount {
		changes = append(changes, incidenthub.ChangeAlertCount)
	}
	if prev.FiringCount != cur.FiringCount {
		changes = append(changes, incidenthub.ChangeFiringCount)
	}
	if prev.Title != cur.Title {
		changes = append(changes, incidenthub.ChangeTitle)
	}
	if len(changes) == 0 {
		return "", nil
	}
	switch {
	case prev.Status == cur.Status:
		return incidenthub.EventUpdated, changes
	case cur.Status == incidenthub.IncidentResolved:
		return incidenthub.EventResolved, changes
	case prev.Status == incidenthub.IncidentResolved:
		return incidenthub.EventReopened, changes
	case cur.Status == incidenthub.IncidentAcknowledged:
		return incidenthub.EventAcknowledged, changes
	}
	return incidenthub.EventUpdated, changes
}

// urgent reports whether a change should reach the target without
// waiting for its update interval: anything but a plain update, a
// severity raise, and a status change (acknowledged back to open).
func urgent(event string, changes []string) bool {
	if event != incidenthub.EventUpdated {
		return event != ""
	}
	for _, c := range changes {
		if c == incidenthub.ChangeSeverityRaised || c == incidenthub.ChangeStatus {
			return true
		}
	}
	return false
}

// attempt sends d once and records the outcome. It returns a wait >= 0
// when the job should stop and run again after it (the delivery is
// retrying), or -1 to go on with the next change.
func (w *worker) attempt(ctx context.Context, db *gorm.DB, t *target, d *store.Delivery) (time.Duration, error) {
	e := w.e
	var sync store.DeliverySync
	if err := db.Where("incident_id = ? AND target = ?", d.IncidentID, d.Target).Take(&sync).Error; err != nil {
		return 0, err
	}
	ref := maps.Clone(sync.Ref.V)
	if ref == nil {
		ref = map[string]string{}
	}
	n := &incidenthub.Notification{ID: d.MessageID, Event: d.Event, Target: d.Target, Changes: d.Changes.V,
		Incident: d.State.V, Time: d.CreatedAt, Ref: ref, Uncertain: uncertain(d, &sync)}
	if d.Previous != nil {
		n.Previous = &d.Previous.V
	}
	if d.LatestAlert != nil {
		n.LatestAlert = &d.LatestAlert.V
	}
	rec := &recorder{}
	started := e.now()
	retry, sendErr := t.conn.Notify(withRecorder(ctx, rec), n)
	now := e.now()
	attemptNo := d.Attempts + 1
	shutdown := sendErr != nil && ctx.Err() != nil

	outcome, status := "delivered", incidenthub.DeliveryDelivered
	var next *time.Time
	wait := time.Duration(-1)
	switch {
	case sendErr == nil:
	case shutdown:
		// Stopping mid-send is not the target's fault: try again soon.
		outcome, status, wait = "retry", incidenthub.DeliveryRetrying, time.Second
	case !retry:
		outcome, status = "dead", incidenthub.DeliveryDead
	default:
		wait = backoff(t.cfg.Retry.RetrySchedule(), *t.cfg.Retry.Jitter, attemptNo)
		if ra := retryAfter(sendErr); ra > wait {
			wait = ra
		}
		if now.Add(wait).Sub(d.WindowStart) > t.cfg.Retry.MaxAge.Std() {
			outcome, status, wait = "dead", incidenthub.DeliveryDead, -1
			sendErr = fmt.Errorf("gave up after %d attempts over %s: %w", attemptNo, now.Sub(d.WindowStart).Round(time.Second), sendErr)
		} else {
			outcome, status = "retry", incidenthub.DeliveryRetrying
		}
	}
	if wait >= 0 {
		at := now.Add(wait)
		next = &at
	}
	errText := "" // what is kept and logged of sendErr: the target's secrets redacted
	if sendErr != nil {
		errText = incidenthub.RepairText(t.redact.String(sendErr.Error())) // it may quote the target's answer
	}
	if !shutdown {
		if disabled, enabled := t.breaker.done(now, sendErr == nil || !retry); disabled {
			e.disabled.WithLabelValues(t.cfg.Name).Set(1)
			e.log.Error("delivery target disabled: it has been failing for longer than circuit_breaker.disable_after; deliveries are kept and it is probed every probe_interval",
				"target", t.cfg.Name, "disable_after", t.cfg.CircuitBreaker.DisableAfter.Std(), "err", errText)
		} else if enabled {
			e.disabled.WithLabelValues(t.cfg.Name).Set(0)
			e.log.Info("delivery target answers again; re-enabled", "target", t.cfg.Name)
		}
	}
	e.attempts.WithLabelValues(t.cfg.Name, outcome).Inc()
	if status == incidenthub.DeliveryDelivered || status == incidenthub.DeliveryDead {
		e.m.notifications.WithLabelValues(t.cfg.Name, outcome).Inc()
	}
	if !shutdown {
		e.reportCircuit(ctx, t, errText)
	}

	rows := attemptRows(d.ID, attemptNo, rec.list(), started, now, errText, outcome, next)
	err := w.recordAttempt(ctx, db, d, func(tx *gorm.DB) error {
		if err := tx.Create(&rows).Error; err != nil {
			return fmt.Errorf("log attempt: %w", err)
		}
		upd := map[string]any{"status": status, "attempts": attemptNo, "last_error": errText,
			"last_status_code": statusCode(sendErr, rows), "next_attempt_at": next, "updated_at": now}
		if status == incidenthub.DeliveryDelivered {
			upd["delivered_at"] = now
		}
		if err := tx.Model(&store.Delivery{}).Where("id = ?", d.ID).Updates(upd).Error; err != nil {
			return err
		}
		// The ref is kept whatever happened: a message created by a failed
		// attempt is updated, not posted again, by the retry.
		su := map[string]any{"ref": store.JSON[map[string]string]{V: n.Ref}, "updated_at": now,
			"sending_delivery_id": nil, "interrupted_delivery_id": nil}
		if status == incidenthub.DeliveryDelivered && d.ID > sync.SyncedDeliveryID {
			su["synced_state"] = store.JSON[incidenthub.Incident]{V: d.State.V}
			su["synced_delivery_id"] = d.ID
		}
		return tx.Model(&store.DeliverySync{}).Where("id = ?", sync.ID).Updates(su).Error
	})
	if err != nil {
		return 0, fmt.Errorf("record attempt of delivery %d: %w", d.ID, err)
	}
	if e.onResult != nil && !shutdown {
		var res error
		if sendErr != nil {
			res = errors.New(errText) // redacted
		}
		e.onResult(ctx, t.cfg.Name, res)
	}
	if sendErr != nil {
		e.log.Warn("delivery attempt failed", "target", t.cfg.Name, "delivery_id", d.ID, "incident_id", d.IncidentID,
			"attempt", attemptNo, "outcome", outcome, "next_attempt_at", next, "err", errText)
	}
	if status == incidenthub.DeliveryDead {
		// Committed above: no more attempts until someone retries it.
		e.log.Error("delivery dead", "target", t.cfg.Name, "delivery_id", d.ID, "incident_id", d.IncidentID,
			"event", d.Event, "attempts", attemptNo, "err", errText)
	}
	return wait, nil
}

// uncertain reports whether an earlier attempt of d may have reached the
// target unrecorded: one started and never recorded (interrupted), or the
// last recorded one failed without an answer (a broken connection, a
// timeout, the hub stopping mid-send).
func uncertain(d *store.Delivery, sync *store.DeliverySync) bool {
	if sync.InterruptedDeliveryID != nil && *sync.InterruptedDeliveryID == d.ID {
		return true
	}
	return d.Attempts > 0 && d.LastStatusCode == 0 && d.LastError != ""
}

func retryAfter(err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfter()
	}
	return 0
}

func statusCode(err error, rows []store.DeliveryAttempt) int {
	var sc interface{ StatusCode() int }
	if errors.As(err, &sc) && sc.StatusCode() != 0 {
		return sc.StatusCode()
	}
	if len(rows) > 0 {
		return rows[len(rows)-1].ResponseStatus
	}
	return 0
}

func attemptRows(deliveryID int64, attempt int, exs []*exchange, started, now time.Time, errText, outcome string, next *time.Time) []store.DeliveryAttempt {
	if len(exs) == 0 {
		return []store.DeliveryAttempt{{DeliveryID: deliveryID, Attempt: attempt, StartedAt: started,
			LatencyMS: now.Sub(started).Milliseconds(), Error: incidenthub.RepairText(errText), Outcome: outcome, NextAttemptAt: next,
			RequestHeaders: store.JSON[map[string][]string]{V: map[string][]string{}}, ResponseHeaders: store.JSON[map[string][]string]{V: map[string][]string{}}}}
	}
	rows := make([]store.DeliveryAttempt, len(exs))
	for i, ex := range exs {
		// What a target answers is stored as text whatever its bytes: a
		// NUL or invalid UTF-8 (a binary answer, a body cut mid-character
		// by capBody) would make PostgreSQL refuse the row, and with it
		// the attempt's outcome.
		r := store.DeliveryAttempt{DeliveryID: deliveryID, Attempt: attempt, StartedAt: ex.start, Method: ex.method,
			URL: incidenthub.RepairText(ex.url), RequestHeaders: store.JSON[map[string][]string]{V: repairHeader(ex.reqHeader)},
			RequestBody: incidenthub.RepairText(ex.reqBody), ResponseStatus: ex.status,
			ResponseHeaders: store.JSON[map[string][]string]{V: repairHeader(orEmpty(ex.respHeader))},
			ResponseBody:    incidenthub.RepairText(ex.respBody), LatencyMS: ex.latency.Milliseconds(),
			Error: incidenthub.RepairText(ex.err), Outcome: outcome}
		if i == len(exs)-1 {
			// The attempt's verdict goes on its last exchange.
			r.NextAttemptAt = next
			if r.Error == "" {
				r.Error = incidenthub.RepairText(errText)
			}
		} else {
			r.Outcome = "partial"
		}
		rows[i] = r
	}
	return rows
}

// repairHeader returns h with every name and value storable as text (h
// itself when all already are).
func repairHeader(h map[string][]string) map[string][]string {
	clean := true
	for k, vs := range h {
		clean = clean && incidenthub.ValidText(k)
		for _, v := range vs {
			clean = clean && incidenthub.ValidText(v)
		}
	}
	if clean {
		return h
	}
	out := make(map[string][]string, len(h))
	for k, vs := range h {
		rv := make([]string, len(vs))
		for i, v := range vs {
			rv[i] = incidenthub.RepairText(v)
		}
		out[incidenthub.RepairText(k)] = rv
	}
	return out
}

func orEmpty(h map[string][]string) map[string][]string {
	if h == nil {
		return map[string][]string{}
	}
	return h
}

// Package retention keeps the database bounded: on a schedule it blanks
// old raw event bodies and delivery attempt bodies, deletes old finished
// events and long-resolved incidents, and (only when explicitly set)
// deletes old audit records.
//
// One replica runs at a time: a lease row (retention_runs) names the
// owner until lease_until. Every batch is its own short transaction that
// first renews the lease, so a replica that lost its lease (it stalled
// past lease_until and another took over) commits nothing more. Replicas
// each tick on the schedule, but a tick runs only when the schedule's
// next time after the last run (on any replica) has come, so N replicas
// still run about once per scheduled time.
//
// Nothing younger than its window is touched: each step compares the
// row's own times (received_at and processed_at, started_at, resolved_at
// and updated_at, at) with the cutoff, in the statement that changes it.
// Pending events are never purged or deleted.
package retention

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/robfig/cron/v3"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/store"
)

// Policy is what a run keeps: each window is an age (0 keeps forever).
type Policy struct {
	EventBodies       time.Duration
	AttemptBodies     time.Duration
	Events            time.Duration
	ResolvedIncidents time.Duration
	Audit             time.Duration
	// BatchSize is the most rows one batch changes (incidents: a tenth
	// of it, at least 1, since each takes its members, timeline and
	// deliveries along).
	BatchSize int
}

// FromConfig converts the config's retention block (defaults applied).
func FromConfig(r config.Retention) Policy {
	return Policy{
		EventBodies:       config.Window(r.EventBodies),
		AttemptBodies:     config.Window(r.AttemptBodies),
		Events:            config.Window(r.Events),
		ResolvedIncidents: config.Window(r.ResolvedIncidents),
		Audit:             config.Window(r.Audit),
		BatchSize:         r.BatchSize,
	}
}

// Result counts what one run changed.
type Result struct {
	EventBodies       int64 `json:"event_bodies"`
	AttemptBodies     int64 `json:"attempt_bodies"`
	Events            int64 `json:"events"`
	ResolvedIncidents int64 `json:"resolved_incidents"`
	Audit             int64 `json:"audit"`
	Batches           int   `json:"batches"`
}

// Steps, as OnBatch names them.
const (
	StepEventBodies       = "event_bodies"
	StepAttemptBodies     = "attempt_bodies"
	StepEvents            = "events"
	StepResolvedIncidents = "resolved_incidents"
	StepAudit             = "audit"
)

// ErrLeaseHeld: another replica is running retention (or took the lease
// over from this one).
var ErrLeaseHeld = errors.New("retention is running on another replica")

// errNotDue: a scheduled tick found that a run already happened for this
// scheduled time (on this or another replica).
var errNotDue = errors.New("retention is not due")

// DefaultLeaseTTL is how long the lease holds without renewal; every batch
// renews it.
const DefaultLeaseTTL = 5 * time.Minute

const leaseName = "retention"

// Runner runs retention.
type Runner struct {
	Store *store.Store
	// Policy returns the windows in force (read at the start of each run,
	// so a config reload applies to the next run).
	Policy   func() Policy
	Schedule cron.Schedule
	Log      *slog.Logger
	// Owner names this replica in the lease; New makes a unique one.
	Owner    string
	LeaseTTL time.Duration
	Now      func() time.Time
	// OnBatch, when set, is called after each committed batch with its
	// step and the rows it changed (for tests).
	OnBatch func(step string, rows int64)
	// StartDelay is when, after Run starts, a first due run is tried
	// (DefaultStartDelay when 0).
	StartDelay time.Duration
}

// DefaultStartDelay: a minute after start, when the hub has settled.
const DefaultStartDelay = time.Minute

// New returns a runner for st with the config's schedule (validated by
// config; "" is the default) and the windows policy returns.
func New(st *store.Store, schedule string, policy func() Policy, log *slog.Logger) (*Runner, error) {
	if schedule == "" {
		schedule = config.DefaultRetentionSchedule
	}
	sched, err := config.ParseSchedule(schedule)
	if err != nil {
		return nil, fmt.Errorf("retention schedule %q: %w", schedule, err)
	}
	return &Runner{Store: st, Policy: policy, Schedule: sched, Log: log, Owner: owner()}, nil
}

func owner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Run runs retention on the schedule until ctx is done, then waits for a
// run in progress to stop (it stops between batches).
//
// Shortly after start (StartDelay) it also runs when due, so a hub that
// restarts more often than its schedule fires still runs retention.
func (r *Runner) Run(ctx context.Context) {
	tick := func() {
		if ctx.Err() != nil {
			return
		}
		_, err := r.run(ctx, true)
		switch {
		case errors.Is(err, ErrLeaseHeld), errors.Is(err, errNotDue):
			r.log().Debug("retention skipped", "reason", err.Error())
		case err != nil && ctx.Err() == nil:
			r.log().Error("retention run failed", "err", err)
		}
	}
	// One job for the schedule and the start-up run: SkipIfStillRunning
	// keeps them from overlapping on this replica (the lease, across
	// replicas).
	job := cron.NewChain(cron.SkipIfStillRunning(cron.DiscardLogger)).Then(cron.FuncJob(tick))
	c := cron.New()
	c.Schedule(r.Schedule, job)
	c.Start()
	delay := r.StartDelay
	if delay <= 0 {
		delay = DefaultStartDelay
	}
	first := time.NewTimer(delay)
	select {
	case <-first.C:
		job.Run()
		<-ctx.Done()
	case <-ctx.Done():
		first.Stop()
	}
	<-c.Stop().Done()
}

// RunOnce runs retention now, whether or not the schedule says it is due;
// ErrLeaseHeld when another replica is running it.
func (r *Runner) RunOnce(ctx context.Context) (Result, error) {
	return r.run(ctx, false)
}

func (r *Runner) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Runner) ttl() time.Duration {
	if r.LeaseTTL > 0 {
		return r.LeaseTTL
	}
	return DefaultLeaseTTL
}

// leaseRow is retention_runs' row.
type leaseRow struct {
	Owner             string
	LeaseUntil        *time.Time
	Runs              int64
	StartedAt         *time.Time
	EventBodyCursor   string
	AttemptBodyCursor int64
}

// run is one run: take the lease, do each step in batches, release.
func (r *Runner) run(ctx context.Context, dueOnly bool) (Result, error) {
	var res Result
	pol := r.Policy()
	if pol.BatchSize <= 0 {
		pol.BatchSize = config.DefaultRetentionBatchSize
	}
	start, clock := r.now(), time.Now()
	l, err := r.acquire(ctx, start, dueOnly)
	if err != nil {
		return res, err
	}
	err = r.steps(ctx, l, pol, start, &res)
	took := time.Since(clock)
	if rerr := r.release(context.WithoutCancel(ctx), l, res); rerr != nil && err == nil {
		err = rerr
	}
	attrs := []any{"event_bodies", res.EventBodies, "attempt_bodies", res.AttemptBodies, "events", res.Events,
		"resolved_incidents", res.ResolvedIncidents, "audit", res.Audit, "batches", res.Batches,
		"duration", took.Round(time.Millisecond).String()}
	if err != nil {
		r.log().Error("retention run stopped", append(attrs, "err", err)...)
		return res, err
	}
	r.log().Info("retention run", attrs...)
	return res, nil
}

// acquire takes the lease when it is free (and, with dueOnly, when the
// schedule's next time after the last run has come).
func (r *Runner) acquire(ctx context.Context, now time.Time, dueOnly bool) (*lease, error) {
	db := r.Store.DB.WithContext(ctx)
	var row leaseRow
	err := db.Raw(`SELECT owner, lease_until, runs, started_at, event_body_cursor, attempt_body_cursor
		FROM retention_runs WHERE name = ?`, leaseName).Scan(&row).Error
	if err != nil {
		return nil, fmt.Errorf("retention: read lease: %w", err)
	}
	if row.LeaseUntil != nil && row.LeaseUntil.After(now) {
		return nil, ErrLeaseHeld
	}
	if dueOnly && row.StartedAt != nil && r.Schedule != nil {
		// Some slack (a tenth of the schedule's period, at most a minute):
		// a tick fires a little before the last run's start plus the
		// period when that run started late, and clocks differ a little.
		next := r.Schedule.Next(row.StartedAt.UTC())
		slack := min(max(r.Schedule.Next(next).Sub(next)/10, time.Second), time.Minute)
		if next.After(now.Add(slack)) {
			return nil, errNotDue
		}
	}
	// runs is the fencing token: only one replica moves it from row.Runs.
	res := db.Exec(`UPDATE retention_runs SET owner = ?, lease_until = ?, started_at = ?, runs = runs + 1
		WHERE name = ? AND runs = ? AND (lease_until IS NULL OR lease_until <= ?)`,
		r.Owner, now.Add(r.ttl()), now, leaseName, row.Runs, now)
	if res.Error != nil {
		return nil, fmt.Errorf("retention: take lease: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return nil, ErrLeaseHeld
	}
	return &lease{r: r, runs: row.Runs + 1, eventCursor: row.EventBodyCursor, attemptCursor: row.AttemptBodyCursor}, nil
}

// lease is a held lease and the body purges' cursors: the id up to which
// each purge has looked, as committed, and as the batch in progress
// moves them.
type lease struct {
	r             *Runner
	runs          int64
	eventCursor   string
	attemptCursor int64
	nextEvent     string
	nextAttempt   int64
}

// commit takes the cursors of the batch just committed.
func (l *lease) commit() { l.eventCursor, l.attemptCursor = l.nextEvent, l.nextAttempt }

// renew extends the lease and saves the cursors inside tx, the batch's
// transaction: a batch commits only while its runner holds the lease.
func (l *lease) renew(tx *gorm.DB, eventCursor string, attemptCursor int64) error {
	l.nextEvent, l.nextAttempt = eventCursor, attemptCursor
	res := tx.Exec(`UPDATE retention_runs SET lease_until = ?, event_body_cursor = ?, attempt_body_cursor = ?
		WHERE name = ? AND owner = ? AND runs = ?`,
		l.r.now().Add(l.r.ttl()), eventCursor, attemptCursor, leaseName, l.r.Owner, l.runs)
	if res.Error != nil {
		return fmt.Errorf("renew lease: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return ErrLeaseHeld
	}
	return nil
}

func (r *Runner) release(ctx context.Context, l *lease, res Result) error {
	out, _ := json.Marshal(res)
	err := r.Store.DB.WithContext(ctx).Exec(`UPDATE retention_runs SET lease_until = NULL, finished_at = ?, last_result = ?
		WHERE name = ? AND owner = ? AND runs = ?`, r.now(), string(out), leaseName, r.Owner, l.runs).Error
	if err != nil {
		return fmt.Errorf("retention: release lease: %w", err)
	}
	return nil
}

// batchFunc runs one batch inside tx and returns the rows it changed and
// whether there may be more.
type batchFunc func(tx *gorm.DB) (rows int64, more bool, err error)

// steps runs each enabled step to its end, in batches.
func (r *Runner) steps(ctx context.Context, l *lease, pol Policy, now time.Time, res *Result) error {
	type step struct {
		name   string
		window time.Duration
		count  *int64
		batch  func(cutoff time.Time) batchFunc
	}
	n := pol.BatchSize
	steps := []step{
		{StepEventBodies, pol.EventBodies, &res.EventBodies, func(c time.Time) batchFunc { return l.eventBodies(c, now, n) }},
		{StepAttemptBodies, pol.AttemptBodies, &res.AttemptBodies, func(c time.Time) batchFunc { return l.attemptBodies(c, now, n) }},
		{StepEvents, pol.Events, &res.Events, func(c time.Time) batchFunc { return l.events(c, n) }},
		{StepResolvedIncidents, pol.ResolvedIncidents, &res.ResolvedIncidents, func(c time.Time) batchFunc {
			return l.incidents(r.Store.Dialect, c, now, max(1, n/10))
		}},
		{StepAudit, pol.Audit, &res.Audit, func(c time.Time) batchFunc { return l.audit(c, n) }},
	}
	for _, s := range steps {
		if s.window <= 0 {
			continue
		}
		batch := s.batch(now.Add(-s.window))
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			var (
				rows int64
				more bool
			)
			err := r.Store.Tx(ctx, func(tx *gorm.DB) error {
				var err error
				rows, more, err = batch(tx)
				return err
			})
			if err != nil {
				// A failed batch's cursors rolled back with it (l keeps
				// the committed ones).
				return fmt.Errorf("retention %s: %w", s.name, err)
			}
			l.commit()
			res.Batches++
			*s.count += rows
			if r.OnBatch != nil {
				r.OnBatch(s.name, rows)
			}
			if !more {
				break
			}
		}
	}
	if res.Audit > 0 {
		// Deleting audit records is itself recorded (and this record is
		// new, so no run deletes it before its own window passes).
		err := audit.Record(r.Store.DB.WithContext(ctx), audit.Entry{Actor: audit.ActorSystem, Action: "retention.audit_deleted",
			EntityType: "audit", Detail: fmt.Sprintf("%d audit records older than %s deleted (retention.audit)",
				res.Audit, config.Age(pol.Audit))})
		if err != nil {
			return fmt.Errorf("retention: audit the audit deletion: %w", err)
		}
	}
	return nil
}

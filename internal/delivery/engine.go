// Package delivery is the durable outbound delivery engine. Work is keyed by
// (incident, target): a River job brings the target to the incident's
// current state, comparing it with the state last delivered there, so a
// burst of changes collapses into a few calls and order holds. Each change
// to deliver is a row in deliveries with a stable idempotency id; every
// HTTP exchange is kept in delivery_attempts.
//
// The job is enqueued in the same transaction as the incident change
// (riverdatabasesql on the GORM transaction for PostgreSQL, riversqlite for
// SQLite) and worked by a riverpgxv5 client (LISTEN/NOTIFY) or the SQLite
// client. River gives durability, scheduling, claiming across replicas and
// rescue after a crash; retries, ordering and the attempt log are ours.
package delivery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"golang.org/x/time/rate"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/hold"
	"github.com/incidenthub/incidenthub/internal/redact"
	"github.com/incidenthub/incidenthub/internal/store"
)

// Queue is the River queue sync jobs run on.
const Queue = "delivery"

var _ correlation.Notifier = (*Engine)(nil)

// SyncArgs is the River job: bring target up to date with incident.
type SyncArgs struct {
	IncidentID int64  `json:"incident_id"`
	Target     string `json:"target"`
}

// Kind implements river.JobArgs.
func (SyncArgs) Kind() string { return "delivery_sync" }

// Options configures an Engine.
type Options struct {
	Store *store.Store
	// DatabaseURL is the PostgreSQL URL the worker client's pgx pool uses;
	// empty for SQLite.
	DatabaseURL string
	Config      *config.Config
	Log         *slog.Logger
	// Registry, when set, receives the delivery metrics.
	Registry prometheus.Registerer
	// PollInterval is how often idle workers look for due jobs (default
	// 1s; PostgreSQL also wakes them by LISTEN/NOTIFY).
	PollInterval time.Duration
	// Work false builds an insert-only engine (an accept-only replica).
	Work bool
	// Secrets, when set, gives a target's current signing secrets (the
	// webhook registry, once it has rotated them); connectors that sign
	// ask it before each send.
	Secrets func(ctx context.Context, target string) (secrets []string, rotated bool, err error)
	// OnResult, when set, hears every attempt's outcome per target (nil
	// error for delivered), e.g. to keep the registry's last success and
	// last failure current.
	OnResult func(ctx context.Context, target string, err error)
}

// secretUser is implemented by connectors that sign with secrets the
// registry may rotate.
type secretUser interface {
	SetSecretSource(func(ctx context.Context) ([]string, bool, error))
}

// logUser is implemented by connectors with something to log themselves
// (Slack: once, that it cannot read channel history).
type logUser interface {
	SetLogger(*slog.Logger)
}

type target struct {
	cfg     config.Target
	conn    connectors.Notifier
	breaker *breaker
	limiter *rate.Limiter
	redact  *redact.Redactor // cfg.Redactor(): for errors the engine keeps, logs and returns

	delivery config.Delivery // the delivery section it was built with (reload.go)
	// reported is the breaker state this process last recorded in
	// target_circuits (nil: none yet); circuit.go.
	reported atomic.Pointer[string]
}

// runner is the part of a River client the engine starts and stops.
type runner interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// Engine enqueues and works delivery jobs.
type Engine struct {
	store    *store.Store
	log      *slog.Logger
	targets  atomic.Pointer[map[string]*target] // by name; Reload swaps the map, never changed once stored
	secrets  func(ctx context.Context, target string) ([]string, bool, error)
	inserter *river.Client[*sql.Tx]
	runner   runner
	pool     *pgxpool.Pool
	now      func() time.Time
	onResult func(ctx context.Context, target string, err error)
	// maxRun bounds one job's run before it hands over to a fresh job.
	maxRun time.Duration
	// stopSweep ends the resync sweep Start started (catchup.go).
	stopSweep func()

	attempts *prometheus.CounterVec
	disabled *prometheus.GaugeVec
	m        engineMetrics // circuit.go
}

// New builds the engine and its connectors. It starts nothing.
func New(ctx context.Context, o Options) (*Engine, error) {
	e := &Engine{store: o.Store, log: o.Log, now: func() time.Time { return time.Now().UTC() },
		maxRun: 2 * time.Minute, onResult: o.OnResult, secrets: o.Secrets}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "incidenthub_delivery_attempts_total",
		Help: "Outbound delivery attempts by target and outcome (delivered, retry, dead).",
	}, []string{"target", "outcome"})
	e.disabled = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "incidenthub_delivery_target_disabled",
		Help: "1 while a target is disabled by its circuit breaker.",
	}, []string{"target"})
	if o.Registry != nil {
		o.Registry.MustRegister(e.attempts, e.disabled)
	}
	e.m = newEngineMetrics(o.Registry)
	targets, err := e.buildTargets(o.Config, nil)
	if err != nil {
		return nil, err
	}
	e.targets.Store(&targets)
	longest := time.Duration(0)
	for name, t := range targets {
		e.m.init(name)
		e.disabled.WithLabelValues(name).Set(0)
		longest = max(longest, t.cfg.Timeout.Std())
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &worker{e: e, timeout: e.maxRun + 3*longest + time.Minute}); err != nil {
		return nil, err
	}
	poll := o.PollInterval
	if poll <= 0 {
		poll = time.Second
	}
	n := o.Config.Delivery.Workers
	if n <= 0 {
		n = config.DefaultDeliveryWorkers
	}
	rc := func() *river.Config {
		return &river.Config{
			Logger:               e.log.With("component", "river"),
			Queues:               map[string]river.QueueConfig{Queue: {MaxWorkers: n}},
			Workers:              workers,
			FetchCooldown:        min(poll, 100*time.Millisecond),
			FetchPollInterval:    poll,
			JobTimeout:           e.maxRun + 3*longest + time.Minute,
			RescueStuckJobsAfter: e.maxRun + 3*longest + 5*time.Minute,
		}
	}
	if o.Store.Dialect == store.Postgres {
		// Inserts ride on the GORM transaction (database/sql); work runs
		// on a pgx pool, which also LISTENs for new jobs.
		if e.inserter, err = river.NewClient(riverdatabasesql.New(nil), &river.Config{Workers: workers}); err != nil {
			return nil, fmt.Errorf("river insert client: %w", err)
		}
		if o.Work {
			if e.pool, err = pgxpool.New(ctx, o.DatabaseURL); err != nil {
				return nil, fmt.Errorf("delivery pool: %w", err)
			}
			var c *river.Client[pgx.Tx]
			if c, err = river.NewClient(riverpgxv5.New(e.pool), rc()); err != nil {
				e.pool.Close()
				return nil, fmt.Errorf("river client: %w", err)
			}
			e.runner = c
		}
	} else {
		// SQLite: one client on the store's single connection; inserts use
		// the GORM transaction, work never holds a transaction while
		// sending.
		cfg := rc()
		if !o.Work {
			cfg = &river.Config{Workers: workers}
		}
		if e.inserter, err = river.NewClient(riversqlite.New(o.Store.SQL), cfg); err != nil {
			return nil, fmt.Errorf("river client: %w", err)
		}
		if o.Work {
			e.runner = e.inserter
		}
	}
	return e, nil
}

// Start starts working jobs (no-op for an insert-only engine).
func (e *Engine) Start(ctx context.Context) error {
	if e.runner == nil {
		return nil
	}
	if err := e.runner.Start(ctx); err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); e.resyncLoop(sctx) }()
	e.stopSweep = func() { cancel(); <-done }
	return nil
}

// Stop lets running syncs finish until ctx ends, then cancels them (each
// records its attempt and is rescheduled), and closes the pool.
func (e *Engine) Stop(ctx context.Context) error {
	if e.runner == nil {
		return nil
	}
	if e.stopSweep != nil {
		e.stopSweep()
	}
	err := e.runner.Stop(ctx)
	if err != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = e.runner.StopAndCancel(cctx)
	}
	if e.pool != nil {
		e.pool.Close()
	}
	return err
}

// IncidentChanged implements correlation.Notifier: inside the change's own
// transaction it marks each (incident, target) pair as needing a sync and
// enqueues one sync job for it, unless one is already waiting.
func (e *Engine) IncidentChanged(tx *gorm.DB, ch correlation.Change) error {
	if !ch.Notify || ch.IncidentID == 0 {
		return nil
	}
	if ch.Actor == "" {
		// A notify_after or min_alerts hold keeps alert-driven changes
		// back; the hold's release enqueues the sync (internal/hold). A
		// person's change is delivered regardless.
		if gated, err := hold.Gated(tx, ch.IncidentID); err != nil || gated {
			return err
		}
	}
	var inc *store.Incident // read on first need
	for _, name := range ch.Targets {
		if _, ok := e.target(name); !ok {
			e.log.Warn("incident routed to an unknown target; skipped", "target", name, "incident_id", ch.IncidentID)
			continue
		}
		if inc == nil {
			inc = new(store.Incident)
			if err := tx.Take(inc, "id = ?", ch.IncidentID).Error; err != nil {
				return fmt.Errorf("load incident %d: %w", ch.IncidentID, err)
			}
		}
		if err := e.transitions(tx, ch, inc, name); err != nil {
			return err
		}
		if err := e.notifyState(tx, inc, name); err != nil {
			return fmt.Errorf("record what %s is to hear: %w", name, err)
		}
		if err := e.enqueue(tx, ch.IncidentID, name, false); err != nil {
			return fmt.Errorf("enqueue delivery to %s: %w", name, err)
		}
	}
	return nil
}

// enqueue inserts a sync job for the pair inside tx. Unless force, it does
// nothing when a job is already queued for the pair (it will see this
// change: it reads the incident's state when it runs).
func (e *Engine) enqueue(tx *gorm.DB, incidentID int64, name string, force bool) error {
	now := e.now()
	if err := e.ensureSync(tx, incidentID, name); err != nil {
		return err
	}
	// Lock the pair's row until this transaction ends: a job that claims
	// it (clearing job_queued) then waits, and reads the incident only
	// after this change is committed. Without the lock the job could read
	// the old state and finish while this change, having seen the job
	// queued, enqueues nothing: the change would never be delivered.
	var sync store.DeliverySync
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).
		Where("incident_id = ? AND target = ?", incidentID, name).Take(&sync).Error; err != nil {
		return fmt.Errorf("load sync: %w", err)
	}
	if sync.JobQueued && !force {
		if sync.WakeAt == nil || !sync.WakeAt.After(now.Add(time.Second)) {
			return nil // the queued job runs soon and will see this change
		}
		// The queued job sleeps (update interval, backoff): wake another
		// only for a change that should not wait.
		if wake, err := urgentSync(tx, &sync); err != nil || !wake {
			return err
		}
	}
	if err := tx.Model(&store.DeliverySync{}).Where("id = ?", sync.ID).
		Updates(map[string]any{"job_queued": true, "wake_at": now, "updated_at": now}).Error; err != nil {
		return fmt.Errorf("mark sync queued: %w", err)
	}
	sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return errors.New("enqueue needs a *gorm.DB inside a transaction")
	}
	ctx := tx.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	res, err := e.inserter.InsertTx(ctx, sqlTx, SyncArgs{IncidentID: incidentID, Target: name},
		&river.InsertOpts{Queue: Queue, MaxAttempts: 25})
	if err != nil {
		return err
	}
	// The job the resync sweep (catchup.go) looks at.
	return tx.Model(&store.DeliverySync{}).Where("id = ?", sync.ID).Update("job_id", res.Job.ID).Error
}

// ensureSync creates the pair's delivery_syncs row unless it exists.
func (e *Engine) ensureSync(tx *gorm.DB, incidentID int64, name string) error {
	now := e.now()
	row := store.DeliverySync{IncidentID: incidentID, Target: name, Ref: store.JSON[map[string]string]{V: map[string]string{}},
		CreatedAt: now, UpdatedAt: now}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return fmt.Errorf("record sync: %w", err)
	}
	return nil
}

// notifyState records inc, as of a change that notifies, as what the pair
// (inc, name) is to be brought to. A sync diffs against it rather than the
// live incident: a change that notified nobody (silenced, inhibited, held
// back) does not reach the target because a sync happened to run after it
// for another change; it goes out with the next change that notifies.
func (e *Engine) notifyState(tx *gorm.DB, inc *store.Incident, name string) error {
	if err := e.ensureSync(tx, inc.ID, name); err != nil {
		return err
	}
	return tx.Model(&store.DeliverySync{}).Where("incident_id = ? AND target = ?", inc.ID, name).
		Update("notify_state", store.JSON[incidenthub.Incident]{V: inc.Domain()}).Error
}

// Retry schedules a delivery that is dead or waiting for a retry to be
// attempted now; a dead one gets a fresh retry window.
func (e *Engine) Retry(ctx context.Context, id int64) (*incidenthub.Delivery, error) {
	var out incidenthub.Delivery
	err := e.store.Tx(ctx, func(tx *gorm.DB) error {
		var d store.Delivery
		if err := tx.Take(&d, "id = ?", id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return incidenthub.Errorf(incidenthub.ENOTFOUND, "delivery %d not found", id)
		} else if err != nil {
			return err
		}
		if d.Status == incidenthub.DeliveryDelivered {
			return incidenthub.Errorf(incidenthub.ECONFLICT, "delivery %d was already delivered", id)
		}
		if _, ok := e.target(d.Target); !ok {
			return incidenthub.Errorf(incidenthub.ECONFLICT, "target %q of delivery %d is no longer configured", d.Target, id)
		}
		if err := e.reopen(tx, []int64{d.ID}); err != nil {
			return err
		}
		if err := e.enqueue(tx, d.IncidentID, d.Target, true); err != nil {
			return err
		}
		if err := tx.Take(&d, "id = ?", id).Error; err != nil {
			return err
		}
		out = d.Domain()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RetryDead schedules every dead delivery of target for a new attempt and
// returns how many there were.
func (e *Engine) RetryDead(ctx context.Context, name string) (int, error) {
	if _, ok := e.target(name); !ok {
		return 0, incidenthub.Errorf(incidenthub.ENOTFOUND, "no target named %q", name)
	}
	n := 0
	err := e.store.Tx(ctx, func(tx *gorm.DB) error {
		var dead []store.Delivery
		if err := tx.Where("target = ? AND status = ?", name, incidenthub.DeliveryDead).Order("id").Find(&dead).Error; err != nil {
			return err
		}
		ids := make([]int64, len(dead))
		pairs := map[int64]bool{}
		for i, d := range dead {
			ids[i] = d.ID
			pairs[d.IncidentID] = true
		}
		if err := e.reopen(tx, ids); err != nil {
			return err
		}
		for inc := range pairs {
			if err := e.enqueue(tx, inc, name, true); err != nil {
				return err
			}
		}
		n = len(dead)
		return nil
	})
	return n, err
}

func (e *Engine) reopen(tx *gorm.DB, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	now := e.now()
	return tx.Model(&store.Delivery{}).Where("id IN ? AND status = ?", ids, incidenthub.DeliveryDead).
		Updates(map[string]any{"status": incidenthub.DeliveryPending, "window_start": now, "next_attempt_at": now, "updated_at": now}).Error
}

// Verify checks target name's credentials and settings against its API
// (connectors.Verifier), without side effects as far as the API allows.
// An unknown target or one whose type has no check is an
// *incidenthub.Error; a failed check is returned with the target's
// secrets removed.
func (e *Engine) Verify(ctx context.Context, name string) error {
	t, ok := e.target(name)
	if !ok {
		return incidenthub.Errorf(incidenthub.ENOTFOUND, "no target named %q", name)
	}
	v, ok := t.conn.(connectors.Verifier)
	if !ok {
		return incidenthub.Errorf(incidenthub.EUNPROCESSABLE, "target %q is of type %s, which has no verify", name, t.cfg.Type)
	}
	if err := v.Verify(ctx); err != nil {
		return errors.New(t.redact.String(err.Error()))
	}
	return nil
}

// Verifier returns target name's check as a connectors.Verifier (errors
// redacted, as Verify), or nil when the target is unknown or its type has
// no check; for the registry's scheduled verification.
func (e *Engine) Verifier(name string) connectors.Verifier {
	t, ok := e.target(name)
	if !ok {
		return nil
	}
	if _, ok := t.conn.(connectors.Verifier); !ok {
		return nil
	}
	return targetVerifier{e, name}
}

type targetVerifier struct {
	e    *Engine
	name string
}

func (v targetVerifier) Verify(ctx context.Context) error { return v.e.Verify(ctx, v.name) }

// Send sends an operational event (a registry notice) to target name
// through its connector: the same guarded HTTP client, timeout and rate
// limit as deliveries, but no retries and no attempt log (that belongs to
// incident deliveries); the caller records the outcome. An unknown target
// or one whose type cannot send events is an *incidenthub.Error; a failed
// send is returned with the target's secrets removed.
func (e *Engine) Send(ctx context.Context, name string, ev *incidenthub.Event) error {
	t, ok := e.target(name)
	if !ok {
		return incidenthub.Errorf(incidenthub.ENOTFOUND, "no target named %q", name)
	}
	s, ok := t.conn.(connectors.EventSender)
	if !ok {
		return incidenthub.Errorf(incidenthub.EUNPROCESSABLE, "target %q is of type %s, which cannot send events", name, t.cfg.Type)
	}
	if t.limiter != nil {
		if err := t.limiter.Wait(ctx); err != nil {
			return fmt.Errorf("send %s to %s: %w", ev.Type, name, err)
		}
	}
	if ev.Target == "" {
		ev.Target = name
	}
	if err := s.SendEvent(ctx, ev); err != nil {
		return errors.New(t.redact.String(err.Error()))
	}
	return nil
}

// TargetState returns each target's circuit breaker state: closed, open
// or disabled, as last changed on any replica (target_circuits; this
// process's breaker when nothing is recorded or the store does not answer).
func (e *Engine) TargetState() map[string]string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shared, err := e.store.Circuits(ctx)
	if err != nil {
		e.log.Warn("read circuit states", "err", err)
	}
	out := map[string]string{}
	for name, t := range *e.targets.Load() {
		out[name] = t.breaker.state()
		if c, ok := shared[name]; ok {
			out[name] = c.State
		}
	}
	return out
}

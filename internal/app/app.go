// Package app wires the hub together: store, migrations, processor and
// HTTP server, and shuts them down in order.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/incidenthub/incidenthub/connectors/slack"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/delivery"
	"github.com/incidenthub/incidenthub/internal/hold"
	"github.com/incidenthub/incidenthub/internal/keyring"
	"github.com/incidenthub/incidenthub/internal/metrics"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/registry"
	"github.com/incidenthub/incidenthub/internal/retention"
	"github.com/incidenthub/incidenthub/internal/silence"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/mappings"
	"github.com/incidenthub/incidenthub/web"
)

// EnvAPIToken names the environment variable holding an admin API token.
const EnvAPIToken = "INCIDENTHUB_API_TOKEN"

// OpenStore opens (and, with migrate, migrates) the configured database.
func OpenStore(ctx context.Context, cfg *config.Config, migrate bool) (*store.Store, error) {
	st, err := store.Open(ctx, store.Options{
		URL:          cfg.Database.URL.Value(),
		Path:         cfg.Database.Path,
		MaxOpenConns: cfg.Database.MaxOpenConns,
	})
	if err != nil {
		return nil, err
	}
	if migrate {
		if err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

// Tokens returns the API tokens: the config's plus INCIDENTHUB_API_TOKEN as
// an admin token named "env".
func Tokens(cfg *config.Config, getenv func(string) string) []config.APIToken {
	tokens := append([]config.APIToken(nil), cfg.API.Tokens...)
	if t := getenv(EnvAPIToken); t != "" {
		tokens = append(tokens, config.APIToken{Name: "env", Token: config.Secret(t), Role: config.RoleAdmin})
	}
	return tokens
}

// Serve runs the hub until ctx is done. ln, when non-nil, is used instead
// of listening on cfg.Listen; ready, when non-nil, is called with the
// address once the hub accepts requests.
func Serve(ctx context.Context, cfg *config.Config, getenv func(string) string, log *slog.Logger, ln net.Listener, ready func(addr string)) error {
	st, err := OpenStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer st.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	processed := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "incidenthub_events_processed_seconds",
		Help:    "Time to normalize and correlate one stored event, by source and outcome.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	}, []string{"source", "status"})
	reg.MustRegister(processed)
	// Event counters and build info (internal/metrics); the reload status
	// and the database-backed gauges once the config is loaded.
	events := metrics.NewEvents(reg)
	reg.MustRegister(metrics.NewBuildInfo(metrics.ReadBuild()))

	// The config and routing rules in force; replaced together on reload.
	rl, err := NewReloader(cfg, getenv, log)
	if err != nil {
		return err
	}
	reg.MustRegister(&metrics.Store{Store: st, Log: log, Targets: func() []string { return targetNames(rl.Config()) }},
		metrics.ReloadStatus(func() (bool, time.Time) { s := rl.Status(); return s.LastReloadError == "", s.LoadedAt }))

	hooks, err := OpenRegistry(ctx, cfg, st, getenv, log, reg)
	if err != nil {
		return err
	}
	// Which keys this hub holds, for `registry rotate` elsewhere (keys.go).
	if err := hooks.Announce(ctx); err != nil {
		return err
	}
	defer withdraw(ctx, hooks, log)

	proc := processor.New(st, log, cfg.Ingest.Workers, cfg.Ingest.PollInterval.Std())
	proc.Router = rl
	proc.Mappings = func() *mappings.Set { return rl.Config().Mappings }
	proc.SNS = SNSSubscriptions(func() *config.Config { return rl.Config() })
	// Runtime silences (API, CLI, UI, Slack) are read from the database in
	// each event's transaction: one created on any replica holds at once.
	proc.Silencer = silence.Silencer{}
	proc.Observe = func(source, status string, d time.Duration) {
		processed.WithLabelValues(source, status).Observe(d.Seconds())
	}
	proc.Finished = events.Observe
	for _, src := range cfg.Sources {
		events.Init(src.Name)
	}
	// Outbound delivery: jobs are enqueued in the processing transaction
	// (proc.Notifier) and worked here unless this is an accept-only replica.
	deliv, err := delivery.New(ctx, delivery.Options{Store: st, DatabaseURL: cfg.Database.URL.Value(), Config: cfg,
		Log: log, Registry: reg, Work: cfg.Ingest.Processing(),
		// Webhook targets sign with the registry's secrets once rotated.
		Secrets: func(ctx context.Context, target string) ([]string, bool, error) {
			return hooks.Secrets(ctx, registry.Outbound, target)
		},
		OnResult: func(ctx context.Context, target string, err error) {
			if rerr := hooks.RecordDelivery(ctx, registry.Outbound, target, err); rerr != nil {
				log.Warn("registry: record delivery", "target", target, "err", rerr)
			}
		},
	})
	if err != nil {
		return err
	}
	// Now that the connectors exist, give the registry their credential
	// checks (verify, and the scheduled verification).
	withVerifiers := func(cfg *config.Config) []registry.Spec { return registrySpecs(cfg, deliv) }
	// Owners hear of rotations and revocations through registry.notify_target.
	notify := ownerNotices(st, deliv, rl.Config, log)
	hooks.SetNotify(notify)
	if err := hooks.Sync(ctx, withVerifiers(cfg), audit.ActorConfig); err != nil {
		return err
	}
	proc.Notifier = deliv
	if err := deliv.Start(ctx); err != nil {
		return fmt.Errorf("start delivery: %w", err)
	}
	policy := CorrelationPolicy(cfg)
	proc.Policy = &policy
	// The time-driven half of correlation (auto-resolve, held-back join
	// summaries, flap settling); several replicas may run it.
	sweeper := &correlation.Sweeper{Store: st, Policy: policy, Notifier: proc.Notifier, Log: log,
		Interval: cfg.Correlation.SweepInterval.Std()}
	// Notification holds (silences, inhibitions, notify_after, min_alerts)
	// end here: every processing replica releases them. Each feature
	// registers the checker of its hold kind below.
	releaser := hold.NewReleaser(st, proc.Notifier, log)
	releaser.Register(hold.Inhibit, processor.InhibitEnded)
	releaser.Register(hold.Silence, silence.HoldChecker)
	// notify_after and min_alerts use the built-in checkers; a min_alerts
	// hold is also checked as soon as an alert joins its incident.
	proc.Holds = releaser
	accepted := func() {}
	if cfg.Ingest.Processing() {
		accepted = proc.Notify
	}
	slackIn, err := slackMembers(cfg)
	if err != nil {
		return err
	}
	members := &reloadingMembers{} // rebuilt on reload with the targets
	members.p.Store(slackIn)
	handler := web.New(web.Deps{
		Store:    st,
		Config:   rl.Config,
		Accepted: accepted,
		Notifier: proc.Notifier,
		Log:      log,
		Registry: reg,

		Rules:        rl.Engine,
		ConfigStatus: rl.Status,
		Deliveries:   deliv,
		Targets:      deliv,
		Webhooks:     hooks,
		SlackMembers: members,

		CurrentTokens: rl.Tokens, // API tokens follow reloads
	})
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			_ = deliv.Stop(context.WithoutCancel(ctx))
			return fmt.Errorf("listen: %w", err)
		}
	}
	// Timeouts and the header limit: web/limits.go.
	srv := web.NewServer(handler)
	ln = web.Listener(ln)

	// The registry scheduler: due rotations, overlap ends, metrics.
	schedCtx, stopSched := context.WithCancel(context.WithoutCancel(ctx))
	schedDone := make(chan struct{})
	go func() {
		defer close(schedDone)
		noticesDone := make(chan struct{})
		go func() { defer close(noticesDone); sendQueuedNotices(schedCtx, hooks, notify, log) }()
		hooks.Run(schedCtx, RegistryTick)
		<-noticesDone
	}()

	// Retention (internal/retention): on its schedule, one replica at a
	// time (a lease row); the windows are read from the config in force.
	keep, err := retention.New(st, cfg.Retention.Schedule, func() retention.Policy {
		return retention.FromConfig(rl.Config().Retention)
	}, log)
	if err != nil {
		stopSched()
		<-schedDone
		_ = deliv.Stop(context.WithoutCancel(ctx))
		return err
	}
	keepDone := make(chan struct{})
	go func() { defer close(keepDone); keep.Run(schedCtx) }()

	procCtx, stopProc := context.WithCancel(context.WithoutCancel(ctx))
	procDone := make(chan struct{})
	go func() {
		defer close(procDone)
		if cfg.Ingest.Processing() {
			sweepDone, releaseDone, sourcesDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
			go func() { defer close(sweepDone); sweeper.Run(procCtx) }()
			go func() { defer close(releaseDone); releaser.Run(procCtx) }()
			go func() { defer close(sourcesDone); recordInhibitSources(procCtx, st, rl, log) }()
			proc.Run(procCtx)
			<-sweepDone
			<-releaseDone
			<-sourcesDone
		}
	}()
	// Reload on SIGHUP and on file changes. (SIGHUP is caught here, beside
	// the reloader, rather than in cmd: Serve's signature is shared.)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	rl.Prepare = prepareTargets(watchCtx, deliv, members, log)
	rl.OnReload = func(newCfg *config.Config, version, previous string, rerr error) {
		auditReload(watchCtx, st, hooks, log, newCfg, withVerifiers, version, previous, rerr)
		if rerr == nil && cfg.Ingest.Processing() {
			recordInhibitSources(watchCtx, st, rl, log)
		}
	}
	go rl.Watch(watchCtx, hup)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("incidenthub listening", "addr", ln.Addr().String(), "database", st.Dialect,
		"sources", len(cfg.Sources), "processing", cfg.Ingest.Processing())
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	// Shutdown in order: stop accepting and drain in-flight requests (each
	// either stored its event before its 202 or failed), then let workers
	// finish their transactions, then close the store (deferred).
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if shutErr := srv.Shutdown(shutCtx); shutErr != nil {
		err = errors.Join(err, fmt.Errorf("http shutdown: %w", shutErr))
	}
	stopSched()
	<-schedDone
	<-keepDone
	stopProc()
	<-procDone
	// Then let in-flight deliveries finish (or cancel them: each records
	// its attempt and is rescheduled) before the store closes.
	if stopErr := deliv.Stop(shutCtx); stopErr != nil {
		err = errors.Join(err, fmt.Errorf("delivery shutdown: %w", stopErr))
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// slackMembers checks Slack channel membership (slack.channel_members)
// with the bot token of each slack target, through the target's guarded
// HTTP client.
func slackMembers(cfg *config.Config) (*slack.Members, error) {
	var clients []*slack.Client
	for i := range cfg.Targets {
		t := &cfg.Targets[i]
		if t.Type != config.TargetSlack {
			continue
		}
		c, err := slack.New(t.SlackConfig(cfg.Delivery), delivery.HTTPClient(t, cfg.Delivery))
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", t.Name, err)
		}
		clients = append(clients, c)
	}
	return slack.NewMembers(clients...), nil
}

// noticeTimeout bounds sending one owner notice and recording its outcome.
const noticeTimeout = 30 * time.Second

// ownerNotices sends each registry notice to the config's
// registry.notify_target through the delivery engine (the target's guarded
// HTTP client). It is best effort and runs after the change's transaction:
// a failure is logged and audited as registry.notify_failed, and the
// rotation or revocation stands. The notice never carries the secret.
func ownerNotices(st *store.Store, deliv *delivery.Engine, current func() *config.Config, log *slog.Logger) func(context.Context, registry.Notice) {
	return func(ctx context.Context, n registry.Notice) {
		target := current().Registry.NotifyTarget
		if target == "" {
			return
		}
		// The caller's request may end first; the notice should not.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noticeTimeout)
		defer cancel()
		entity := n.Entry.Direction + "/" + n.Entry.Name
		rec := audit.Entry{Actor: audit.ActorSystem, Action: "registry.notified", EntityType: "registry", Entity: entity}
		id, err := uuid.NewV7()
		if err == nil {
			ev := n.Event("msg_"+id.String(), time.Now().UTC())
			rec.Detail = fmt.Sprintf("%s sent to target %s", ev.Type, target)
			err = deliv.Send(ctx, target, ev)
		}
		if err != nil {
			log.Warn("registry: owner notice failed", "entry", entity, "target", target, "err", err)
			rec.Action, rec.Detail = "registry.notify_failed", fmt.Sprintf("notice to target %s failed: %v", target, err)
		} else {
			log.Info("registry: owner notified", "entry", entity, "target", target)
		}
		actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer acancel()
		if err := audit.Record(st.DB.WithContext(actx), rec); err != nil {
			log.Error("audit owner notice", "entry", entity, "err", err)
		}
	}
}

// RegistryTick is how often the registry scheduler runs.
const RegistryTick = 30 * time.Second

// RegistrySpecs builds the registry entries the config declares: every
// inbound source, every outbound target, and the Slack app's signing
// secret.
func RegistrySpecs(cfg *config.Config) []registry.Spec {
	specs := append(registry.FromSources(cfg.Sources), registry.FromTargets(cfg.Targets)...)
	return append(specs, registry.FromSlack(cfg.Slack)...)
}

// registrySpecs is RegistrySpecs with each outbound target's credential
// check (its connector's Verify) attached.
func registrySpecs(cfg *config.Config, deliv *delivery.Engine) []registry.Spec {
	specs := RegistrySpecs(cfg)
	for i := range specs {
		if specs[i].Direction != registry.Outbound {
			continue
		}
		if v := deliv.Verifier(specs[i].Name); v != nil {
			specs[i].Verifier = v
		}
	}
	return specs
}

// OpenRegistry loads the secret key, checks it can open what the database
// holds (refusing to start when secrets are stored or rotation is
// scheduled but no key is configured, unless cfg.Registry.InsecureDevSecrets),
// and syncs the config's entries into the registry. metrics may be nil.
// Call Sync(ctx, RegistrySpecs(newCfg), audit.ActorConfig) again on reload.
func OpenRegistry(ctx context.Context, cfg *config.Config, st *store.Store, getenv func(string) string, log *slog.Logger, metrics prometheus.Registerer) (*registry.Registry, error) {
	return openRegistry(ctx, cfg, st, getenv, log, metrics, true)
}

// ViewRegistry is OpenRegistry for reading metadata only: it does not
// insist on a key (rotate, reveal and verify of stored secrets then fail
// with a message saying so).
func ViewRegistry(ctx context.Context, cfg *config.Config, st *store.Store, getenv func(string) string, log *slog.Logger) (*registry.Registry, error) {
	return openRegistry(ctx, cfg, st, getenv, log, nil, false)
}

func openRegistry(ctx context.Context, cfg *config.Config, st *store.Store, getenv func(string) string, log *slog.Logger, metrics prometheus.Registerer, checkKeys bool) (*registry.Registry, error) {
	keys, err := keyring.Load(getenv(keyring.EnvKey), cfg.Registry.SecretKeyFile)
	if err != nil {
		return nil, err
	}
	if keys == nil && cfg.Registry.InsecureDevSecrets {
		log.Warn("no secret key configured: registry secrets are encrypted with a PUBLICLY KNOWN development key (--insecure-dev-secrets); never use this in production")
		keys = keyring.InsecureDev()
	}
	hooks := registry.New(registry.Options{
		Store: st, Keys: keys, Log: log, Metrics: metrics,
		SecretHealth:     checkKeys,
		MaxSecretAge:     cfg.Registry.MaxSecretAge.Std(),
		AuthFailureSpike: cfg.Registry.AuthFailureSpike,
		VerifyInterval:   cfg.Registry.VerifyEvery(),
	})
	specs := RegistrySpecs(cfg)
	if checkKeys {
		if err := hooks.CheckKeys(ctx, specs); err != nil {
			return nil, err
		}
	}
	if err := hooks.Sync(ctx, specs, audit.ActorConfig); err != nil {
		return nil, err
	}
	return hooks, nil
}

// auditReload records a reload attempt in the audit trail and, when it was
// accepted, syncs the registry with the new config's sources and targets.
func auditReload(ctx context.Context, st *store.Store, hooks *registry.Registry, log *slog.Logger, cfg *config.Config, specs func(*config.Config) []registry.Spec, version, previous string, rerr error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	e := audit.Entry{Actor: audit.ActorConfig, Action: "config.reload", EntityType: "config",
		Before: map[string]string{"version": previous}, After: map[string]string{"version": version}}
	if rerr != nil {
		e.Action, e.After, e.Detail = "config.reload_rejected", nil, rerr.Error()
	} else {
		e.Entity = cfg.File
		if err := hooks.Sync(ctx, specs(cfg), audit.ActorConfig); err != nil {
			log.Error("sync registry after reload", "err", err)
		}
	}
	if err := audit.Record(st.DB.WithContext(ctx), e); err != nil {
		log.Error("audit config reload", "err", err)
	}
}

// CorrelationPolicy converts the config's correlation section.
func CorrelationPolicy(cfg *config.Config) correlation.Policy {
	c := cfg.Correlation
	p := correlation.DefaultPolicy()
	if c.Resolve != "" {
		p.Resolve = c.Resolve
	}
	if c.ReopenWindow != nil {
		p.ReopenWindow = c.ReopenWindow.Std()
	}
	if c.FlapThreshold > 0 {
		p.FlapThreshold = c.FlapThreshold
	}
	if c.FlapWindow > 0 {
		p.FlapWindow = c.FlapWindow.Std()
	}
	if c.AutoResolveAfter != nil {
		p.AutoResolveAfter = c.AutoResolveAfter.Std()
	}
	if c.JoinNotifyInterval > 0 {
		p.JoinNotifyInterval = c.JoinNotifyInterval.Std()
	}
	return p
}

// targetNames lists the config's outbound targets (for the delivery
// metrics, which report each one).
func targetNames(cfg *config.Config) []string {
	names := make([]string, len(cfg.Targets))
	for i := range cfg.Targets {
		names[i] = cfg.Targets[i].Name
	}
	return names
}

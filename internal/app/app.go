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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/delivery"
	"github.com/incidenthub/incidenthub/internal/processor"
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

	// The config and routing rules in force; replaced together on reload.
	rl, err := NewReloader(cfg, getenv, log)
	if err != nil {
		return err
	}

	proc := processor.New(st, log, cfg.Ingest.Workers, cfg.Ingest.PollInterval.Std())
	proc.Router = rl
	proc.Mappings = func() *mappings.Set { return rl.Config().Mappings }
	proc.Observe = func(source, status string, d time.Duration) {
		processed.WithLabelValues(source, status).Observe(d.Seconds())
	}
	// Outbound delivery: jobs are enqueued in the processing transaction
	// (proc.Notifier) and worked here unless this is an accept-only replica.
	deliv, err := delivery.New(ctx, delivery.Options{Store: st, DatabaseURL: cfg.Database.URL.Value(), Config: cfg,
		Log: log, Registry: reg, Work: cfg.Ingest.Processing()})
	if err != nil {
		return err
	}
	proc.Notifier = deliv
	if err := deliv.Start(ctx); err != nil {
		return fmt.Errorf("start delivery: %w", err)
	}
	accepted := func() {}
	if cfg.Ingest.Processing() {
		accepted = proc.Notify
	}
	handler := web.New(web.Deps{
		Store:    st,
		Config:   rl.Config,
		Tokens:   Tokens(cfg, getenv),
		Accepted: accepted,
		Log:      log,
		Registry: reg,

		Rules:        rl.Engine,
		ConfigStatus: rl.Status,
		Deliveries:   deliv,
		Targets:      deliv,
	})
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			_ = deliv.Stop(context.WithoutCancel(ctx))
			return fmt.Errorf("listen: %w", err)
		}
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}

	procCtx, stopProc := context.WithCancel(context.WithoutCancel(ctx))
	procDone := make(chan struct{})
	go func() {
		defer close(procDone)
		if cfg.Ingest.Processing() {
			proc.Run(procCtx)
		}
	}()
	// Reload on SIGHUP and on file changes. (SIGHUP is caught here, beside
	// the reloader, rather than in cmd: Serve's signature is shared.)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
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

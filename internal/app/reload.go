package app

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/rules"
	"github.com/incidenthub/incidenthub/web"
)

// Reloader holds the active configuration and routing rules and replaces
// both together, atomically, when the files change or on SIGHUP. A new
// config that does not validate is rejected and logged; the last good one
// keeps running.
//
// Sources, routing and rules take effect on reload. Listen, database,
// ingest, api and trusted_proxies need a restart: they are kept from the
// config the process started with.
type Reloader struct {
	path   string
	getenv func(string) string
	log    *slog.Logger
	opts   []rules.Option
	base   *config.Config // as started, with command-line overrides

	active atomic.Pointer[loaded]

	// OnReload, when set, is called after every reload attempt with the
	// new config (nil when rejected), the versions and the error.
	OnReload func(cfg *config.Config, version, previous string, err error)

	mu      sync.Mutex // serialises reloads and guards the fields below
	lastAt  *time.Time
	lastErr string
}

type loaded struct {
	cfg *config.Config
	eng *rules.Engine
}

var _ processor.Router = (*Reloader)(nil)

// NewReloader loads the rules for cfg (read from cfg.File) and returns a
// Reloader serving them. The error lists every problem in the files.
func NewReloader(cfg *config.Config, getenv func(string) string, log *slog.Logger, opts ...rules.Option) (*Reloader, error) {
	r := &Reloader{path: cfg.File, getenv: getenv, log: log, opts: opts, base: cfg}
	fresh, eng, err := rules.Load(cfg.File, getenv, opts...)
	if err != nil {
		return nil, err
	}
	r.active.Store(&loaded{cfg: r.keepRestartOnly(fresh), eng: eng})
	return r, nil
}

// keepRestartOnly copies into fresh the settings a running process cannot
// change.
func (r *Reloader) keepRestartOnly(fresh *config.Config) *config.Config {
	fresh.Listen = r.base.Listen
	fresh.Database = r.base.Database
	fresh.Ingest = r.base.Ingest
	fresh.API = r.base.API
	fresh.TrustedProxies = r.base.TrustedProxies
	return fresh
}

// Config returns the active configuration.
func (r *Reloader) Config() *config.Config { return r.active.Load().cfg }

// Engine returns the active routing rules.
func (r *Reloader) Engine() *rules.Engine { return r.active.Load().eng }

// Route implements processor.Router with the active rules.
func (r *Reloader) Route(a incidenthub.Alert) (processor.Routing, error) {
	return r.active.Load().eng.Route(a)
}

// Status describes the active configuration and the last reload.
func (r *Reloader) Status() web.ConfigStatus {
	l := r.active.Load()
	r.mu.Lock()
	defer r.mu.Unlock()
	return web.ConfigStatus{
		Version: l.eng.Version, LoadedAt: l.eng.LoadedAt, File: l.eng.File, RulesDir: l.eng.Dir,
		RulesFiles: slices.Clone(l.eng.Files), Rules: l.eng.Rules(), Silences: len(l.eng.Silences()),
		Sources: len(l.cfg.Sources), LastReloadAt: r.lastAt, LastReloadError: r.lastErr,
	}
}

// Reload reads the files again. On success the new config and rules
// replace the old ones (unless nothing changed); on failure the old ones
// stay, and the error is logged, returned and shown by Status.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now().UTC()
	r.lastAt = &now
	cur := r.active.Load()
	cfg, eng, err := rules.Load(r.path, r.getenv, r.opts...)
	if err != nil {
		r.lastErr = err.Error()
		r.log.Error("config reload rejected; the last good config keeps running",
			"file", r.path, "running_version", cur.eng.Version, "problems", err.Error())
		if r.OnReload != nil {
			r.OnReload(nil, "", cur.eng.Version, err)
		}
		return err
	}
	r.lastErr = ""
	// Swapped even when the files are unchanged (same version): values
	// from the environment may differ.
	r.active.Store(&loaded{cfg: r.keepRestartOnly(cfg), eng: eng})
	if eng.Version == cur.eng.Version {
		r.log.Debug("config reloaded: files unchanged", "version", eng.Version)
		return nil
	}
	r.log.Info("config reloaded", "file", r.path, "version", eng.Version, "previous_version", cur.eng.Version,
		"sources", len(cfg.Sources), "rules", eng.Rules(), "silences", len(eng.Silences()))
	if r.OnReload != nil {
		r.OnReload(cfg, eng.Version, cur.eng.Version, nil)
	}
	return nil
}

// reloadDebounce gathers an editor's burst of file events into one reload.
const reloadDebounce = 200 * time.Millisecond

// Watch reloads on every value from hup (SIGHUP) and whenever the config
// file or a file in the rules directory changes, until ctx is done.
func (r *Reloader) Watch(ctx context.Context, hup <-chan os.Signal) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		r.log.Warn("cannot watch config files; reload with SIGHUP", "err", err)
	}
	var events chan fsnotify.Event
	var errs chan error
	watched := map[string]bool{}
	watch := func() {
		if w == nil {
			return
		}
		// Directories, not files: editors replace files by renaming.
		want := map[string]bool{filepath.Dir(r.path): true}
		if d := r.Engine().Dir; d != "" {
			want[d] = true
		}
		for d := range watched {
			if !want[d] {
				_ = w.Remove(d)
				delete(watched, d)
			}
		}
		for d := range want {
			if watched[d] {
				continue
			}
			if err := w.Add(d); err != nil {
				r.log.Warn("cannot watch directory; reload with SIGHUP", "dir", d, "err", err)
				continue
			}
			watched[d] = true
		}
	}
	if w != nil {
		defer w.Close()
		events, errs = w.Events, w.Errors
		watch()
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.log.Info("SIGHUP: reloading config", "file", r.path)
			_ = r.Reload()
			watch()
		case ev := <-events:
			if r.relevant(ev.Name) {
				timer.Reset(reloadDebounce)
			}
		case err := <-errs:
			r.log.Warn("watching config files", "err", err)
		case <-timer.C:
			_ = r.Reload()
			watch()
		}
	}
}

// relevant reports whether a change to name may change the config: the
// config file itself or a rules file.
func (r *Reloader) relevant(name string) bool {
	name = filepath.Clean(name)
	if name == filepath.Clean(r.path) {
		return true
	}
	d := r.Engine().Dir
	return d != "" && filepath.Dir(name) == filepath.Clean(d) &&
		(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml"))
}

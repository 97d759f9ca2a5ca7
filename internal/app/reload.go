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
// Sources, routing, rules, mapping files, API tokens, trusted_proxies and
// targets take effect on reload; the settings listed in restart.go need a
// restart: they are kept from the config the process started with, and a
// reload that changes one names it (log line, Status).
type Reloader struct {
	path    string
	getenv  func(string) string
	log     *slog.Logger
	opts    []rules.Option
	base    *config.Config // as started, with command-line overrides
	started map[string]any // the file's restart-only settings at start

	active atomic.Pointer[loaded]

	// Prepare, when set, is called with each new config that loaded,
	// before it replaces the running one (e.g. to build its targets'
	// connectors); an error rejects the reload.
	Prepare func(cfg *config.Config) error

	// OnReload, when set, is called after every reload attempt with the
	// new config (nil when rejected), the versions and the error.
	OnReload func(cfg *config.Config, version, previous string, err error)

	mu sync.Mutex // serialises reloads
	// statusMu guards the fields below; held only to read or set them, so
	// Status (and the reload-status metrics) never waits for a reload.
	statusMu sync.Mutex
	lastAt   *time.Time
	lastErr  string
}

type loaded struct {
	cfg     *config.Config
	eng     *rules.Engine
	tokens  []config.APIToken // Tokens(cfg, getenv)
	restart []string          // restartRequired against the start
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
	r.started = restartValues(fresh)
	r.active.Store(r.loaded(fresh, eng))
	return r, nil
}

// loaded makes what a freshly loaded config serves.
func (r *Reloader) loaded(fresh *config.Config, eng *rules.Engine) *loaded {
	restart := restartRequired(r.started, fresh)
	cfg := r.keepRestartOnly(fresh)
	return &loaded{cfg: cfg, eng: eng, tokens: Tokens(cfg, r.getenv), restart: restart}
}

// Config returns the active configuration.
func (r *Reloader) Config() *config.Config { return r.active.Load().cfg }

// Tokens returns the API tokens in force: the active config's plus
// INCIDENTHUB_API_TOKEN's (read at the last reload).
func (r *Reloader) Tokens() []config.APIToken { return r.active.Load().tokens }

// Engine returns the active routing rules.
func (r *Reloader) Engine() *rules.Engine { return r.active.Load().eng }

// Route implements processor.Router with the active rules.
func (r *Reloader) Route(a incidenthub.Alert) (processor.Routing, error) {
	return r.active.Load().eng.Route(a)
}

// Status describes the active configuration and the last reload.
func (r *Reloader) Status() web.ConfigStatus {
	r.statusMu.Lock()
	defer r.statusMu.Unlock()
	l := r.active.Load() // under statusMu: the config and the outcome that installed it agree
	return web.ConfigStatus{
		Version: l.eng.Version, LoadedAt: l.eng.LoadedAt, File: l.eng.File, RulesDir: l.eng.Dir,
		RulesFiles: slices.Clone(l.eng.Files), Rules: l.eng.Rules(), Silences: len(l.eng.Silences()),
		Sources: len(l.cfg.Sources), LastReloadAt: r.lastAt, LastReloadError: r.lastErr,
		MappingFiles: slices.Clone(l.eng.MappingFiles), RestartRequired: slices.Clone(l.restart),
	}
}

// Reload reads the files again. On success the new config and rules
// replace the old ones (unless nothing changed); on failure the old ones
// stay, and the error is logged, returned and shown by Status.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now().UTC()
	cur := r.active.Load()
	cfg, eng, err := rules.Load(r.path, r.getenv, r.opts...)
	next := (*loaded)(nil)
	if err == nil {
		next = r.loaded(cfg, eng)
		if r.Prepare != nil {
			err = r.Prepare(next.cfg)
		}
	}
	if err != nil {
		r.statusMu.Lock() // the attempt's time and outcome together
		r.lastAt, r.lastErr = &now, err.Error()
		r.statusMu.Unlock()
		r.log.Error("config reload rejected; the last good config keeps running",
			"file", r.path, "running_version", cur.eng.Version, "problems", err.Error())
		if r.OnReload != nil {
			r.OnReload(nil, "", cur.eng.Version, err)
		}
		return err
	}
	// Swapped even when the files are unchanged (same version): values
	// from the environment may differ.
	r.statusMu.Lock() // the config and the reload's outcome together
	r.active.Store(next)
	r.lastAt, r.lastErr = &now, ""
	r.statusMu.Unlock()
	if eng.Version == cur.eng.Version {
		r.log.Debug("config reloaded: files unchanged", "version", eng.Version, "restart_required", next.restart)
		return nil
	}
	if len(next.restart) > 0 {
		r.log.Warn("config reloaded; some changed settings take effect only after a restart (their running values are kept)",
			"file", r.path, "version", eng.Version, "previous_version", cur.eng.Version, "restart_required", next.restart,
			"sources", len(cfg.Sources), "targets", len(cfg.Targets), "rules", eng.Rules(), "silences", len(eng.Silences()))
	} else {
		r.log.Info("config reloaded", "file", r.path, "version", eng.Version, "previous_version", cur.eng.Version,
			"sources", len(cfg.Sources), "targets", len(cfg.Targets), "rules", eng.Rules(), "silences", len(eng.Silences()))
	}
	if r.OnReload != nil {
		r.OnReload(cfg, eng.Version, cur.eng.Version, nil)
	}
	return nil
}

// reloadDebounce gathers an editor's burst of file events into one reload.
const reloadDebounce = 200 * time.Millisecond

// Watch reloads on every value from hup (SIGHUP) and whenever the config
// file, a file in the rules directory or a mapping file (or a file in a
// mappings directory) changes, until ctx is done.
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
		eng := r.Engine()
		want := map[string]bool{filepath.Dir(r.path): true}
		if d := eng.Dir; d != "" {
			want[d] = true
		}
		for _, d := range eng.MappingDirs {
			want[d] = true
		}
		for _, f := range eng.MappingFiles {
			want[filepath.Dir(f)] = true
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
// config file itself, a rules file, or a mapping file.
func (r *Reloader) relevant(name string) bool {
	name = filepath.Clean(name)
	if name == filepath.Clean(r.path) {
		return true
	}
	eng := r.Engine()
	for _, f := range eng.MappingFiles {
		if name == filepath.Clean(f) {
			return true
		}
	}
	if !strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml") {
		return false
	}
	dir := filepath.Dir(name)
	if eng.Dir != "" && dir == filepath.Clean(eng.Dir) {
		return true
	}
	for _, d := range eng.MappingDirs {
		if dir == filepath.Clean(d) {
			return true
		}
	}
	return false
}

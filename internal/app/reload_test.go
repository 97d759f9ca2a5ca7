package app_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/rules"
)

var targets = rules.WithTargets("slack-a", "slack-b", "slack-env")

const reloadConfig = `
sources:
  - {name: gen, kind: generic, auth: {type: none}}
routing:
  rules_dir: rules.d
`

func rulesRouting(target string) string {
	return "rules:\n  - name: r\n    when: 'service == \"payments\"'\n    route: [\"" + target + "\"]\n"
}

// env is a getenv whose values a test may change.
type env struct {
	mu sync.Mutex
	m  map[string]string
}

func (e *env) get(k string) string { e.mu.Lock(); defer e.mu.Unlock(); return e.m[k] }
func (e *env) set(k, v string)     { e.mu.Lock(); defer e.mu.Unlock(); e.m[k] = v }

type fixture struct {
	dir, cfgPath, rulesPath string
	rl                      *app.Reloader
	env                     *env
}

func newFixture(t *testing.T, cfgText string) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), env: &env{m: map[string]string{"TARGET": "slack-env"}}}
	require.NoError(t, os.Mkdir(filepath.Join(f.dir, "rules.d"), 0o755))
	f.cfgPath = filepath.Join(f.dir, "hub.yaml")
	f.rulesPath = filepath.Join(f.dir, "rules.d", "10-routing.yaml")
	require.NoError(t, os.WriteFile(f.cfgPath, []byte(cfgText), 0o644))
	require.NoError(t, os.WriteFile(f.rulesPath, []byte(rulesRouting("slack-a")), 0o644))
	cfg, err := config.Load(f.cfgPath, f.env.get)
	require.NoError(t, err)
	cfg.Listen = "127.0.0.1:1" // a command-line override
	f.rl, err = app.NewReloader(cfg, f.env.get, slog.New(slog.NewTextHandler(io.Discard, nil)), targets)
	require.NoError(t, err)
	return f
}

func (f *fixture) routes(t *testing.T) []string {
	t.Helper()
	r, err := f.rl.Route(incidenthub.Alert{Source: "gen", Service: "payments", Status: incidenthub.AlertFiring})
	require.NoError(t, err)
	return r.Targets
}

func TestReloadKeepsLastGoodConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t, reloadConfig)
	require.Equal(t, []string{"slack-a"}, f.routes(t))
	v1 := f.rl.Status().Version

	// A broken rules file is rejected: the old rules still apply, and the
	// error is reported with its position.
	require.NoError(t, os.WriteFile(f.rulesPath, []byte(rulesRouting("slack-nope")), 0o644))
	err := f.rl.Reload()
	require.ErrorContains(t, err, `10-routing.yaml:4:13: rules[0].route[0]: unknown target "slack-nope"`)
	require.Equal(t, []string{"slack-a"}, f.routes(t))
	st := f.rl.Status()
	require.Equal(t, v1, st.Version)
	require.Contains(t, st.LastReloadError, "slack-nope")

	// So is a broken config file.
	require.NoError(t, os.WriteFile(f.cfgPath, []byte(reloadConfig+"bogus: 1\n"), 0o644))
	require.ErrorContains(t, f.rl.Reload(), "hub.yaml:6:1: bogus: unknown key")
	require.NoError(t, os.WriteFile(f.cfgPath, []byte(reloadConfig), 0o644))

	// A good one replaces config and rules together; the error clears.
	require.NoError(t, os.WriteFile(f.rulesPath, []byte(rulesRouting("slack-b")), 0o644))
	require.NoError(t, f.rl.Reload())
	require.Equal(t, []string{"slack-b"}, f.routes(t))
	st = f.rl.Status()
	require.NotEqual(t, v1, st.Version)
	require.Empty(t, st.LastReloadError)
	require.Equal(t, "127.0.0.1:1", f.rl.Config().Listen, "restart-only settings keep their running values")

	// Sources change on reload.
	require.NoError(t, os.WriteFile(f.cfgPath, []byte(`
sources:
  - {name: gen, kind: generic, auth: {type: none}}
  - {name: gen2, kind: generic, auth: {type: none}}
routing:
  rules_dir: rules.d
`), 0o644))
	require.NoError(t, f.rl.Reload())
	_, ok := f.rl.Config().Source("gen2")
	require.True(t, ok)
}

// Watch reloads when files change (after a short debounce) and on SIGHUP.
func TestWatchReloadsOnFileChangeAndSIGHUP(t *testing.T) {
	// Not parallel: it sends this process a real SIGHUP.
	f := newFixture(t, reloadConfig)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	done := make(chan struct{})
	go func() { f.rl.Watch(ctx, hup); close(done) }()
	time.Sleep(100 * time.Millisecond) // let the watcher start

	require.NoError(t, os.WriteFile(f.rulesPath, []byte("rules: [\n"), 0o644))
	require.Eventually(t, func() bool { return f.rl.Status().LastReloadError != "" }, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, []string{"slack-a"}, f.routes(t), "the bad file is rejected; the old rules apply")

	// An editor's save: write a temporary file and rename it over.
	tmp := filepath.Join(f.dir, "rules.d", ".10-routing.yaml.swp")
	require.NoError(t, os.WriteFile(tmp, []byte(rulesRouting("slack-b")), 0o644))
	require.NoError(t, os.Rename(tmp, f.rulesPath))
	require.Eventually(t, func() bool { return f.rl.Status().LastReloadError == "" }, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, []string{"slack-b"}, f.routes(t))

	// A change no file shows (an environment variable) needs SIGHUP.
	require.NoError(t, os.WriteFile(f.rulesPath, []byte(rulesRouting("${TARGET}")), 0o644))
	require.Eventually(t, func() bool {
		r, _ := f.rl.Route(incidenthub.Alert{Source: "gen", Service: "payments"})
		return len(r.Targets) == 1 && r.Targets[0] == "slack-env"
	}, 10*time.Second, 20*time.Millisecond)
	f.env.set("TARGET", "slack-a")
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool {
		r, _ := f.rl.Route(incidenthub.Alert{Source: "gen", Service: "payments"})
		return len(r.Targets) == 1 && r.Targets[0] == "slack-a"
	}, 10*time.Second, 20*time.Millisecond)

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return after cancel")
	}
}

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/registry"
	"github.com/incidenthub/incidenthub/internal/store"
)

const registryUsage = `usage: incidenthub registry <list|show|rotate|revoke|rekey|reveal|verify|export> [NAME] --config FILE [flags]

  list                 every entry with its owner, secret age, next rotation and flags
  show NAME            one entry in full (YAML)
  rotate NAME          new secret, shown once; the old one stays valid for --overlap
                       (--secret-file FILE: the new secret a vendor issued, e.g. Sentry's, PagerDuty's)
  revoke NAME          revoke every secret now and issue a new one (--previous: end the overlap only)
  rekey                re-encrypt every stored secret under the current key (old keys must still be configured)
                       rotate, revoke and rekey refuse when a running hub lacks the key they seal with
                       (--force: seal anyway); their owner notices are sent by a running hub
  reveal NAME          show a secret the scheduler generated, once
  verify NAME          check the entry's credentials and record the result
  export               the whole registry for auditors (--format yaml|csv, --output FILE)
`

// registryCmd runs `incidenthub registry …` against the configured
// database directly, so it works whether or not a hub is running.
func registryCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("registry: want a subcommand\n\n" + registryUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("registry "+sub, flag.ContinueOnError)
	setUsage(fs, stderr)
	var c common
	c.register(fs)
	insecure := fs.Bool("insecure-dev-secrets", false, "use the publicly known development key when no key is configured (as serve --insecure-dev-secrets)")
	direction := fs.String("direction", "", "inbound or outbound (list filter; or to pick between two entries of one name)")
	var (
		asJSON   *bool
		owner    *string
		stale    *bool
		overdue  *bool
		failing  *bool
		overlap  *time.Duration
		supplied *string
		previous *bool
		format   *string
		output   *string
	)
	needName := true
	var force *bool
	if sub == "rotate" || sub == "revoke" || sub == "rekey" {
		force = fs.Bool("force", false, "seal even when a running hub lacks the key (that hub then answers 503 for the entry)")
	}
	switch sub {
	case "list":
		needName = false
		asJSON = fs.Bool("json", false, "print JSON instead of a table")
		owner = fs.String("owner", "", "only entries of this owner (name or contact)")
		stale = fs.Bool("stale", false, "only stale entries")
		overdue = fs.Bool("overdue", false, "only entries whose rotation is overdue")
		failing = fs.Bool("failing", false, "only failing entries")
	case "show", "reveal", "verify":
	case "rotate":
		overlap = fs.Duration("overlap", -1, "how long the old secret stays valid (default: the entry's rotation.overlap, else 24h)")
		supplied = fs.String("secret-file", "", "read the new secret from this file (one line; /dev/stdin works) instead of generating one: for secrets a vendor issues (Sentry, PagerDuty)")
	case "revoke":
		previous = fs.Bool("previous", false, "revoke only the previous secret (end a rotation's overlap now)")
	case "rekey":
		needName = false
	case "export":
		needName = false
		format = fs.String("format", "yaml", "yaml or csv")
		output = fs.String("output", "", "write to this file instead of standard output")
	case "-h", "--help", "help":
		fmt.Fprint(stdout, registryUsage)
		return nil
	default:
		return usageError(fmt.Sprintf("registry: unknown subcommand %q\n\n%s", sub, registryUsage))
	}
	// Flags may come before or after NAME.
	if err := fs.Parse(args); err != nil {
		return err
	}
	var name string
	if needName {
		if fs.NArg() == 0 {
			return usageError(fmt.Sprintf("registry %s: NAME is required", sub))
		}
		name = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("registry %s: unexpected argument %q", sub, fs.Arg(0)))
	}
	if format != nil && *format != "yaml" && *format != "csv" {
		return usageError(fmt.Sprintf("--format %q: want yaml or csv", *format))
	}

	cfg, err := c.load(getenv)
	if err != nil {
		return err
	}
	cfg.Registry.InsecureDevSecrets = *insecure
	st, err := app.OpenStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Ready(ctx); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	open := app.OpenRegistry
	if sub == "list" || sub == "show" || sub == "export" {
		open = func(ctx context.Context, cfg *config.Config, st *store.Store, getenv func(string) string, log *slog.Logger, _ prometheus.Registerer) (*registry.Registry, error) {
			return app.ViewRegistry(ctx, cfg, st, getenv, log)
		}
	}
	hooks, err := open(ctx, cfg, st, getenv, log, nil)
	if err != nil {
		return err
	}
	actor := "cli:" + cmpStr(getenv("USER"), "unknown")
	// The CLI runs no delivery engine: a running hub sends its notices.
	hooks.QueueNotices()
	if sub == "rekey" || sub == "rotate" || (sub == "revoke" && !*previous) {
		if err := checkHubKeys(ctx, hooks, *force, stderr); err != nil {
			return err
		}
	}

	switch sub {
	case "list":
		f := registry.ListFilter{Direction: *direction, Owner: *owner}
		for _, p := range []struct {
			set *bool
			dst **bool
		}{{stale, &f.Stale}, {overdue, &f.RotationOverdue}, {failing, &f.Failing}} {
			if *p.set {
				*p.dst = p.set
			}
		}
		list, err := hooks.List(ctx, f)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(list)
		}
		return printTable(stdout, list)
	case "show":
		e, err := hooks.Get(ctx, *direction, name)
		if err != nil {
			return err
		}
		return yaml.NewEncoder(stdout).Encode(e)
	case "rotate":
		var ov *time.Duration
		if *overlap >= 0 {
			ov = overlap
		}
		if *supplied != "" {
			b, err := os.ReadFile(*supplied)
			if err != nil {
				return fmt.Errorf("--secret-file: %w", err)
			}
			var e registry.Entry
			err = store.RetryBusy(ctx, func() (err error) {
				e, err = hooks.RotateTo(ctx, actor, *direction, name, strings.TrimRight(string(b), "\r\n"), ov)
				return err
			})
			if err != nil {
				return err
			}
			return printSecret(stdout, "rotated (to the supplied secret)", e, "")
		}
		var (
			e      registry.Entry
			secret string
		)
		err := store.RetryBusy(ctx, func() (err error) { e, secret, err = hooks.Rotate(ctx, actor, *direction, name, ov); return err })
		if err != nil {
			return err
		}
		return printSecret(stdout, "rotated", e, secret)
	case "revoke":
		var (
			e      registry.Entry
			secret string
		)
		err := store.RetryBusy(ctx, func() (err error) { e, secret, err = hooks.Revoke(ctx, actor, *direction, name, *previous); return err })
		if err != nil {
			return err
		}
		return printSecret(stdout, "revoked", e, secret)
	case "rekey":
		return rekey(ctx, hooks, actor, stdout)
	case "reveal":
		e, secret, err := hooks.Reveal(ctx, actor, *direction, name)
		if err != nil {
			return err
		}
		return printSecret(stdout, "revealed", e, secret)
	case "verify":
		e, v, err := hooks.Verify(ctx, actor, *direction, name)
		if err != nil {
			return err
		}
		if !v.OK {
			return fmt.Errorf("verify %s %s: %s", e.Direction, e.Name, v.Error)
		}
		fmt.Fprintf(stdout, "%s %s: verified at %s\n", e.Direction, e.Name, e.LastVerifiedAt.Format(time.RFC3339))
		return nil
	case "export":
		list, err := hooks.List(ctx, registry.ListFilter{Direction: *direction})
		if err != nil {
			return err
		}
		w := stdout
		if *output != "" {
			f, err := os.OpenFile(*output, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		if *format == "csv" {
			err = registry.WriteCSV(w, list)
		} else {
			err = yaml.NewEncoder(w).Encode(map[string]any{"exported_at": time.Now().UTC().Format(time.RFC3339), "entries": list})
		}
		if err != nil {
			return err
		}
		if *output != "" {
			fmt.Fprintf(stderr, "exported %d entries to %s\n", len(list), *output)
		}
	}
	return nil
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func printSecret(w io.Writer, what string, e registry.Entry, secret string) error {
	fmt.Fprintf(w, "%s %s %s: secret version %d", what, e.Direction, e.Name, e.Secret.Version)
	if e.Secret.PreviousValidUntil != nil {
		fmt.Fprintf(w, "; the previous secret stays valid until %s", e.Secret.PreviousValidUntil.Format(time.RFC3339))
	}
	fmt.Fprintln(w)
	if secret != "" {
		fmt.Fprintf(w, "new secret (shown once, store it now):\n%s\n", secret)
	}
	return nil
}

func flagList(e registry.Entry) string { return strings.Join(e.FlagNames(), ",") }

func timeOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

func printTable(w io.Writer, list []registry.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DIRECTION\tNAME\tKIND\tMANAGED\tOWNER\tAUTH\tSECRET\tNEXT ROTATION\tFLAGS")
	for _, e := range list {
		secret := "-"
		if e.Secret.Present {
			secret = fmt.Sprintf("v%d %s %.0fd", e.Secret.Version, e.Secret.Origin, e.Secret.AgeDays)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Direction, e.Name, e.Kind, e.ManagedBy,
			cmpStr(e.Owner.Name, "-"), cmpStr(e.AuthMethod, "-"), secret, timeOr(e.Rotation.NextDueAt, "-"), cmpStr(flagList(e), "-"))
	}
	return tw.Flush()
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/mappings"
	"github.com/incidenthub/incidenthub/rules"
)

const usage = `usage: incidenthub <command> [flags]

commands:
  serve          run the hub (HTTP, processing) until SIGINT/SIGTERM
  migrate up     apply pending database migrations
  migrate status list migrations and whether each is applied
  config check   validate a config file and its rules and report every problem
  rules test     dry-run the routing rules against a payload
  sources list   list the source kinds: built-in and the config's mappings
  registry       list|show|rotate|revoke|rekey|reveal|verify|export the webhook registry
  silence        add|list|expire|extend|query runtime silences on a running hub (--url)
  version        print the version, VCS revision, build date and Go version (also --version)
  completion     bash|zsh: print a shell completion script

run "incidenthub <command> --help" for a command's flags.
`

// EnvDatabaseURL overrides database.url from the config file.
const EnvDatabaseURL = "INCIDENTHUB_DATABASE_URL"

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[1], args[2:]; cmd {
	case "serve":
		err = serve(ctx, rest, getenv, stderr)
	case "migrate":
		err = migrate(ctx, rest, getenv, stdout, stderr)
	case "config":
		if len(rest) == 0 || rest[0] != "check" {
			err = usageError("config: want `config check --config FILE`")
			break
		}
		err = configCheck(rest[1:], getenv, stdout, stderr)
	case "rules":
		if len(rest) == 0 || rest[0] != "test" {
			err = usageError("rules: want `rules test --config FILE --source NAME --payload FILE`")
			break
		}
		err = rulesTest(ctx, rest[1:], getenv, stdout, stderr)
	case "registry":
		err = registryCmd(ctx, rest, getenv, stdout, stderr)
	case "sources":
		err = sourcesCmd(rest, getenv, stdout, stderr)
	case "silence":
		err = silenceCmd(ctx, rest, getenv, stdout, stderr)
	case "version", "--version":
		err = versionCmd(rest, stdout, stderr)
	case "completion":
		err = completionCmd(rest, stdout)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = usageError(fmt.Sprintf("unknown command %q", cmd))
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "incidenthub: %s\n\n%s", ue, usage)
		return 2
	}
	fmt.Fprintf(stderr, "incidenthub: %v\n", err)
	return 1
}

type usageError string

func (e usageError) Error() string { return string(e) }

// common holds the flags every store-using command shares.
type common struct {
	config   string
	database string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", "", "config file (YAML); required")
	fs.StringVar(&c.database, "database", "", "database URL (postgres://…); overrides database.url and $"+EnvDatabaseURL)
}

// load reads the config and applies the database override: the flag wins
// over the environment, which wins over the file.
func (c *common) load(getenv func(string) string) (*config.Config, error) {
	if c.config == "" {
		return nil, usageError("--config FILE is required")
	}
	cfg, err := config.Load(c.config, getenv)
	if err != nil {
		return nil, err
	}
	url := c.database
	if url == "" {
		url = getenv(EnvDatabaseURL)
	}
	if url != "" {
		if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
			return nil, usageError("database URL must start with postgres://")
		}
		cfg.Database.URL = config.Secret(url)
	}
	return cfg, nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	setUsage(fs, stderr)
	var c common
	c.register(fs)
	listen := fs.String("listen", "", "listen address, e.g. 127.0.0.1:8080; overrides listen in the config")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error; overrides logging.level in the config")
	format := fs.String("log-format", "text", "log format: text or json (one JSON object a line); overrides logging.format in the config")
	insecure := fs.Bool("insecure-dev-secrets", false, "without INCIDENTHUB_SECRET_KEY or registry.secret_key_file, encrypt registry secrets with a publicly known key (laptops only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := c.load(getenv)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	cfg.Registry.InsecureDevSecrets = *insecure
	log, err := serveLogger(fs, cfg, stderr, *format, *level)
	if err != nil {
		return err
	}
	return app.Serve(ctx, cfg, getenv, log, nil, nil)
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "up" && args[0] != "status") {
		return usageError("migrate: want `migrate up` or `migrate status`")
	}
	sub := args[0]
	fs := flag.NewFlagSet("migrate "+sub, flag.ContinueOnError)
	setUsage(fs, stderr)
	var c common
	c.register(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := c.load(getenv)
	if err != nil {
		return err
	}
	st, err := app.OpenStore(ctx, cfg, sub == "up")
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.Migrations(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "VERSION\tSTATE\tAPPLIED AT\tFILE\n")
	for _, m := range list {
		state, at := "pending", "-"
		if m.Applied {
			state, at = "applied", m.AppliedAt.UTC().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", m.Version, state, at, m.Source)
	}
	return tw.Flush()
}

func configCheck(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	setUsage(fs, stderr)
	file := fs.String("config", "", "config file (YAML); required")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return usageError("--config FILE is required")
	}
	cfg, eng, err := rules.Load(*file, getenv)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d sources, %d rules, %d silences; version %s)\n", *file, len(cfg.Sources), eng.Rules(), len(eng.Silences()), eng.Version)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, s := range cfg.Sources {
		from := "built-in"
		if m, ok := cfg.Mappings.Inbound(s.Kind); ok && !mappings.KnownKind(s.Kind) {
			from = m.File
		}
		fmt.Fprintf(tw, "  source %s\tkind %s\t(%s)\n", s.Name, s.Kind, from)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, r := range eng.InhibitRules() {
		fmt.Fprintf(tw, "  inhibit rule %s\tsource %s\ttarget %s\tequal [%s]\t(%s:%d)\n", r.Name, r.Source, r.Target, strings.Join(r.Equal, ", "), r.File, r.Line)
	}
	return tw.Flush()
}

func rulesTest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rules test", flag.ContinueOnError)
	setUsage(fs, stderr)
	file := fs.String("config", "", "config file (YAML); required")
	source := fs.String("source", "", "source name, as in POST /hooks/{source}; required")
	payload := fs.String("payload", "", "file holding the webhook body (JSON); required")
	at := fs.String("at", "", "evaluate as if received at this RFC 3339 time (silences); default now")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	incidents := fs.Bool("incidents", false, "look up the open incidents that inhibit each alert in the config's database (read only; $"+EnvDatabaseURL+" overrides it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || *source == "" || *payload == "" {
		return usageError("rules test: --config, --source and --payload are required")
	}
	when := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usageError(fmt.Sprintf("--at %q: want an RFC 3339 time such as 2026-11-21T23:30:00Z", *at))
		}
		when = t
	}
	body, err := os.ReadFile(*payload)
	if err != nil {
		return fmt.Errorf("read payload: %w", err)
	}
	cfg, eng, err := rules.Load(*file, getenv)
	if err != nil {
		return err
	}
	rep, err := eng.Test(*source, body, when)
	if err != nil {
		return errors.New(incidenthub.ErrorMessage(err))
	}
	if *incidents {
		if url := getenv(EnvDatabaseURL); url != "" {
			cfg.Database.URL = config.Secret(url)
		}
		st, err := app.OpenStore(ctx, cfg, false)
		if err != nil {
			return err
		}
		defer st.Close()
		db := st.DB.WithContext(ctx)
		if err := rep.FindInhibitors(func(in processor.Inhibit) (int64, error) { return processor.FindInhibitor(db, in) }); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.WriteText(stdout)
	return nil
}

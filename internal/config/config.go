// Package config loads the hub's YAML configuration: strictly (an unknown
// key is an error), reporting every problem at once with file, line and key,
// and resolving ${ENV_VAR} references so secrets stay out of the file.
package config

import (
	"errors"
	"fmt"
	"github.com/incidenthub/incidenthub/internal/problem"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/incidenthub/incidenthub/mappings"
)

// Defaults.
const (
	DefaultListen       = "127.0.0.1:8080"
	DefaultSQLitePath   = "incidenthub.db"
	DefaultMaxBodyBytes = 1 << 20
	DefaultWorkers      = 4
)

// Config is the whole configuration file.
type Config struct {
	Listen string `yaml:"listen"`
	// TrustedProxies are the proxy addresses (IPs or CIDRs) whose
	// X-Forwarded-For is believed when checking a source's allow_ips.
	// Empty: the TCP peer address is the client.
	TrustedProxies []string `yaml:"trusted_proxies"`
	Database       Database `yaml:"database"`
	API            API      `yaml:"api"`
	Ingest         Ingest   `yaml:"ingest"`
	Sources        []Source `yaml:"sources"`
	Routing        Routing  `yaml:"routing"`
	// MappingFiles are inbound mapping files, or directories of *.yaml
	// mapping files, each defining a source kind; relative paths are from
	// the config file's directory.
	MappingFiles []string `yaml:"mappings"`
	Targets      []Target `yaml:"targets"`
	Delivery     Delivery `yaml:"delivery"`
	Registry     Registry `yaml:"registry"`
	// Correlation tunes incident lifecycle, flapping and notification
	// throttling (correlation.go).
	Correlation Correlation `yaml:"correlation"`

	// Mappings is the built-in mappings plus MappingFiles, loaded by Parse.
	Mappings *mappings.Set `yaml:"-"`
	// File is the path the config was read from.
	File string `yaml:"-"`

	// TargetNames are the names of the configured outbound targets, which
	// HasTarget consults besides the targets section;
	// config hooks (ParseWith) may add to it.
	TargetNames []string `yaml:"-"`

	doc *document // positions of the file's keys, for Report
}

// Database selects the store. An empty URL means the embedded SQLite file.
type Database struct {
	URL          Secret `yaml:"url"`
	Path         string `yaml:"path"`
	MaxOpenConns int    `yaml:"max_open_conns"`
}

// API configures the JSON API.
type API struct {
	Tokens []APIToken `yaml:"tokens"`
}

// Roles, from least to most privileged.
const (
	RoleViewer   = "viewer"
	RoleOperator = "operator"
	RoleAdmin    = "admin"
)

// APIToken is one bearer token with a name (recorded as the actor) and a role.
type APIToken struct {
	Name  string `yaml:"name"`
	Token Secret `yaml:"token"`
	Role  string `yaml:"role"`
}

// Ingest configures how inbound events are accepted and processed.
type Ingest struct {
	MaxBodyBytes int64    `yaml:"max_body_bytes"`
	Workers      int      `yaml:"workers"`
	PollInterval Duration `yaml:"poll_interval"`
	// Process false runs an accept-only replica: it stores events and
	// answers 202, leaving normalization and correlation to other replicas.
	Process *bool `yaml:"process"`
}

// Processing reports whether this replica processes stored events.
func (i Ingest) Processing() bool { return i.Process == nil || *i.Process }

// Routing decides where incidents are notified.
type Routing struct {
	// Default lists the outbound targets for alerts no rule routes.
	Default []string `yaml:"default"`
	// RulesDir is a directory of rule files (*.yaml, *.yml), loaded in name
	// order; relative to the config file's directory. Empty: no rules.
	RulesDir string `yaml:"rules_dir"`
}

// Source is one inbound endpoint, POST /hooks/{name}.
type Source struct {
	Name              string     `yaml:"name"`
	Kind              string     `yaml:"kind"`
	Auth              SourceAuth `yaml:"auth"`
	AllowIPs          []string   `yaml:"allow_ips"`
	IdempotencyHeader string     `yaml:"idempotency_header"`
	MaxBodyBytes      int64      `yaml:"max_body_bytes"`
	// CorrelationKey is an expr expression over the alert that overrides
	// the default correlation key for this source's alerts (compiled by the
	// rules package).
	CorrelationKey string `yaml:"correlation_key"`
	// SNS: Amazon SNS subscription handling (sns.go).
	SNS *SNS `yaml:"sns"`
	// RegistryInfo: owner, description, events, expected_interval, rotation.
	RegistryInfo `yaml:",inline"`

	// AllowedPrefixes is AllowIPs parsed by Validate.
	AllowedPrefixes []netip.Prefix `yaml:"-"`
}

// Inbound auth types.
const (
	AuthNone  = "none"
	AuthToken = "token"
	AuthHMAC  = "hmac"
)

// SourceAuth is how a source proves a request is its own.
type SourceAuth struct {
	Type string `yaml:"type"`
	// token: compared with "Authorization: Bearer <token>" or, when
	// QueryParam is set, with that query parameter.
	Token      Secret `yaml:"token"`
	QueryParam string `yaml:"query_param"`
	// hmac: HMAC-SHA256 of the raw body with Secret, sent in Header as
	// Encoding (hex or base64), optionally after Prefix (e.g. "sha256=").
	Secret   Secret `yaml:"secret"`
	Header   string `yaml:"header"`
	Encoding string `yaml:"encoding"`
	Prefix   string `yaml:"prefix"`
}

// Load reads, decodes and validates the config file at path. getenv
// resolves ${VAR} references. The error lists every problem found.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, getenv)
}

// Parse is Load for config text already in memory; file names it in errors.
func Parse(file string, data []byte, getenv func(string) string) (*Config, error) {
	return ParseWith(file, data, getenv, nil)
}

// ParseWith is Parse with a hook that validates what other packages own
// (rules, expressions): it runs on the decoded config, after defaults and
// before the built-in validation, and reports through Config.Report and
// Config.ReportError, so one run still shows every problem.
func ParseWith(file string, data []byte, getenv func(string) string, hook func(*Config)) (*Config, error) {
	cfg := &Config{}
	lookup := func(k string) (string, bool) { v := getenv(k); return v, v != "" }
	d := decodeStrict(file, data, cfg, lookup)
	cfg.File = file
	cfg.doc = d
	var mappingProblems []error
	if d.parsed {
		// Validate even after decode problems, so one run shows them all.
		cfg.applyDefaults()
		var loaded bool
		mappingProblems, loaded = cfg.loadMappings(d)
		if hook != nil {
			hook(cfg)
		}
		cfg.validate(d, loaded)
	}
	if len(d.problems) > 0 || len(mappingProblems) > 0 {
		// This file's problems by position, then other files' by file name
		// and position.
		slices.SortStableFunc(d.problems, func(a, b error) int { return problem.Compare(a, b, file) })
		// Problems in mapping files follow the config file's own, in file order.
		return nil, errors.Join(append(d.problems, mappingProblems...)...)
	}
	return cfg, nil
}

func (c *Config) applyDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Database.URL == "" && c.Database.Path == "" {
		c.Database.Path = DefaultSQLitePath
	}
	if c.Ingest.MaxBodyBytes == 0 {
		c.Ingest.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Ingest.Workers == 0 {
		c.Ingest.Workers = DefaultWorkers
	}
	if c.Ingest.PollInterval == 0 {
		c.Ingest.PollInterval = Duration(1e9)
	}
	c.applyTargetDefaults()
	if c.Registry.AuthFailureSpike == 0 {
		c.Registry.AuthFailureSpike = DefaultAuthFailureSpike
	}
	c.Correlation.applyDefaults()
	for i := range c.Sources {
		s := &c.Sources[i]
		if s.MaxBodyBytes == 0 {
			s.MaxBodyBytes = c.Ingest.MaxBodyBytes
		}
		if s.Auth.Type == AuthHMAC && s.Auth.Encoding == "" {
			s.Auth.Encoding = "hex"
		}
		s.RegistryInfo.applyDefaults()
	}
}

var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// loadMappings loads MappingFiles into c.Mappings. Problems inside a
// mapping file are returned with that file's name and line; a path that
// cannot be read is reported at its mappings[i] entry. ok is false when
// some mapping did not load (so source kinds cannot be checked).
func (c *Config) loadMappings(d *document) (problems []error, ok bool) {
	var loaded []*mappings.Inbound
	ok = true
	add := func(err error) {
		var errs []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		} else {
			errs = []error{err}
		}
		for _, e := range errs {
			problems = append(problems, e) // mapping files' problems are *Problem already
		}
	}
	for i, p := range c.MappingFiles {
		if p == "" {
			d.at(fmt.Sprintf("mappings[%d]", i), "empty path")
			continue
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(c.File), p)
		}
		ms, err := mappings.LoadPath(p)
		if err != nil {
			ok = false
			var le *mappings.LoadError
			if errors.As(err, &le) {
				add(err)
			} else {
				d.at(fmt.Sprintf("mappings[%d]", i), "%v", err)
			}
			continue
		}
		loaded = append(loaded, ms...)
	}
	set, err := mappings.NewSet(loaded...)
	if err != nil {
		add(err)
		return problems, false
	}
	c.Mappings = set
	return problems, ok
}

func (c *Config) validate(d *document, checkKinds bool) {
	if u := c.Database.URL.Value(); u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		d.at("database.url", "must be a postgres:// URL (leave it empty for the embedded SQLite file)")
	}
	if c.Ingest.MaxBodyBytes < 0 {
		d.at("ingest.max_body_bytes", "must be positive")
	}
	if c.Ingest.Workers < 0 {
		d.at("ingest.workers", "must be positive")
	}
	c.Correlation.validate(d)
	for i, p := range c.TrustedProxies {
		if _, err := parsePrefix(p); err != nil {
			d.at(fmt.Sprintf("trusted_proxies[%d]", i), "%q is not an IP address or CIDR prefix", p)
		}
	}
	names := map[string]bool{}
	for i, t := range c.API.Tokens {
		p := fmt.Sprintf("api.tokens[%d]", i)
		if t.Name == "" {
			d.at(p+".name", "required")
		} else if names[t.Name] {
			d.at(p+".name", "duplicate token name %q", t.Name)
		}
		names[t.Name] = true
		if t.Token == "" {
			d.at(p+".token", "required")
		}
		switch t.Role {
		case RoleViewer, RoleOperator, RoleAdmin:
		default:
			d.at(p+".role", "must be one of viewer, operator, admin (got %q)", t.Role)
		}
	}
	c.validateTargets(d)
	for i, name := range c.Routing.Default {
		if !c.HasTarget(name) {
			d.at(fmt.Sprintf("routing.default[%d]", i), "unknown target %q", name)
		}
	}
	seen := map[string]bool{}
	for i := range c.Sources {
		s := &c.Sources[i]
		p := fmt.Sprintf("sources[%d]", i)
		switch {
		case s.Name == "":
			d.at(p+".name", "required")
		case !nameRe.MatchString(s.Name):
			d.at(p+".name", "%q must be lowercase letters, digits, - or _ (it is the URL path /hooks/%s)", s.Name, s.Name)
		case seen[s.Name]:
			d.at(p+".name", "duplicate source name %q", s.Name)
		}
		seen[s.Name] = true
		if checkKinds && !c.Mappings.Known(s.Kind) { // a nil set is the built-in one
			d.at(p+".kind", "unknown kind %q (known: %s)", s.Kind, strings.Join(c.Mappings.Kinds(), ", "))
		}
		if s.MaxBodyBytes < 0 {
			d.at(p+".max_body_bytes", "must be positive")
		}
		for j, ip := range s.AllowIPs {
			pfx, err := parsePrefix(ip)
			if err != nil {
				d.at(fmt.Sprintf("%s.allow_ips[%d]", p, j), "%q is not an IP address or CIDR prefix", ip)
				continue
			}
			s.AllowedPrefixes = append(s.AllowedPrefixes, pfx)
		}
		a := s.Auth
		ap := p + ".auth"
		switch a.Type {
		case AuthNone:
		case AuthToken:
			if a.Token == "" {
				d.at(ap+".token", "required for auth type token")
			}
		case AuthHMAC:
			if a.Secret == "" {
				d.at(ap+".secret", "required for auth type hmac")
			}
			if a.Header == "" {
				d.at(ap+".header", "required for auth type hmac (the header carrying the signature)")
			}
			if a.Encoding != "hex" && a.Encoding != "base64" {
				d.at(ap+".encoding", "must be hex or base64 (got %q)", a.Encoding)
			}
		case AuthSNS:
		case "":
			d.at(ap+".type", "required: one of none, token, hmac, sns (use none only behind another authenticating proxy)")
		default:
			d.at(ap+".type", "must be one of none, token, hmac, sns (got %q)", a.Type)
		}
		s.validateSNS(d, p)
		s.RegistryInfo.validate(d, p, a.Type == AuthToken || a.Type == AuthHMAC)
	}
	c.Registry.validate(d)
	c.validateNotifyTarget(d)
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// Source returns the source with the given name.
func (c *Config) Source(name string) (*Source, bool) {
	for i := range c.Sources {
		if c.Sources[i].Name == name {
			return &c.Sources[i], true
		}
	}
	return nil, false
}

// HasTarget reports whether an outbound target with that name is configured.
// TargetNames (set by ParseWith hooks) count as configured too.
func (c *Config) HasTarget(name string) bool {
	if _, ok := c.Target(name); ok {
		return true
	}
	return slices.Contains(c.TargetNames, name)
}

// Report records a problem at key's position in the config file (a dotted
// path such as "sources[2].correlation_key"). For use by ParseWith hooks.
func (c *Config) Report(key, format string, args ...any) {
	if c.doc != nil {
		c.doc.at(key, format, args...)
	}
}

// ReportError records a problem found outside the config file, e.g. in a
// rules file (a Problem keeps its own file and position).
func (c *Config) ReportError(err error) {
	if c.doc != nil && err != nil {
		c.doc.problems = append(c.doc.problems, err)
	}
}

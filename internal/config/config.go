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
	"time"

	"github.com/incidenthub/incidenthub/internal/verify"
	"github.com/incidenthub/incidenthub/mappings"
)

// Defaults.
const (
	DefaultListen       = "127.0.0.1:8080"
	DefaultSQLitePath   = "incidenthub.db"
	DefaultMaxBodyBytes = 1 << 20
	DefaultWorkers      = 4
	// DefaultMaxDepth is how deeply an inbound JSON body may nest arrays
	// and objects (ingest.max_depth); deeper bodies are refused with 400
	// before anything parses them. No monitoring payload comes close.
	DefaultMaxDepth = 64
	// MaxMaxDepth is the largest ingest.max_depth: encoding/json refuses
	// deeper documents anyway.
	MaxMaxDepth = 10000
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
	// Slack is the Slack app's interactivity: buttons and the slash
	// command (slack.go).
	Slack Slack `yaml:"slack"`
	// Retention bounds what the database keeps (retention.go).
	Retention Retention `yaml:"retention"`
	// Logging is the log format and level (logging.go).
	Logging Logging `yaml:"logging"`

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
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxDepth bounds the nesting of arrays and objects in a body.
	MaxDepth     int      `yaml:"max_depth"`
	Workers      int      `yaml:"workers"`
	PollInterval Duration `yaml:"poll_interval"`
	// Process false runs an accept-only replica: it stores events and
	// answers 202, leaving normalization and correlation to other replicas.
	Process *bool `yaml:"process"`
	// RateLimit is every source's default rate limit (ratelimit.go).
	RateLimit SourceRateLimit `yaml:"rate_limit"`
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
	// NotifyAfter and MinAlerts hold back the first notification of every
	// incident unless a rule says otherwise (notify.go).
	NotifyAfter Duration `yaml:"notify_after"`
	MinAlerts   int      `yaml:"min_alerts"`
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
	// RateLimit bounds the source's requests (ratelimit.go).
	RateLimit SourceRateLimit `yaml:"rate_limit"`
	// RegistryInfo: owner, description, events, expected_interval, rotation.
	RegistryInfo `yaml:",inline"`

	// AllowedPrefixes is AllowIPs parsed by Validate.
	AllowedPrefixes []netip.Prefix `yaml:"-"`
}

// Inbound auth types (package internal/verify implements them).
const (
	AuthNone             = "none"
	AuthToken            = "token"
	AuthBasic            = "basic"
	AuthHMAC             = "hmac"
	AuthSentry           = "sentry"
	AuthPagerDuty        = "pagerduty"
	AuthStandardWebhooks = "standard-webhooks"
	AuthSNS              = "sns"
)

// AuthTypes lists the inbound auth types, for messages.
var AuthTypes = []string{AuthNone, AuthToken, AuthBasic, AuthHMAC, AuthSentry, AuthPagerDuty, AuthStandardWebhooks, AuthSNS}

// SourceAuth is how a source proves a request is its own.
type SourceAuth struct {
	Type string `yaml:"type"`
	// token: compared with "Authorization: Bearer <token>", with the
	// value of Header when set (for senders that put it in a header of
	// their own, e.g. Api-Key) or, when QueryParam is set, with that query
	// parameter.
	Token      Secret `yaml:"token"`
	QueryParam string `yaml:"query_param"`
	// basic: HTTP Basic credentials; Password is the rotated secret.
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// Secret is the key of the signature schemes: hmac (HMAC-SHA256 of
	// the raw body, sent in Header as Encoding (hex or base64), optionally
	// after Prefix, e.g. "sha256="), sentry (the integration's client
	// secret), pagerduty (the subscription's signing secret) and
	// standard-webhooks (a whsec_ secret).
	Secret   Secret `yaml:"secret"`
	Header   string `yaml:"header"`
	Encoding string `yaml:"encoding"`
	Prefix   string `yaml:"prefix"`
	// Tolerance is the replay window of the types whose sender stamps a
	// time (sentry, standard-webhooks, sns): a delivery stamped further
	// than this from the receive time, either way, is refused. Unset means
	// DefaultTolerance; 0s turns the check off.
	Tolerance *Duration `yaml:"tolerance"`
	// SignedAuth: hmac's timestamp_header and signed_content, and the
	// duplicate_window of hmac, sentry and pagerduty (replay.go).
	SignedAuth `yaml:",inline"`
}

// DefaultTolerance is auth.tolerance when unset.
const DefaultTolerance = 5 * time.Minute

// SecretValue is the config's secret of the auth type: the token, the
// Basic password, or the signing secret; "" for none.
func (a SourceAuth) SecretValue() string {
	switch a.Type {
	case AuthNone, "":
		return ""
	case AuthToken:
		return a.Token.Value()
	case AuthBasic:
		return a.Password.Value()
	}
	return a.Secret.Value()
}

// ReplayWindow is the effective tolerance (0: not checked).
func (a SourceAuth) ReplayWindow() time.Duration {
	if a.Tolerance == nil {
		return DefaultTolerance
	}
	return a.Tolerance.Std()
}

// VendorIssued reports whether the vendor, not the hub, issues the
// secret (Sentry's client secret, PagerDuty's signing secret): the hub
// cannot generate a replacement the vendor would use.
func (a SourceAuth) VendorIssued() bool {
	return a.Type == AuthSentry || a.Type == AuthPagerDuty
}

// authKeys are the auth keys each type reads besides type.
var authKeys = map[string][]string{
	AuthNone:             nil,
	AuthToken:            {"token", "query_param", "header"},
	AuthBasic:            {"username", "password"},
	AuthHMAC:             {"secret", "header", "encoding", "prefix", "timestamp_header", "signed_content", "tolerance", "duplicate_window"},
	AuthSentry:           {"secret", "tolerance", "duplicate_window"},
	AuthPagerDuty:        {"secret", "duplicate_window"},
	AuthStandardWebhooks: {"secret", "tolerance"},
	AuthSNS:              nil, // Amazon's signature; the message age limit is SNS's own (internal/sns)
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
	if c.Ingest.MaxDepth == 0 {
		c.Ingest.MaxDepth = DefaultMaxDepth
	}
	if c.Ingest.PollInterval == 0 {
		c.Ingest.PollInterval = Duration(1e9)
	}
	c.applyTargetDefaults()
	c.applySlackDefaults()
	if c.Registry.AuthFailureSpike == 0 {
		c.Registry.AuthFailureSpike = DefaultAuthFailureSpike
	}
	c.Correlation.applyDefaults()
	c.Retention.applyDefaults()
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
	if c.Ingest.MaxDepth < 0 || c.Ingest.MaxDepth > MaxMaxDepth {
		d.at("ingest.max_depth", "must be between 1 and %d (got %d)", MaxMaxDepth, c.Ingest.MaxDepth)
	}
	c.Correlation.validate(d)
	c.Retention.validate(d)
	c.Logging.validate(d)
	c.Ingest.RateLimit.validate(d, "ingest.rate_limit")
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
	c.validateSlack(d)
	c.validateNotify(d)
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
		s.Auth.validate(d, p)
		s.validateSNS(d, p)
		s.RateLimit.validate(d, p+".rate_limit")
		if s.Auth.VendorIssued() && s.Rotation.Schedule != "" {
			d.at(p+".rotation", "%s issues the secret of auth type %s, so the hub cannot rotate it on a schedule: rotate it in %s, then give the hub the new one with `incidenthub registry rotate %s --secret-file FILE`",
				vendorName(s.Auth.Type), s.Auth.Type, vendorName(s.Auth.Type), s.Name)
			s.RegistryInfo.validate(d, p, true)
		} else {
			s.RegistryInfo.validate(d, p, hubGenerated(s.Auth.Type))
		}
	}
	c.Registry.validate(d)
	c.validateNotifyTarget(d)
}

// validate checks the auth block of the source at key path p: the type,
// the keys it needs, and no key it does not read.
func (a SourceAuth) validate(d *document, p string) {
	ap := p + ".auth"
	types := strings.Join(AuthTypes, ", ")
	keys, known := authKeys[a.Type]
	switch {
	case a.Type == "":
		d.at(ap+".type", "required: one of %s (use none only behind another authenticating proxy)", types)
		return
	case !known:
		d.at(ap+".type", "must be one of %s (got %q)", types, a.Type)
		return
	}
	for _, k := range []string{"token", "query_param", "username", "password", "secret", "header", "encoding", "prefix", "tolerance",
		"timestamp_header", "signed_content", "duplicate_window"} {
		if _, set := d.pos[ap+"."+k]; set && !slices.Contains(keys, k) {
			uses := "no other keys"
			if len(keys) > 0 {
				uses = "its keys: " + strings.Join(keys, ", ")
			}
			d.at(ap+"."+k, "not used by auth type %s (%s)", a.Type, uses)
		}
	}
	switch a.Type {
	case AuthToken:
		if a.Token == "" {
			d.at(ap+".token", "required for auth type token")
		}
	case AuthBasic:
		switch {
		case a.Username == "":
			d.at(ap+".username", "required for auth type basic")
		case strings.Contains(a.Username, ":"):
			d.at(ap+".username", "must not contain a colon (RFC 7617: it separates username and password)")
		}
		if a.Password == "" {
			d.at(ap+".password", "required for auth type basic (the password is the secret the registry rotates)")
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
	case AuthSentry:
		if a.Secret == "" {
			d.at(ap+".secret", "required for auth type sentry: the integration's client secret (Sentry: Settings → Developer Settings → the integration → Credentials)")
		}
	case AuthPagerDuty:
		if a.Secret == "" {
			d.at(ap+".secret", "required for auth type pagerduty: the signing secret PagerDuty showed when the webhook subscription was created")
		}
	case AuthStandardWebhooks:
		if a.Secret == "" {
			d.at(ap+".secret", "required for auth type standard-webhooks: the sender's whsec_ signing secret")
		} else if _, err := verify.ParseWebhookSecret(a.Secret.Value()); err != nil {
			d.at(ap+".secret", "%v", err)
		}
	}
	if a.Tolerance != nil && *a.Tolerance < 0 {
		d.at(ap+".tolerance", "must not be negative (0s turns the timestamp check off)")
	}
	a.validateSigned(d, ap)
}

// hubGenerated reports whether the hub can generate a secret of the auth
// type that its sender then uses (for rotation).
func hubGenerated(authType string) bool {
	switch authType {
	case AuthToken, AuthBasic, AuthHMAC, AuthStandardWebhooks:
		return true
	}
	return false
}

func vendorName(authType string) string {
	switch authType {
	case AuthSentry:
		return "Sentry"
	case AuthPagerDuty:
		return "PagerDuty"
	}
	return authType
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

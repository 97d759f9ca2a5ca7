package config

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/incidenthub/incidenthub/connectors/jira"
	"github.com/incidenthub/incidenthub/connectors/pagerduty"
	"github.com/incidenthub/incidenthub/connectors/servicenow"
	"github.com/incidenthub/incidenthub/connectors/slack"
	"github.com/incidenthub/incidenthub/connectors/statuspage"
	"github.com/incidenthub/incidenthub/connectors/webhook"
	"github.com/incidenthub/incidenthub/internal/remote"
	"github.com/incidenthub/incidenthub/mappings"
)

// Target types.
const (
	TargetWebhook    = "webhook"
	TargetSlack      = "slack"
	TargetJira       = "jira"
	TargetServiceNow = "servicenow"
	TargetStatuspage = "statuspage"
	TargetPagerDuty  = "pagerduty"
)

// TargetTypes lists the known target types.
var TargetTypes = []string{TargetWebhook, TargetSlack, TargetJira, TargetServiceNow, TargetStatuspage, TargetPagerDuty}

// Delivery defaults.
const (
	DefaultDeliveryWorkers  = 10
	DefaultTargetTimeout    = 10 * time.Second
	DefaultRetryMaxAge      = 24 * time.Hour
	DefaultBreakerFailures  = 5
	DefaultBreakerProbe     = 30 * time.Second
	DefaultBreakerDisable   = 24 * time.Hour
	DefaultSlackRatePerSec  = 1
	DefaultSlackRateBurst   = 5
	DefaultRetryJitterRatio = 0.2
	DefaultUpdateInterval   = 5 * time.Second
)

// DefaultRetrySchedule is the wait before each retry; the last entry
// repeats until max_age.
var DefaultRetrySchedule = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour}

// Delivery holds the outbound delivery engine's global settings.
type Delivery struct {
	// Workers is how many syncs run at once in this process.
	Workers int `yaml:"workers"`
	// SSRFAllowlist lists IPs/CIDRs that targets may reach even though they
	// are loopback, private, link-local or metadata addresses.
	SSRFAllowlist []string `yaml:"ssrf_allowlist"`
	// PublicURL is the hub's own base URL, used for links in messages.
	PublicURL string `yaml:"public_url"`

	// AllowedPrefixes is SSRFAllowlist parsed by validation.
	AllowedPrefixes []netip.Prefix `yaml:"-"`
}

// Target is one outbound destination. Which keys apply depends on Type.
type Target struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`

	// webhook
	URL     string            `yaml:"url"`
	Secrets []Secret          `yaml:"secrets"`
	Headers map[string]Secret `yaml:"headers"`

	// slack
	Token   Secret `yaml:"token"`
	Channel string `yaml:"channel"`
	APIURL  string `yaml:"api_url"`

	// jira, servicenow, statuspage, pagerduty: the connector's settings,
	// in a block named after the type.
	Jira       *jira.Config       `yaml:"jira"`
	ServiceNow *servicenow.Config `yaml:"servicenow"`
	Statuspage *statuspage.Config `yaml:"statuspage"`
	PagerDuty  *pagerduty.Config  `yaml:"pagerduty"`

	// Mapping is an outbound mapping file (relative to the config file)
	// whose rendering overrides the connector's default body; Vars are
	// what its expressions see as vars.
	Mapping string            `yaml:"mapping"`
	Vars    map[string]string `yaml:"vars"`
	// Outbound is Mapping, loaded by Parse.
	Outbound *mappings.Outbound `yaml:"-" json:"-"`

	// every type
	Timeout Duration `yaml:"timeout"`
	// UpdateInterval is the least time between two plain updates (counts,
	// title) to the target; status changes and severity raises go at once.
	UpdateInterval      *Duration      `yaml:"update_interval"`
	Retry               Retry          `yaml:"retry"`
	RateLimit           RateLimit      `yaml:"rate_limit"`
	CircuitBreaker      CircuitBreaker `yaml:"circuit_breaker"`
	AllowPrivateNetwork bool           `yaml:"allow_private_network"`
	// PublicQueryParams names the query parameters of the target's URLs
	// whose values are not secrets: the hub shows them; every other query
	// value, and any user information, it hides (see redact.go).
	PublicQueryParams []string `yaml:"public_query_params"`

	// RegistryInfo: owner, description, events, expected_interval, rotation
	// (webhook targets: the signing secret).
	RegistryInfo `yaml:",inline"`
}

// Retry is a target's retry policy.
type Retry struct {
	// Schedule is the wait before each retry; the last entry repeats.
	Schedule []Duration `yaml:"schedule"`
	// MaxAge is how long after its first attempt a change is retried
	// before it is dead-lettered.
	MaxAge Duration `yaml:"max_age"`
	// Jitter spreads each wait by ± this fraction (0 to 1).
	Jitter *float64 `yaml:"jitter"`
}

// RateLimit is a token bucket: PerSecond requests on average, Burst at once.
// PerSecond 0 means unlimited.
type RateLimit struct {
	PerSecond float64 `yaml:"per_second"`
	Burst     int     `yaml:"burst"`
}

// CircuitBreaker stops hammering a failing target.
type CircuitBreaker struct {
	// Failures in a row open the breaker.
	Failures int `yaml:"failures"`
	// ProbeInterval is how often an open breaker lets one request through.
	ProbeInterval Duration `yaml:"probe_interval"`
	// DisableAfter of failing without a success marks the target disabled.
	DisableAfter Duration `yaml:"disable_after"`
}

// Target returns the target with the given name.
func (c *Config) Target(name string) (*Target, bool) {
	for i := range c.Targets {
		if c.Targets[i].Name == name {
			return &c.Targets[i], true
		}
	}
	return nil, false
}

// WebhookConfig is the connector config of a webhook target.
func (t *Target) WebhookConfig() webhook.Config {
	c := webhook.Config{Name: t.Name, URL: t.URL}
	for _, s := range t.Secrets {
		c.Secrets = append(c.Secrets, s.Value())
	}
	if len(t.Headers) > 0 {
		c.Headers = map[string]string{}
		for k, v := range t.Headers {
			c.Headers[k] = v.Value()
		}
	}
	return c
}

// SlackConfig is the connector config of a Slack target.
func (t *Target) SlackConfig(d Delivery) slack.Config {
	c := slack.Config{Token: t.Token.Value(), Channel: t.Channel, APIURL: t.APIURL, PublicURL: d.PublicURL}
	c.Defaults()
	return c
}

// SecretValues lists every secret the target holds, for redaction.
func (t *Target) SecretValues() []string {
	var out []string
	for _, s := range t.Secrets {
		out = append(out, s.Value())
	}
	for _, v := range t.Headers {
		out = append(out, v.Value())
	}
	if t.Token != "" {
		out = append(out, t.Token.Value())
	}
	if t.Jira != nil {
		out = append(out, t.Jira.APIToken.Value())
	}
	if t.ServiceNow != nil {
		out = append(out, t.ServiceNow.Password.Value(), t.ServiceNow.Token.Value())
	}
	if t.Statuspage != nil {
		out = append(out, t.Statuspage.APIKey.Value())
	}
	if t.PagerDuty != nil {
		out = append(out, t.PagerDuty.RoutingKey.Value())
	}
	return slices.DeleteFunc(out, func(s string) bool { return s == "" })
}

// RetrySchedule returns the schedule as durations.
func (r Retry) RetrySchedule() []time.Duration {
	out := make([]time.Duration, len(r.Schedule))
	for i, d := range r.Schedule {
		out[i] = d.Std()
	}
	return out
}

func (c *Config) applyTargetDefaults() {
	if c.Delivery.Workers == 0 {
		c.Delivery.Workers = DefaultDeliveryWorkers
	}
	for i := range c.Targets {
		t := &c.Targets[i]
		t.RegistryInfo.applyDefaults()
		if t.Timeout == 0 {
			t.Timeout = Duration(DefaultTargetTimeout)
		}
		if t.UpdateInterval == nil {
			u := Duration(DefaultUpdateInterval)
			t.UpdateInterval = &u
		}
		if len(t.Retry.Schedule) == 0 {
			for _, d := range DefaultRetrySchedule {
				t.Retry.Schedule = append(t.Retry.Schedule, Duration(d))
			}
		}
		if t.Retry.MaxAge == 0 {
			t.Retry.MaxAge = Duration(DefaultRetryMaxAge)
		}
		if t.Retry.Jitter == nil {
			j := DefaultRetryJitterRatio
			t.Retry.Jitter = &j
		}
		if t.CircuitBreaker.Failures == 0 {
			t.CircuitBreaker.Failures = DefaultBreakerFailures
		}
		if t.CircuitBreaker.ProbeInterval == 0 {
			t.CircuitBreaker.ProbeInterval = Duration(DefaultBreakerProbe)
		}
		if t.CircuitBreaker.DisableAfter == 0 {
			t.CircuitBreaker.DisableAfter = Duration(DefaultBreakerDisable)
		}
		if t.Type == TargetSlack && t.RateLimit.PerSecond == 0 && t.RateLimit.Burst == 0 {
			t.RateLimit = RateLimit{PerSecond: DefaultSlackRatePerSec, Burst: DefaultSlackRateBurst}
		}
		if t.RateLimit.PerSecond > 0 && t.RateLimit.Burst == 0 {
			t.RateLimit.Burst = 1
		}
	}
}

func (c *Config) validateTargets(d *document) {
	if c.Delivery.Workers < 0 {
		d.at("delivery.workers", "must be positive")
	}
	for i, p := range c.Delivery.SSRFAllowlist {
		pfx, err := parsePrefix(p)
		if err != nil {
			d.at(fmt.Sprintf("delivery.ssrf_allowlist[%d]", i), "%q is not an IP address or CIDR prefix", p)
			continue
		}
		c.Delivery.AllowedPrefixes = append(c.Delivery.AllowedPrefixes, pfx)
	}
	if u := c.Delivery.PublicURL; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		d.at("delivery.public_url", "%q must start with http:// or https://", u)
	}
	seen := map[string]bool{}
	for i := range c.Targets {
		t := &c.Targets[i]
		p := fmt.Sprintf("targets[%d]", i)
		t.RegistryInfo.validate(d, p, t.Type == TargetWebhook)
		switch {
		case t.Name == "":
			d.at(p+".name", "required")
		case !nameRe.MatchString(t.Name):
			d.at(p+".name", "%q must be lowercase letters, digits, - or _", t.Name)
		case seen[t.Name]:
			d.at(p+".name", "duplicate target name %q", t.Name)
		}
		seen[t.Name] = true
		only := func(key, typ string, set bool) {
			if set && t.Type != typ {
				d.at(p+"."+key, "applies only to type %s (this target is type %s)", typ, t.Type)
			}
		}
		var err error
		block := p // connector problems are reported under this key
		switch t.Type {
		case TargetWebhook:
			err = t.WebhookConfig().Validate()
		case TargetSlack:
			err = t.SlackConfig(c.Delivery).Validate()
		case TargetJira, TargetServiceNow, TargetStatuspage, TargetPagerDuty:
			block = p + "." + t.Type
			err = t.validateBlock()
		case "":
			d.at(p+".type", "required: one of %s", strings.Join(TargetTypes, ", "))
		default:
			d.at(p+".type", "unknown target type %q (known: %s)", t.Type, strings.Join(TargetTypes, ", "))
		}
		if slices.Contains(TargetTypes, t.Type) {
			only("url", TargetWebhook, t.URL != "")
			only("secrets", TargetWebhook, len(t.Secrets) > 0)
			only("headers", TargetWebhook, len(t.Headers) > 0)
			only("token", TargetSlack, t.Token != "")
			only("channel", TargetSlack, t.Channel != "")
			only("api_url", TargetSlack, t.APIURL != "")
			only("jira", TargetJira, t.Jira != nil)
			only("servicenow", TargetServiceNow, t.ServiceNow != nil)
			only("statuspage", TargetStatuspage, t.Statuspage != nil)
			only("pagerduty", TargetPagerDuty, t.PagerDuty != nil)
		}
		for _, e := range unjoin(err) {
			var we *webhook.FieldError
			var se *slack.FieldError
			var re *remote.FieldError
			switch {
			case errors.As(e, &we):
				d.at(p+"."+we.Field, "%s", we.Msg)
			case errors.As(e, &se):
				d.at(p+"."+se.Field, "%s", se.Msg)
			case errors.As(e, &re):
				d.at(block+"."+re.Field, "%s", re.Msg)
			default:
				d.at(block, "%v", e)
			}
		}
		c.loadTargetMapping(d, t, p)
		t.validatePublicQueryParams(d, p)
		if t.UpdateInterval != nil && *t.UpdateInterval < 0 {
			d.at(p+".update_interval", "must not be negative")
		}
		if t.Timeout < 0 {
			d.at(p+".timeout", "must be positive")
		}
		for j, s := range t.Retry.Schedule {
			if s <= 0 {
				d.at(fmt.Sprintf("%s.retry.schedule[%d]", p, j), "must be positive")
			}
		}
		if t.Retry.MaxAge < 0 {
			d.at(p+".retry.max_age", "must be positive")
		}
		if j := t.Retry.Jitter; j != nil && (*j < 0 || *j > 1) {
			d.at(p+".retry.jitter", "must be between 0 and 1")
		}
		if t.RateLimit.PerSecond < 0 {
			d.at(p+".rate_limit.per_second", "must not be negative")
		}
		if t.RateLimit.Burst < 0 {
			d.at(p+".rate_limit.burst", "must not be negative")
		}
		if t.CircuitBreaker.Failures < 0 {
			d.at(p+".circuit_breaker.failures", "must be positive")
		}
		if t.CircuitBreaker.ProbeInterval < 0 {
			d.at(p+".circuit_breaker.probe_interval", "must be positive")
		}
		if t.CircuitBreaker.DisableAfter < 0 {
			d.at(p+".circuit_breaker.disable_after", "must be positive")
		}
	}
}

// validateBlock checks the settings block of a jira, servicenow,
// statuspage or pagerduty target, after the connector's defaults.
func (t *Target) validateBlock() error {
	need := func(set bool) error {
		if set {
			return nil
		}
		return fmt.Errorf("required for type %s: a %s: block with the connector's settings", t.Type, t.Type)
	}
	switch t.Type {
	case TargetJira:
		if t.Jira == nil {
			return need(false)
		}
		c := *t.Jira
		c.Defaults()
		return c.Validate()
	case TargetServiceNow:
		if t.ServiceNow == nil {
			return need(false)
		}
		c := *t.ServiceNow
		c.Defaults()
		return c.Validate()
	case TargetStatuspage:
		if t.Statuspage == nil {
			return need(false)
		}
		c := *t.Statuspage
		c.Defaults()
		return c.Validate()
	case TargetPagerDuty:
		if t.PagerDuty == nil {
			return need(false)
		}
		c := *t.PagerDuty
		c.Defaults()
		return c.Validate()
	}
	return nil
}

// loadTargetMapping loads t.Mapping into t.Outbound. Problems inside the
// mapping file carry its own file and line.
func (c *Config) loadTargetMapping(d *document, t *Target, p string) {
	if t.Mapping == "" {
		if len(t.Vars) > 0 {
			d.at(p+".vars", "applies only with mapping")
		}
		return
	}
	if t.Type == TargetSlack {
		d.at(p+".mapping", "not supported for type slack (its messages are Block Kit, built by the hub)")
		return
	}
	path := t.Mapping
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(c.File), path)
	}
	o, err := mappings.LoadOutbound(path)
	if err == nil {
		t.Outbound = o
		return
	}
	for _, e := range unjoin(err) {
		var pr *Problem
		if errors.As(e, &pr) {
			d.problems = append(d.problems, pr)
		} else {
			d.at(p+".mapping", "%v", e)
		}
	}
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

package config

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Registry defaults.
const (
	DefaultRotationOverlap  = 24 * time.Hour
	DefaultAuthFailureSpike = 20
	DefaultVerifyInterval   = 24 * time.Hour
)

// Registry configures the webhook registry: where the key that encrypts
// stored secrets comes from, and the rotation policy.
type Registry struct {
	// SecretKeyFile holds base64 AES-256 keys, one per line, the first
	// current (INCIDENTHUB_SECRET_KEY, when set, is current instead).
	SecretKeyFile string `yaml:"secret_key_file"`
	// MaxSecretAge flags secrets older than this as overdue (0: no limit).
	MaxSecretAge Duration `yaml:"max_secret_age"`
	// AuthFailureSpike is how many auth failures per source within five
	// minutes raise an operational event.
	AuthFailureSpike int `yaml:"auth_failure_spike"`
	// VerifyInterval is how often the scheduler re-verifies entries that
	// can be verified (outbound targets' credentials); nil means 24h, 0s
	// turns it off.
	VerifyInterval *Duration `yaml:"verify_interval"`
	// NotifyTarget names the webhook or slack target that owners'
	// notices (secret rotated or revoked, with retrieval instructions,
	// never the secret) are sent to; empty sends none.
	NotifyTarget string `yaml:"notify_target"`

	// InsecureDevSecrets (serve --insecure-dev-secrets) lets the hub store
	// secrets under a publicly known key when no key is configured.
	InsecureDevSecrets bool `yaml:"-"`
}

func (r *Registry) validate(d *document) {
	if r.MaxSecretAge < 0 {
		d.at("registry.max_secret_age", "must be positive")
	}
	if r.AuthFailureSpike < 0 {
		d.at("registry.auth_failure_spike", "must be positive")
	}
	if r.VerifyInterval != nil && *r.VerifyInterval < 0 {
		d.at("registry.verify_interval", "must be positive (0s turns scheduled verification off)")
	}
}

// validateNotifyTarget checks registry.notify_target names a configured
// target that can carry a notice.
func (c *Config) validateNotifyTarget(d *document) {
	name := c.Registry.NotifyTarget
	if name == "" {
		return
	}
	t, ok := c.Target(name)
	switch {
	case !ok:
		d.at("registry.notify_target", "no target named %q (it must name a webhook or slack target under targets)", name)
	case t.Type != TargetWebhook && t.Type != TargetSlack:
		d.at("registry.notify_target", "target %q is of type %s; owner notices go to a webhook or slack target", name, t.Type)
	}
}

// RegistryInfo is what the registry records about an inbound source (and,
// inlined the same way, an outbound target) beyond how it works.
type RegistryInfo struct {
	Owner       Owner  `yaml:"owner"`
	Description string `yaml:"description"`
	// Events lists the triggering events (what makes it send or be sent).
	Events []string `yaml:"events"`
	// ExpectedInterval: silent longer than this, the entry is flagged stale.
	ExpectedInterval Duration `yaml:"expected_interval"`
	Rotation         Rotation `yaml:"rotation"`
}

// Owner is the person or team answerable for an integration.
type Owner struct {
	Name    string `yaml:"name"`
	Contact string `yaml:"contact"`
}

// Rotation schedules a secret's rotation. During Overlap after a rotation
// the old secret stays valid beside the new one.
type Rotation struct {
	Schedule string   `yaml:"schedule"` // cron expression or @daily, @every 720h, …
	Overlap  Duration `yaml:"overlap"`
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a rotation schedule: a five-field cron expression
// ("0 3 1 * *") or a descriptor ("@monthly", "@every 720h").
func ParseSchedule(expr string) (cron.Schedule, error) {
	return cronParser.Parse(expr)
}

func (r *RegistryInfo) applyDefaults() {
	if r.Rotation.Schedule != "" && r.Rotation.Overlap == 0 {
		r.Rotation.Overlap = Duration(DefaultRotationOverlap)
	}
}

// validate checks the registry fields of the entry at key path p;
// hasSecret says whether the entry authenticates with a secret.
func (r *RegistryInfo) validate(d *document, p string, hasSecret bool) {
	if r.ExpectedInterval < 0 {
		d.at(p+".expected_interval", "must be positive")
	}
	if r.Rotation.Overlap < 0 {
		d.at(p+".rotation.overlap", "must be positive")
	}
	if r.Rotation.Schedule == "" {
		if r.Rotation.Overlap != 0 {
			d.at(p+".rotation.overlap", "needs rotation.schedule")
		}
		return
	}
	if _, err := ParseSchedule(r.Rotation.Schedule); err != nil {
		d.at(p+".rotation.schedule", "%q is not a cron expression (e.g. \"0 3 1 * *\" or \"@monthly\"): %v", r.Rotation.Schedule, err)
	}
	if !hasSecret {
		d.at(p+".rotation", "rotation needs a secret the hub generates: a source with auth type token, basic, hmac or standard-webhooks, or a webhook target")
	}
}

// String describes the rotation for humans.
func (r Rotation) String() string {
	if r.Schedule == "" {
		return "none"
	}
	return fmt.Sprintf("%s, overlap %s", r.Schedule, r.Overlap.Std())
}

// VerifyEvery returns the scheduled verification interval (0: off).
func (r Registry) VerifyEvery() time.Duration {
	if r.VerifyInterval == nil {
		return DefaultVerifyInterval
	}
	return r.VerifyInterval.Std()
}

package config

import "math"

// Inbound rate limit defaults (ingest.rate_limit, sources[].rate_limit):
// far above what one monitoring tool sends even in an outage (Alertmanager
// posts once per alert group per group_interval; a burst of 20,000 lets an
// outage's first wave through whole), far below what it takes to flood
// the store.
const DefaultSourceRatePerSecond = 1000

// SourceRateLimit is a token bucket on a source's authenticated requests:
// PerSecond on average, Burst at once. A request over it is answered 429
// with Retry-After and not stored. Per replica: each hub process counts
// its own requests.
type SourceRateLimit struct {
	// PerSecond: nil inherits (a source's from ingest.rate_limit, that
	// from DefaultSourceRatePerSecond); 0 turns the limit off.
	PerSecond *float64 `yaml:"per_second"`
	// Burst: 0 inherits the same way, down to BurstSeconds × PerSecond.
	Burst int `yaml:"burst"`
}

// BurstSeconds is the default burst in seconds of the rate: 20,000 requests
// at the default 1,000/s.
const BurstSeconds = 20

// RateLimit is the source's effective limit; perSecond 0 means none.
func (c *Config) RateLimit(s *Source) (perSecond float64, burst int) {
	perSecond = DefaultSourceRatePerSecond
	if p := c.Ingest.RateLimit.PerSecond; p != nil {
		perSecond = *p
	}
	if p := s.RateLimit.PerSecond; p != nil {
		perSecond = *p
	}
	if perSecond <= 0 {
		return 0, 0
	}
	burst = int(max(1, min(math.Ceil(BurstSeconds*perSecond), math.MaxInt32)))
	if b := c.Ingest.RateLimit.Burst; b > 0 {
		burst = b
	}
	if b := s.RateLimit.Burst; b > 0 {
		burst = b
	}
	return perSecond, burst
}

// validate checks the rate limit at key path p (e.g. "ingest.rate_limit").
func (l SourceRateLimit) validate(d *document, p string) {
	if l.PerSecond != nil && (*l.PerSecond < 0 || math.IsNaN(*l.PerSecond) || math.IsInf(*l.PerSecond, 0)) {
		d.at(p+".per_second", "must be a number ≥ 0 (0 turns the limit off)")
	}
	if l.Burst < 0 {
		d.at(p+".burst", "must be positive")
	}
	if l.PerSecond != nil && *l.PerSecond == 0 && l.Burst > 0 {
		d.at(p+".burst", "has no effect with per_second: 0 (the limit is off)")
	}
}

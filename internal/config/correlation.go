package config

import "time"

// Correlation defaults.
const (
	DefaultResolve            = "all"
	DefaultReopenWindow       = Duration(15 * time.Minute)
	DefaultFlapThreshold      = 3
	DefaultFlapWindow         = Duration(time.Hour)
	DefaultAutoResolveAfter   = Duration(24 * time.Hour)
	DefaultJoinNotifyInterval = Duration(5 * time.Minute)
	DefaultSweepInterval      = Duration(30 * time.Second)
)

// Correlation tunes the correlation engine.
type Correlation struct {
	// Resolve is when alerts resolve an incident unless a routing rule says
	// otherwise: all (every member alert resolved), any, or manual.
	Resolve string `yaml:"resolve"`
	// ReopenWindow: a firing within this long after its incident resolved
	// reopens it (a flap). 0s never reopens.
	ReopenWindow *Duration `yaml:"reopen_window"`
	// More than FlapThreshold reopens within FlapWindow mark an incident
	// flapping: its reopen/resolve notifications wait until it settles.
	FlapThreshold int      `yaml:"flap_threshold"`
	FlapWindow    Duration `yaml:"flap_window"`
	// AutoResolveAfter resolves an incident with no event for this long.
	// 0s never does.
	AutoResolveAfter *Duration `yaml:"auto_resolve_after"`
	// JoinNotifyInterval: at most one "N more alerts joined" notification
	// per incident per interval.
	JoinNotifyInterval Duration `yaml:"join_notify_interval"`
	// SweepInterval is how often auto-resolve, held-back join summaries and
	// flap settling are checked.
	SweepInterval Duration `yaml:"sweep_interval"`
}

func (c *Correlation) applyDefaults() {
	if c.Resolve == "" {
		c.Resolve = DefaultResolve
	}
	if c.ReopenWindow == nil {
		d := DefaultReopenWindow
		c.ReopenWindow = &d
	}
	if c.FlapThreshold == 0 {
		c.FlapThreshold = DefaultFlapThreshold
	}
	if c.FlapWindow == 0 {
		c.FlapWindow = DefaultFlapWindow
	}
	if c.AutoResolveAfter == nil {
		d := DefaultAutoResolveAfter
		c.AutoResolveAfter = &d
	}
	if c.JoinNotifyInterval == 0 {
		c.JoinNotifyInterval = DefaultJoinNotifyInterval
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = DefaultSweepInterval
	}
}

func (c *Correlation) validate(d *document) {
	switch c.Resolve {
	case "all", "any", "manual":
	default:
		d.at("correlation.resolve", "must be one of all, any, manual (got %q)", c.Resolve)
	}
	if *c.ReopenWindow < 0 {
		d.at("correlation.reopen_window", "must not be negative (0s never reopens)")
	}
	if c.FlapThreshold < 0 {
		d.at("correlation.flap_threshold", "must be a positive number of reopens")
	}
	if c.FlapWindow < 0 {
		d.at("correlation.flap_window", "must be positive")
	}
	if *c.AutoResolveAfter < 0 {
		d.at("correlation.auto_resolve_after", "must not be negative (0s turns auto-resolve off)")
	}
	if c.JoinNotifyInterval < 0 {
		d.at("correlation.join_notify_interval", "must be positive")
	}
	if c.SweepInterval < 0 {
		d.at("correlation.sweep_interval", "must be positive")
	} else if c.SweepInterval > 0 && c.SweepInterval < Duration(100*time.Millisecond) {
		d.at("correlation.sweep_interval", "must be at least 100ms")
	}
}

package correlation

import (
	"fmt"
	"time"
)

// Resolve policies: when alerts resolve their incident.
const (
	ResolveAll    = "all"    // every member alert has resolved (the default)
	ResolveAny    = "any"    // any one member alert resolved
	ResolveManual = "manual" // only a person resolves it (POST …/resolve)
)

// ValidResolve reports whether s is a resolve policy ("" means the default).
func ValidResolve(s string) bool {
	return s == "" || s == ResolveAll || s == ResolveAny || s == ResolveManual
}

// Policy tunes the engine. The zero value is not useful; start from
// DefaultPolicy.
type Policy struct {
	// Resolve is the resolve policy for alerts whose routing sets none.
	Resolve string
	// ReopenWindow: a firing alert for a key whose incident resolved less
	// than this long ago reopens it (a flap); 0 never reopens.
	ReopenWindow time.Duration
	// An incident that reopens more than FlapThreshold times within
	// FlapWindow is flapping: its reopen and resolve notifications are held
	// back until it has not flapped for FlapWindow.
	FlapThreshold int
	FlapWindow    time.Duration
	// AutoResolveAfter resolves an incident that heard no event for this
	// long (for sources that never send a resolve); 0 never does.
	AutoResolveAfter time.Duration
	// JoinNotifyInterval: at most one "N more alerts joined" notification
	// per incident per interval.
	JoinNotifyInterval time.Duration
}

// Defaults.
const (
	DefaultReopenWindow       = 15 * time.Minute
	DefaultFlapThreshold      = 3
	DefaultFlapWindow         = time.Hour
	DefaultAutoResolveAfter   = 24 * time.Hour
	DefaultJoinNotifyInterval = 5 * time.Minute
)

// DefaultPolicy is the policy with every default.
func DefaultPolicy() Policy {
	return Policy{
		Resolve:            ResolveAll,
		ReopenWindow:       DefaultReopenWindow,
		FlapThreshold:      DefaultFlapThreshold,
		FlapWindow:         DefaultFlapWindow,
		AutoResolveAfter:   DefaultAutoResolveAfter,
		JoinNotifyInterval: DefaultJoinNotifyInterval,
	}
}

func (p *Policy) resolveFor(r string) (string, error) {
	if r == "" {
		r = p.Resolve
	}
	if r == "" {
		r = ResolveAll
	}
	if !ValidResolve(r) {
		return "", fmt.Errorf("unknown resolve policy %q (want all, any or manual)", r)
	}
	return r, nil
}

package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Retention defaults: growth is bounded out of the box, and everything an
// operator looks at during and after an incident is kept well past it.
// The audit trail is kept forever unless retention.audit says otherwise.
const (
	DefaultRetentionEventBodies       = Age(30 * 24 * time.Hour)
	DefaultRetentionAttemptBodies     = Age(14 * 24 * time.Hour)
	DefaultRetentionEvents            = Age(90 * 24 * time.Hour)
	DefaultRetentionResolvedIncidents = Age(365 * 24 * time.Hour)
	DefaultRetentionSchedule          = "@every 1h"
	DefaultRetentionBatchSize         = 1000
	// MinRetentionWindow is the shortest window retention accepts (0
	// aside): a shorter one is almost certainly a unit mistake (30m for 30d).
	MinRetentionWindow = Age(time.Hour)
	// MaxRetentionBatchSize bounds a batch, so one transaction stays short.
	MaxRetentionBatchSize = 100000
)

// Retention is the retention: block (package internal/retention). Each
// window is an age: data older than it is purged or deleted; 0 keeps it
// forever. An absent window takes its default, except Audit, which is
// kept forever unless set.
type Retention struct {
	// EventBodies: an event's raw body and headers are blanked (the row
	// stays, marked body_purged_at) this long after it was received.
	EventBodies *Age `yaml:"event_bodies"`
	// AttemptBodies: a delivery attempt's request and response bodies are
	// blanked this long after the attempt.
	AttemptBodies *Age `yaml:"attempt_bodies"`
	// Events: processed, unmapped and failed events are deleted this long
	// after they were received (and last processed). Pending events are
	// never deleted.
	Events *Age `yaml:"events"`
	// ResolvedIncidents: an incident resolved (and untouched) this long is
	// deleted with its members, timeline and deliveries.
	ResolvedIncidents *Age `yaml:"resolved_incidents"`
	// Audit: audit records older than this are deleted. Unset or 0: kept
	// forever (they are the audit trail).
	Audit *Age `yaml:"audit"`
	// Schedule is when retention runs: a cron expression or descriptor
	// (robfig/cron/v3: "@every 1h", "30 3 * * *").
	Schedule string `yaml:"schedule"`
	// BatchSize is how many rows one batch (one short transaction) purges
	// or deletes.
	BatchSize int `yaml:"batch_size"`
}

// Age is a retention window: "30d" (days), a Go duration ("36h", "90m"),
// or 0 (keep forever).
type Age time.Duration

// UnmarshalYAML parses days ("30d") or Go duration syntax; "0" is 0.
func (a *Age) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseAge(n.Value)
	if err != nil {
		// A *yaml.TypeError lets the decoder go on and report every problem.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*a = v
	return nil
}

// ParseAge parses a retention window: "30d", "12h", "0".
func ParseAge(s string) (Age, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || n > 100*365 {
			return 0, fmt.Errorf("invalid retention age %q (use e.g. 30d, 36h, or 0 to keep forever)", s)
		}
		return Age(time.Duration(n) * 24 * time.Hour), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid retention age %q (use e.g. 30d, 36h, or 0 to keep forever)", s)
	}
	return Age(d), nil
}

// MarshalYAML writes whole days as "30d", others in Go syntax.
func (a Age) MarshalYAML() (any, error) { return a.String(), nil }

// String is "30d" for whole days, "0" for none, Go syntax otherwise.
func (a Age) String() string {
	d := time.Duration(a)
	switch {
	case d == 0:
		return "0"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// Std returns the age as a time.Duration.
func (a Age) Std() time.Duration { return time.Duration(a) }

func ageOr(a *Age, def Age) *Age {
	if a == nil {
		a = &def
	}
	return a
}

func (r *Retention) applyDefaults() {
	r.EventBodies = ageOr(r.EventBodies, DefaultRetentionEventBodies)
	r.AttemptBodies = ageOr(r.AttemptBodies, DefaultRetentionAttemptBodies)
	r.Events = ageOr(r.Events, DefaultRetentionEvents)
	r.ResolvedIncidents = ageOr(r.ResolvedIncidents, DefaultRetentionResolvedIncidents)
	r.Audit = ageOr(r.Audit, 0)
	if r.Schedule == "" {
		r.Schedule = DefaultRetentionSchedule
	}
	if r.BatchSize == 0 {
		r.BatchSize = DefaultRetentionBatchSize
	}
}

func (r *Retention) validate(d *document) {
	for _, w := range []struct {
		key string
		age *Age
	}{
		{"event_bodies", r.EventBodies}, {"attempt_bodies", r.AttemptBodies}, {"events", r.Events},
		{"resolved_incidents", r.ResolvedIncidents}, {"audit", r.Audit},
	} {
		switch a := *w.age; {
		case a < 0:
			d.at("retention."+w.key, "must not be negative (0 keeps forever)")
		case a > 0 && a < MinRetentionWindow:
			d.at("retention."+w.key, "%s is shorter than the shortest window, %s (0 keeps forever; days are written 30d)", a, MinRetentionWindow)
		}
	}
	if _, err := ParseSchedule(r.Schedule); err != nil {
		d.at("retention.schedule", "%q is not a cron expression (e.g. \"@every 1h\" or \"30 3 * * *\"): %v", r.Schedule, err)
	}
	if r.BatchSize < 0 || r.BatchSize > MaxRetentionBatchSize {
		d.at("retention.batch_size", "must be between 1 and %d (got %d)", MaxRetentionBatchSize, r.BatchSize)
	}
}

// Window returns the age (0: keep forever) of a window that applyDefaults
// filled; nil counts as 0.
func Window(a *Age) time.Duration {
	if a == nil {
		return 0
	}
	return a.Std()
}

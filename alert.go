// Package incidenthub holds the domain types every part of the hub shares:
// the normalized Alert, the Incident it correlates into, and the error type
// whose codes map to HTTP statuses. It imports no third-party module.
package incidenthub

import "time"

// AlertStatus is whether the condition an alert describes is active.
type AlertStatus string

const (
	AlertFiring   AlertStatus = "firing"
	AlertResolved AlertStatus = "resolved"
)

// Valid reports whether s is one of the known statuses.
func (s AlertStatus) Valid() bool { return s == AlertFiring || s == AlertResolved }

// Severity orders how urgent an alert is.
type Severity string

const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityWarning  Severity = "warning"
	SeverityInfo     Severity = "info"
)

// Rank is higher for more urgent severities; 0 for an unknown one.
func (s Severity) Rank() int {
	switch s {
	case SeverityCritical:
		return 4
	case SeverityHigh:
		return 3
	case SeverityWarning:
		return 2
	case SeverityInfo:
		return 1
	}
	return 0
}

// Valid reports whether s is one of the known severities.
func (s Severity) Valid() bool { return s.Rank() > 0 }

// Alert is one monitoring signal in the hub's normalized form. Source tools'
// payloads are mapped into it; one payload may yield several alerts.
type Alert struct {
	Source        string            `json:"source"`
	SourceEventID string            `json:"source_event_id,omitempty"`
	Fingerprint   string            `json:"fingerprint"`
	Status        AlertStatus       `json:"status"`
	Severity      Severity          `json:"severity"`
	Service       string            `json:"service"`
	AlertType     string            `json:"alert_type"`
	Title         string            `json:"title"`
	Description   string            `json:"description,omitempty"`
	Host          string            `json:"host,omitempty"`
	Environment   string            `json:"environment,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
	URL           string            `json:"url,omitempty"`
	StartsAt      time.Time         `json:"starts_at"`
	// StartsAtFrom says where StartsAt came from when the payload did not
	// carry it; empty when it is the source's own time from this payload.
	StartsAtFrom StartsAtOrigin `json:"starts_at_from,omitempty"`
	EndsAt       *time.Time     `json:"ends_at,omitempty"`
	ReceivedAt   time.Time      `json:"received_at"`
}

// StartsAtOrigin is where an alert's StartsAt came from, when not from the
// payload (that is the zero value, "").
type StartsAtOrigin string

const (
	// StartsAtReceived: the payload had no (readable) start time, so the
	// hub's receive time stands in. Correlation replaces it, for a resolve,
	// with the start of the firing it resolves when the hub saw that.
	StartsAtReceived StartsAtOrigin = "received"
	// StartsAtFiring: a resolve without a start time keeps the start of
	// the alert's firing, as the hub recorded it.
	StartsAtFiring StartsAtOrigin = "firing"
)

// EventTime is the source's own time for this alert's latest state change:
// EndsAt for a resolved alert when the source sent one, else StartsAt when
// it is this event's own time (a resolve's StartsAt that came from
// elsewhere is not), else the time the hub received it.
func (a Alert) EventTime() time.Time {
	if a.Status == AlertResolved && a.EndsAt != nil && !a.EndsAt.IsZero() {
		return *a.EndsAt
	}
	if a.Status == AlertResolved && a.StartsAtFrom != "" && !a.ReceivedAt.IsZero() {
		return a.ReceivedAt
	}
	if !a.StartsAt.IsZero() {
		return a.StartsAt
	}
	return a.ReceivedAt
}

// Warning is a problem normalization worked around rather than refusing the
// payload: a timestamp that is present but cannot be read, for example.
// The alert is still mapped (the receive time stands in for such a
// starts_at); the warning is kept with the event so an operator can see
// what the source sent and fix it.
type Warning struct {
	Field   string `json:"field"`   // the alert field, e.g. "starts_at"
	Path    string `json:"path"`    // where in the payload, e.g. "alerts[0].startsAt"
	Value   string `json:"value"`   // what the source sent, shortened when long
	Message string `json:"message"` // what is wrong with it
}

package incidenthub

import "time"

// IncidentStatus is where an incident is in its lifecycle.
type IncidentStatus string

const (
	IncidentOpen         IncidentStatus = "open"
	IncidentAcknowledged IncidentStatus = "acknowledged"
	IncidentResolved     IncidentStatus = "resolved"
)

// Valid reports whether s is one of the known statuses.
func (s IncidentStatus) Valid() bool {
	return s == IncidentOpen || s == IncidentAcknowledged || s == IncidentResolved
}

// Incident is what correlated alerts become: one per correlation key while
// it is not resolved.
type Incident struct {
	ID             int64          `json:"id"`
	CorrelationKey string         `json:"correlation_key"`
	Status         IncidentStatus `json:"status"`
	Title          string         `json:"title"`
	Service        string         `json:"service"`
	AlertType      string         `json:"alert_type"`
	Severity       Severity       `json:"severity"`
	Environment    string         `json:"environment,omitempty"`
	Hosts          []string       `json:"hosts"`
	Targets        []string       `json:"targets"`
	EventCount     int            `json:"event_count"`
	AlertCount     int            `json:"alert_count"`
	FiringCount    int            `json:"firing_count"`
	OpenedAt       time.Time      `json:"opened_at"`
	LastSeenAt     time.Time      `json:"last_seen_at"`
	ResolvedAt     *time.Time     `json:"resolved_at,omitempty"`
	UpdatedAt      time.Time      `json:"updated_at"`

	// ResolvePolicy is when alerts resolve the incident: "all" of its
	// member alerts resolved, "any" one of them, or "manual" (only a person).
	ResolvePolicy  string     `json:"resolve_policy"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
	// ResolvedBy is empty when its alerts resolved it, else the actor or
	// "auto-resolve" (no event within correlation.auto_resolve_after).
	ResolvedBy string `json:"resolved_by,omitempty"`
	// MergedInto is the incident this one was merged into.
	MergedInto *int64 `json:"merged_into,omitempty"`
	// FlapCount counts reopens; Flapping is set while it reopens more
	// than correlation.flap_threshold times within correlation.flap_window.
	FlapCount int  `json:"flap_count"`
	Flapping  bool `json:"flapping"`
}

// IncidentAlert is one member alert of an incident, identified by its source
// and fingerprint (the same fingerprint from two sources is two members):
// its latest state and how often it was seen.
type IncidentAlert struct {
	Fingerprint string      `json:"fingerprint"`
	Source      string      `json:"source"`
	Status      AlertStatus `json:"status"`
	Severity    Severity    `json:"severity"`
	Title       string      `json:"title"`
	Host        string      `json:"host,omitempty"`
	EventCount  int         `json:"event_count"`
	FirstSeenAt time.Time   `json:"first_seen_at"`
	LastSeenAt  time.Time   `json:"last_seen_at"`
	LastEventAt time.Time   `json:"last_event_at"`
	LastEventID string      `json:"last_event_id"`
	Alert       Alert       `json:"alert"`
}

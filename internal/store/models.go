package store

import (
	"time"

	"github.com/incidenthub/incidenthub"
)

// Event statuses.
const (
	EventPending   = "pending"
	EventProcessed = "processed"
	EventUnmapped  = "unmapped"
	EventFailed    = "failed"
)

// Event is one raw inbound request, stored before it is acknowledged.
type Event struct {
	ID          string `gorm:"primaryKey"`
	Source      string
	Kind        string
	DedupKey    *string
	ReceivedAt  time.Time
	RemoteAddr  string
	ContentType string
	Headers     JSON[map[string]string]
	Body        []byte
	Status      string
	Error       string
	// Note says what the hub did with an event that holds no alert (an
	// SNS subscription confirmation); "" for the others.
	Note     string
	Attempts int
	Alerts   JSON[[]incidenthub.Alert]
	// Warnings are what normalization worked around (an unreadable
	// timestamp, …); empty for none.
	Warnings    JSON[[]incidenthub.Warning]
	ProcessedAt *time.Time
	// RetryAt: a failed attempt is not tried again before this time.
	RetryAt *time.Time
	// Duplicates counts repeats of this event (same source and dedup key)
	// that were acknowledged but not stored again; LastDuplicateAt is when
	// the latest arrived.
	Duplicates      int
	LastDuplicateAt *time.Time
	// BodyPurgedAt is when retention (retention.event_bodies) blanked
	// Body and Headers; nil while they are as received.
	BodyPurgedAt *time.Time
}

// Incident is a row of the incidents table.
type Incident struct {
	ID             int64 `gorm:"primaryKey"`
	CorrelationKey string
	Status         string
	Title          string
	Service        string
	AlertType      string
	Severity       string
	Environment    string
	Hosts          JSON[[]string]
	Targets        JSON[[]string]
	EventCount     int
	AlertCount     int
	FiringCount    int
	OpenedAt       time.Time
	LastSeenAt     time.Time
	ResolvedAt     *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time

	ResolvePolicy   string
	AcknowledgedAt  *time.Time
	AcknowledgedBy  string
	ResolvedBy      string
	MergedInto      *int64
	FlapCount       int
	FlapTimes       JSON[[]time.Time]
	LastFlapAt      *time.Time
	Flapping        bool
	HeldBack        int
	PendingJoins    int
	JoinsNotifiedAt *time.Time
}

// IncidentAlert is a member alert of an incident, identified by its source
// and fingerprint (unique per incident).
type IncidentAlert struct {
	ID          int64 `gorm:"primaryKey"`
	IncidentID  int64
	Fingerprint string
	Source      string
	Status      string
	Severity    string
	Title       string
	Host        string
	EventCount  int
	FirstSeenAt time.Time
	LastSeenAt  time.Time
	LastEventAt time.Time
	LastEventID string
	Alert       JSON[incidenthub.Alert]
}

// Domain converts the row to the shared domain type.
func (r *Incident) Domain() incidenthub.Incident {
	hosts, targets := r.Hosts.V, r.Targets.V
	if hosts == nil {
		hosts = []string{}
	}
	if targets == nil {
		targets = []string{}
	}
	return incidenthub.Incident{
		ID:             r.ID,
		CorrelationKey: r.CorrelationKey,
		Status:         incidenthub.IncidentStatus(r.Status),
		Title:          r.Title,
		Service:        r.Service,
		AlertType:      r.AlertType,
		Severity:       incidenthub.Severity(r.Severity),
		Environment:    r.Environment,
		Hosts:          hosts,
		Targets:        targets,
		EventCount:     r.EventCount,
		AlertCount:     r.AlertCount,
		FiringCount:    r.FiringCount,
		OpenedAt:       r.OpenedAt,
		LastSeenAt:     r.LastSeenAt,
		ResolvedAt:     r.ResolvedAt,
		UpdatedAt:      r.UpdatedAt,
		ResolvePolicy:  r.ResolvePolicy,
		AcknowledgedAt: r.AcknowledgedAt,
		AcknowledgedBy: r.AcknowledgedBy,
		ResolvedBy:     r.ResolvedBy,
		MergedInto:     r.MergedInto,
		FlapCount:      r.FlapCount,
		Flapping:       r.Flapping,
	}
}

// Domain converts the row to the shared domain type.
func (r *IncidentAlert) Domain() incidenthub.IncidentAlert {
	return incidenthub.IncidentAlert{
		Fingerprint: r.Fingerprint,
		Source:      r.Source,
		Status:      incidenthub.AlertStatus(r.Status),
		Severity:    incidenthub.Severity(r.Severity),
		Title:       r.Title,
		Host:        r.Host,
		EventCount:  r.EventCount,
		FirstSeenAt: r.FirstSeenAt,
		LastSeenAt:  r.LastSeenAt,
		LastEventAt: r.LastEventAt,
		LastEventID: r.LastEventID,
		Alert:       r.Alert.V,
	}
}

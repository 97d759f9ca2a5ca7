package mappings

import (
	"time"

	"github.com/incidenthub/incidenthub"
)

// AlertView is an alert as expressions and templates see it: `alert.title`,
// `alert.labels.team`, `alert.starts_at`. Field names are those of the
// alert's JSON; a time that is not set is the zero time (rfc3339 gives "").
type AlertView struct {
	Source        string            `expr:"source"`
	SourceEventID string            `expr:"source_event_id"`
	Fingerprint   string            `expr:"fingerprint"`
	Status        string            `expr:"status"`
	Severity      string            `expr:"severity"`
	Service       string            `expr:"service"`
	AlertType     string            `expr:"alert_type"`
	Title         string            `expr:"title"`
	Description   string            `expr:"description"`
	Host          string            `expr:"host"`
	Environment   string            `expr:"environment"`
	Labels        map[string]string `expr:"labels"`
	Annotations   map[string]string `expr:"annotations"`
	URL           string            `expr:"url"`
	StartsAt      time.Time         `expr:"starts_at"`
	EndsAt        time.Time         `expr:"ends_at"`
	ReceivedAt    time.Time         `expr:"received_at"`
}

// ViewAlert converts an alert for expressions.
func ViewAlert(a incidenthub.Alert) AlertView {
	v := AlertView{
		Source: a.Source, SourceEventID: a.SourceEventID, Fingerprint: a.Fingerprint,
		Status: string(a.Status), Severity: string(a.Severity), Service: a.Service,
		AlertType: a.AlertType, Title: a.Title, Description: a.Description, Host: a.Host,
		Environment: a.Environment, Labels: a.Labels, Annotations: a.Annotations, URL: a.URL,
		StartsAt: a.StartsAt, ReceivedAt: a.ReceivedAt,
	}
	if a.EndsAt != nil {
		v.EndsAt = *a.EndsAt
	}
	if v.Labels == nil {
		v.Labels = map[string]string{}
	}
	if v.Annotations == nil {
		v.Annotations = map[string]string{}
	}
	return v
}

// IncidentView is an incident as expressions and templates see it:
// `incident.title`, `incident.hosts`, `incident.opened_at`.
type IncidentView struct {
	ID             int64     `expr:"id"`
	CorrelationKey string    `expr:"correlation_key"`
	Status         string    `expr:"status"`
	Title          string    `expr:"title"`
	Service        string    `expr:"service"`
	AlertType      string    `expr:"alert_type"`
	Severity       string    `expr:"severity"`
	Environment    string    `expr:"environment"`
	Hosts          []string  `expr:"hosts"`
	Targets        []string  `expr:"targets"`
	EventCount     int       `expr:"event_count"`
	AlertCount     int       `expr:"alert_count"`
	FiringCount    int       `expr:"firing_count"`
	OpenedAt       time.Time `expr:"opened_at"`
	LastSeenAt     time.Time `expr:"last_seen_at"`
	ResolvedAt     time.Time `expr:"resolved_at"`
	UpdatedAt      time.Time `expr:"updated_at"`
}

// ViewIncident converts an incident for expressions.
func ViewIncident(i incidenthub.Incident) IncidentView {
	v := IncidentView{
		ID: i.ID, CorrelationKey: i.CorrelationKey, Status: string(i.Status), Title: i.Title,
		Service: i.Service, AlertType: i.AlertType, Severity: string(i.Severity),
		Environment: i.Environment, Hosts: i.Hosts, Targets: i.Targets, EventCount: i.EventCount,
		AlertCount: i.AlertCount, FiringCount: i.FiringCount, OpenedAt: i.OpenedAt,
		LastSeenAt: i.LastSeenAt, UpdatedAt: i.UpdatedAt,
	}
	if i.ResolvedAt != nil {
		v.ResolvedAt = *i.ResolvedAt
	}
	if v.Hosts == nil {
		v.Hosts = []string{}
	}
	if v.Targets == nil {
		v.Targets = []string{}
	}
	return v
}

package incidenthub

import "time"

// Outbound event types: what a change did to an incident, as a target sees
// it. The delivery engine derives them by comparing the incident's current
// state with the state last delivered to that target.
const (
	EventOpened       = "incident.opened"
	EventUpdated      = "incident.updated"
	EventAcknowledged = "incident.acknowledged"
	EventResolved     = "incident.resolved"
	EventReopened     = "incident.reopened"
)

// Fields a Notification's Changes may name.
const (
	ChangeStatus         = "status"
	ChangeSeverityRaised = "severity_raised"
	ChangeSeverity       = "severity"
	ChangeAlertCount     = "alert_count"
	ChangeFiringCount    = "firing_count"
	ChangeTitle          = "title"
)

// Notification is one change to bring an outbound target to: the
// incident's state now, what the target had before, and a stable id a
// receiver can drop duplicates by.
type Notification struct {
	// ID is the idempotency id: stable for this (incident, change) and
	// reused on every retry.
	ID     string `json:"id"`
	Event  string `json:"type"`
	Target string `json:"target"`
	// Changes names what differs from Previous (empty for an opening).
	Changes     []string  `json:"changes"`
	Incident    Incident  `json:"incident"`
	Previous    *Incident `json:"previous,omitempty"`
	LatestAlert *Alert    `json:"latest_alert,omitempty"`
	// Time is when the hub recorded the change.
	Time time.Time `json:"timestamp"`
	// Ref is the target's own handle for the incident from earlier syncs
	// (e.g. a Slack channel and message ts). A connector may set entries;
	// they are kept even when the attempt fails, so a retry updates the
	// message an earlier attempt created instead of posting another.
	Ref map[string]string `json:"-"`
	// Uncertain says an earlier attempt of this notification may have
	// reached the target without the hub learning its outcome (the hub
	// died mid-send, or the connection broke before the answer): a
	// connector that can look for what that attempt created should, before
	// creating it again.
	Uncertain bool `json:"-"`
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"   // waiting for its first attempt
	DeliveryRetrying  = "retrying"  // an attempt failed; another is scheduled
	DeliveryDelivered = "delivered" // the target accepted it
	DeliveryDead      = "dead"      // gave up: permanent error or retries exhausted
)

// Delivery is one change on its way to one target, with its retry state.
type Delivery struct {
	ID             int64      `json:"id"`
	IncidentID     int64      `json:"incident_id"`
	Target         string     `json:"target"`
	TargetType     string     `json:"target_type"`
	Event          string     `json:"event"`
	MessageID      string     `json:"message_id"`
	Status         string     `json:"status"`
	Changes        []string   `json:"changes"`
	Attempts       int        `json:"attempts"`
	LastError      string     `json:"last_error,omitempty"`
	LastStatusCode int        `json:"last_status_code,omitempty"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
}

// DeliveryAttempt is one HTTP exchange of one attempt, as sent and as
// answered, with secrets redacted and bodies capped.
type DeliveryAttempt struct {
	ID              int64               `json:"id"`
	Attempt         int                 `json:"attempt"`
	StartedAt       time.Time           `json:"started_at"`
	Method          string              `json:"method,omitempty"`
	URL             string              `json:"url,omitempty"`
	RequestHeaders  map[string][]string `json:"request_headers,omitempty"`
	RequestBody     string              `json:"request_body,omitempty"`
	ResponseStatus  int                 `json:"response_status,omitempty"`
	ResponseHeaders map[string][]string `json:"response_headers,omitempty"`
	ResponseBody    string              `json:"response_body,omitempty"`
	LatencyMS       int64               `json:"latency_ms"`
	Error           string              `json:"error,omitempty"`
	Outcome         string              `json:"outcome"`
	NextAttemptAt   *time.Time          `json:"next_attempt_at,omitempty"`
	// BodiesPurgedAt: retention blanked RequestBody and ResponseBody at
	// this time (retention.attempt_bodies); absent while they are kept.
	BodiesPurgedAt *time.Time `json:"bodies_purged_at,omitempty"`
}

// Ref keys of connectors that keep one remote object per incident (a Jira
// issue, a ServiceNow record, a Statuspage incident, a PagerDuty alert):
// RefIDPrefix+k holds a remote id (e.g. "id.issue_key"), RefLastPrefix+k
// what the last sync sent (e.g. "last.status"), and RefURL a link to the
// remote object.
const (
	RefIDPrefix   = "id."
	RefLastPrefix = "last."
	RefURL        = "url"
)

// TargetSync is what one target holds for an incident: its remote ids, a
// link to the remote object, and the status of the latest delivery.
type TargetSync struct {
	Target string `json:"target"`
	Type   string `json:"type"`
	// Refs are the target's ids for the incident (e.g. issue_key), and for
	// connectors without the id. prefix (Slack) their own keys.
	Refs       map[string]string `json:"refs"`
	URL        string            `json:"url,omitempty"`
	LastStatus string            `json:"last_status,omitempty"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

// RefView splits a stored Ref into the ids to show and the remote URL:
// "id." entries lose the prefix, "last." entries (bookkeeping) are left out.
func RefView(ref map[string]string) (refs map[string]string, url string) {
	refs = map[string]string{}
	for k, v := range ref {
		switch {
		case k == RefURL:
			url = v
		case len(k) > len(RefLastPrefix) && k[:len(RefLastPrefix)] == RefLastPrefix:
		case len(k) > len(RefIDPrefix) && k[:len(RefIDPrefix)] == RefIDPrefix:
			refs[k[len(RefIDPrefix):]] = v
		default:
			refs[k] = v
		}
	}
	return refs, url
}

// Event is an operational event the hub sends to a target outside incident
// delivery: a registry.verify check or an owner notice such as
// registry.secret_rotated. A webhook receives Data's fields beside id,
// type, timestamp and target, signed like a delivery; a chat target
// receives Text.
type Event struct {
	ID     string
	Type   string
	Time   time.Time
	Target string
	Data   map[string]any
	Text   string
}

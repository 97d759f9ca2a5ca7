package incidenthub

import "time"

// Timeline entry kinds.
const (
	TimelineOpened         = "opened"          // the first alert opened the incident
	TimelineAlertJoined    = "alert_joined"    // a new alert joined
	TimelineAlertFiring    = "alert_firing"    // a member alert fired again
	TimelineAlertResolved  = "alert_resolved"  // a member alert resolved
	TimelineSeverityRaised = "severity_raised" // a firing alert raised the severity
	TimelineAcknowledged   = "acknowledged"
	TimelineResolved       = "resolved"
	TimelineReopened       = "reopened"
	TimelineFlapping       = "flapping" // reopened too often: notifications held back
	TimelineSettled        = "settled"  // stopped flapping
	TimelineIgnored        = "ignored"  // a stale or orphaned event, with the reason
	TimelineJoinsNotified  = "joins_notified"
	TimelineMerged         = "merged"      // another incident was merged into this one
	TimelineMergedInto     = "merged_into" // this incident was merged into another
	TimelineSplit          = "split"       // an alert was split out into its own incident
	TimelineSplitFrom      = "split_from"  // this incident was split out of another
	TimelineInhibited      = "inhibited"   // an alert notified nobody: an inhibit rule's source fires (which incident, which rule)
)

// TimelineEntry is one thing that happened to an incident, in order.
type TimelineEntry struct {
	ID          int64          `json:"id"`
	IncidentID  int64          `json:"incident_id"`
	At          time.Time      `json:"at"`
	Kind        string         `json:"kind"`
	Actor       string         `json:"actor,omitempty"`
	EventID     string         `json:"event_id,omitempty"`
	Source      string         `json:"source,omitempty"`
	Fingerprint string         `json:"fingerprint,omitempty"`
	Status      string         `json:"status,omitempty"`
	Reason      string         `json:"reason,omitempty"`
	Details     map[string]any `json:"details,omitempty"`
}

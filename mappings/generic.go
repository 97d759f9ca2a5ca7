package mappings

import (
	"strings"

	"github.com/incidenthub/incidenthub"
)

// The generic kind is the hub's own documented shape for homegrown tools:
// either one alert object or {"id": ..., "alerts": [alert, ...]}, where an
// alert is
//
//	{"id", "fingerprint", "status", "severity", "service", "alert_type",
//	 "title", "description", "host", "environment", "labels": {},
//	 "annotations": {}, "url", "starts_at", "ends_at"}
//
// with status and alert_type required and times in RFC 3339. Unknown
// members are ignored.

func normalizeGeneric(root node, source string) ([]incidenthub.Alert, error) {
	entries, err := genericAlerts(root)
	if err != nil {
		return nil, err
	}
	out := make([]incidenthub.Alert, 0, len(entries))
	for _, a := range entries {
		alert, err := genericAlert(a, source)
		if err != nil {
			return nil, err
		}
		out = append(out, alert)
	}
	return out, nil
}

// genericAlerts returns the alert objects of either form: the members of
// "alerts" when the root has one, else the root itself.
func genericAlerts(root node) ([]node, error) {
	if err := root.object(); err != nil {
		return nil, err
	}
	list := root.get("alerts")
	if list.null() {
		return []node{root}, nil
	}
	entries, err := list.list()
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, list.errorf("list of alerts is empty")
	}
	for _, a := range entries {
		if err := a.object(); err != nil {
			return nil, err
		}
	}
	return entries, nil
}

// genericAlert maps one alert object; every field is the member of the
// same name, and:
//
//	status       firing|resolved                          (required)
//	alert_type                                            (required)
//	severity     through severities, else warning; an unknown word is an error
//	fingerprint  fingerprint, else sha256(source, service, alert_type, host)
//	title        title, else alert_type
//	source_event_id <- id
func genericAlert(a node, source string) (incidenthub.Alert, error) {
	f, err := readStrings(a, "id", "fingerprint", "severity", "service", "alert_type", "title",
		"description", "host", "environment", "url")
	if err != nil {
		return incidenthub.Alert{}, err
	}
	status, err := parseStatus(a.get("status"))
	if err != nil {
		return incidenthub.Alert{}, err
	}
	if blank(f["alert_type"]) {
		return incidenthub.Alert{}, a.get("alert_type").missing("alert_type")
	}
	severity := defaultSeverity
	if !blank(f["severity"]) {
		var ok bool
		if severity, ok = lookupSeverity(f["severity"]); !ok {
			return incidenthub.Alert{}, a.get("severity").errorf("unknown severity %q (want critical, high, warning or info)", f["severity"])
		}
	}
	labels, err := a.get("labels").strMap()
	if err != nil {
		return incidenthub.Alert{}, err
	}
	annotations, err := a.get("annotations").strMap()
	if err != nil {
		return incidenthub.Alert{}, err
	}
	startsAt, err := a.get("starts_at").rfc3339()
	if err != nil {
		return incidenthub.Alert{}, err
	}
	endsAt, err := a.get("ends_at").rfc3339()
	if err != nil {
		return incidenthub.Alert{}, err
	}
	fingerprint := strings.TrimSpace(f["fingerprint"])
	if fingerprint == "" {
		fingerprint = hashHex(source, f["service"], f["alert_type"], f["host"])
	}
	return incidenthub.Alert{
		SourceEventID: strings.TrimSpace(f["id"]),
		Fingerprint:   fingerprint,
		Status:        status,
		Severity:      severity,
		Service:       f["service"],
		AlertType:     f["alert_type"],
		Title:         first(f["title"], f["alert_type"]),
		Description:   f["description"],
		Host:          f["host"],
		Environment:   f["environment"],
		Labels:        labels,
		Annotations:   annotations,
		URL:           f["url"],
		StartsAt:      startsAt,
		EndsAt:        &endsAt,
	}, nil
}

// dedupGeneric is the top-level id: the alert's own in the single form,
// the envelope's in the list form.
func dedupGeneric(root node) string {
	id, err := root.get("id").str()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(id)
}

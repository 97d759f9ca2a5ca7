package mappings

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/incidenthub/incidenthub"
)

// Prometheus Alertmanager webhook payload, version "4":
//
//	{"version": "4", "groupKey", "truncatedAlerts", "status", "receiver",
//	 "groupLabels", "commonLabels", "commonAnnotations", "externalURL",
//	 "alerts": [{"status", "labels", "annotations", "startsAt", "endsAt",
//	             "generatorURL", "fingerprint"}, ...]}
//
// Grafana's unified alerting webhook has the same shape plus orgId, title,
// state, message at the top and silenceURL, dashboardURL, panelURL,
// imageURL, values, valueString per alert. Each alerts[] entry becomes one
// alert; the group-level fields are not needed because every alert carries
// its own labels and annotations.

func normalizeAlertmanager(root node, _ string) ([]incidenthub.Alert, error) {
	return fanOut(root, func(a node) (string, error) {
		return a.get("generatorURL").str()
	})
}

func normalizeGrafana(root node, _ string) ([]incidenthub.Alert, error) {
	return fanOut(root, func(a node) (string, error) {
		// The panel or dashboard shows the data; the generator URL is the rule.
		var urls [3]string
		for i, key := range []string{"panelURL", "dashboardURL", "generatorURL"} {
			s, err := a.get(key).str()
			if err != nil {
				return "", err
			}
			urls[i] = s
		}
		return first(urls[:]...), nil
	})
}

// amAlerts returns the payload's alerts[] entries, checking the shape.
func amAlerts(root node) ([]node, error) {
	if err := root.object(); err != nil {
		return nil, err
	}
	list := root.get("alerts")
	if list.null() {
		return nil, list.errorf("required list of alerts is missing")
	}
	alerts, err := list.list()
	if err != nil {
		return nil, err
	}
	if len(alerts) == 0 {
		return nil, list.errorf("list of alerts is empty")
	}
	for _, a := range alerts {
		if err := a.object(); err != nil {
			return nil, err
		}
	}
	return alerts, nil
}

// fanOut maps each alerts[] entry of an Alertmanager-shaped payload; url
// reads the kind's link for one entry.
func fanOut(root node, url func(a node) (string, error)) ([]incidenthub.Alert, error) {
	entries, err := amAlerts(root)
	if err != nil {
		return nil, err
	}
	out := make([]incidenthub.Alert, 0, len(entries))
	for _, a := range entries {
		alert, err := amAlert(root, a)
		if err != nil {
			return nil, err
		}
		if alert.URL, err = url(a); err != nil {
			return nil, err
		}
		out = append(out, alert)
	}
	return out, nil
}

// amAlert maps one alerts[] entry:
//
//	fingerprint  <- fingerprint, else sha256 of the sorted labels
//	status       <- status, else the payload's status     (required)
//	alert_type   <- labels.alertname                      (required)
//	severity     <- labels.severity through severities, else warning
//	service      <- labels.service | labels.job
//	host         <- labels.instance | labels.host
//	environment  <- labels.env | labels.environment
//	title        <- annotations.summary | labels.alertname
//	description  <- annotations.description
//	starts_at    <- startsAt;  ends_at <- endsAt (resolved only)
func amAlert(root, a node) (incidenthub.Alert, error) {
	labels, err := a.get("labels").strMap()
	if err != nil {
		return incidenthub.Alert{}, err
	}
	annotations, err := a.get("annotations").strMap()
	if err != nil {
		return incidenthub.Alert{}, err
	}
	alertname := labels["alertname"]
	if blank(alertname) {
		return incidenthub.Alert{}, a.get("labels").get("alertname").missing("alert_type")
	}
	status, err := amStatus(root, a)
	if err != nil {
		return incidenthub.Alert{}, err
	}
	fingerprint, err := amFingerprint(a, labels)
	if err != nil {
		return incidenthub.Alert{}, err
	}
	startsAt, err := a.get("startsAt").rfc3339()
	if err != nil {
		return incidenthub.Alert{}, err
	}
	endsAt, err := a.get("endsAt").rfc3339()
	if err != nil {
		return incidenthub.Alert{}, err
	}
	severity, ok := lookupSeverity(labels["severity"])
	if !ok {
		severity = defaultSeverity
	}
	return incidenthub.Alert{
		Fingerprint: fingerprint,
		Status:      status,
		Severity:    severity,
		Service:     first(labels["service"], labels["job"]),
		AlertType:   alertname,
		Title:       first(annotations["summary"], alertname),
		Description: annotations["description"],
		Host:        first(labels["instance"], labels["host"]),
		Environment: first(labels["env"], labels["environment"]),
		Labels:      labels,
		Annotations: annotations,
		StartsAt:    startsAt,
		EndsAt:      &endsAt,
	}, nil
}

// amStatus is the entry's own status, falling back to the payload's.
func amStatus(root, a node) (incidenthub.AlertStatus, error) {
	if s := a.get("status"); !s.null() {
		return parseStatus(s)
	}
	if s := root.get("status"); !s.null() {
		return parseStatus(s)
	}
	return "", a.get("status").missing("status")
}

// amFingerprint is the source's fingerprint; senders too old to send one
// get the hex sha256 of the sorted name=value labels instead, which is
// stable across notifications in the same way.
func amFingerprint(a node, labels map[string]string) (string, error) {
	fp, err := a.get("fingerprint").str()
	if err != nil || !blank(fp) {
		return fp, err
	}
	pairs := make([]string, 0, len(labels))
	for k, v := range labels {
		pairs = append(pairs, k+"="+v)
	}
	slices.Sort(pairs)
	return hashHex(pairs...), nil
}

// dedupAlertmanager is the hex sha256 over the sorted
// "fingerprint|startsAt|status" lines of the payload's alerts, with
// startsAt in UTC RFC 3339 so the sender's time zone does not matter.
func dedupAlertmanager(root node) string {
	entries, err := amAlerts(root)
	if err != nil {
		return ""
	}
	lines := make([]string, 0, len(entries))
	for _, a := range entries {
		labels, err := a.get("labels").strMap()
		if err != nil {
			return ""
		}
		fp, err := amFingerprint(a, labels)
		if err != nil {
			return ""
		}
		status, err := amStatus(root, a)
		if err != nil {
			return ""
		}
		startsAt, err := a.get("startsAt").rfc3339()
		if err != nil {
			return ""
		}
		start := ""
		if !startsAt.IsZero() {
			start = startsAt.Format(time.RFC3339Nano)
		}
		lines = append(lines, fp+"|"+start+"|"+string(status))
	}
	slices.Sort(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:])
}

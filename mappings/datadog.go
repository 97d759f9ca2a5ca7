package mappings

import (
	"strings"

	"github.com/incidenthub/incidenthub"
)

// Datadog's default webhook payload (id, title, body, date, last_updated,
// event_type, org) does not say which monitor fired or whether it
// recovered, so the hub documents a payload template for Datadog's webhook
// integration (docs/sources.md), built from Datadog's $VARIABLES:
//
//	{"id": "$ID", "title": "$EVENT_TITLE", "body": "$EVENT_MSG",
//	 "text_only_msg": "$TEXT_ONLY_MSG", "date": "$DATE",
//	 "last_updated": "$LAST_UPDATED", "event_type": "$EVENT_TYPE",
//	 "alert_id": "$ALERT_ID", "alert_cycle_key": "$ALERT_CYCLE_KEY",
//	 "alert_title": "$ALERT_TITLE", "alert_transition": "$ALERT_TRANSITION",
//	 "alert_type": "$ALERT_TYPE", "alert_status": "$ALERT_STATUS",
//	 "alert_scope": "$ALERT_SCOPE", "alert_priority": "$ALERT_PRIORITY",
//	 "alert_metric": "$ALERT_METRIC", "alert_query": "$ALERT_QUERY",
//	 "hostname": "$HOSTNAME", "tags": "$TAGS", "link": "$LINK",
//	 "snapshot": "$SNAPSHOT", "org": {"id": "$ORG_ID", "name": "$ORG_NAME"}}
//
// One payload is one alert.

// datadogTransitions maps $ALERT_TRANSITION (lower case) to a status.
var datadogTransitions = map[string]incidenthub.AlertStatus{
	"triggered":    incidenthub.AlertFiring,
	"re-triggered": incidenthub.AlertFiring,
	"warn":         incidenthub.AlertFiring,
	"re-warn":      incidenthub.AlertFiring,
	"no data":      incidenthub.AlertFiring,
	"re-no data":   incidenthub.AlertFiring,
	"renotify":     incidenthub.AlertFiring,
	"recovered":    incidenthub.AlertResolved,
}

// datadogAnnotations copies these payload fields, when not empty, into
// the alert's annotations under the same names.
var datadogAnnotations = []string{
	"alert_cycle_key", "alert_metric", "alert_priority", "alert_query",
	"alert_scope", "alert_status", "alert_transition", "alert_type",
	"event_type", "snapshot",
}

// normalizeDatadog maps one payload of the hub's Datadog template:
//
//	source_event_id <- id
//	alert_type      <- alert_id (the monitor id)         (required)
//	status          <- alert_transition via datadogTransitions (required)
//	fingerprint     <- alert_id ":" alert_scope (spaces trimmed), or alert_id
//	severity        <- alert_priority P1..P5, else Warn/Re-Warn -> warning,
//	                   else alert_type error -> high, else warning
//	service         <- tag service:, else scope service:
//	environment     <- tag env:, else scope env:
//	host            <- hostname, else scope host:, else tag host:
//	title           <- alert_title | title, minus "[P1] [Triggered on {...}]"
//	description     <- text_only_msg | body without its %%% markdown fence
//	url             <- link
//	labels          <- tags, "key:value" -> key=value
//	starts_at       <- date | last_updated (epoch ms); ends_at = the same
//	                   time when resolved (Datadog sends one time only)
func normalizeDatadog(root node, _ string) ([]incidenthub.Alert, error) {
	if err := root.object(); err != nil {
		return nil, err
	}
	f, err := readStrings(root, "id", "title", "body", "text_only_msg", "alert_id", "alert_title",
		"alert_transition", "alert_type", "alert_scope", "alert_priority", "hostname", "tags", "link")
	if err != nil {
		return nil, err
	}
	monitorID := strings.TrimSpace(f["alert_id"])
	if monitorID == "" {
		return nil, root.get("alert_id").errorf("required field %q is missing (is the hub's Datadog payload template configured? see docs/sources.md)", "alert_type")
	}
	status, err := datadogStatus(root.get("alert_transition"))
	if err != nil {
		return nil, err
	}
	at, err := root.get("date").epochMillis()
	if err != nil {
		return nil, err
	}
	if at.IsZero() {
		if at, err = root.get("last_updated").epochMillis(); err != nil {
			return nil, err
		}
	}
	tags := splitTags(f["tags"])
	scope := splitTags(f["alert_scope"])
	annotations, err := datadogAnnotationMap(root)
	if err != nil {
		return nil, err
	}

	fingerprint := monitorID
	if s := joinTags(scope); s != "" {
		fingerprint += ":" + s
	}
	return []incidenthub.Alert{{
		SourceEventID: strings.TrimSpace(f["id"]),
		Fingerprint:   fingerprint,
		Status:        status,
		Severity:      datadogSeverity(f["alert_priority"], f["alert_transition"], f["alert_type"]),
		Service:       first(tags.value("service"), scope.value("service")),
		AlertType:     monitorID,
		Title:         first(stripDatadogTitle(f["alert_title"]), stripDatadogTitle(f["title"])),
		Description:   first(f["text_only_msg"], trimMarkdownFence(f["body"])),
		Host:          first(f["hostname"], scope.value("host"), tags.value("host")),
		Environment:   first(tags.value("env"), scope.value("env")),
		Labels:        tags.labels(),
		Annotations:   annotations,
		URL:           f["link"],
		StartsAt:      at,
		EndsAt:        &at,
	}}, nil
}

func dedupDatadog(root node) string {
	id, err := root.get("id").str()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(id)
}

func datadogStatus(n node) (incidenthub.AlertStatus, error) {
	s, err := n.str()
	if err != nil {
		return "", err
	}
	if blank(s) {
		return "", n.missing("status")
	}
	st, ok := datadogTransitions[strings.ToLower(strings.TrimSpace(s))]
	if !ok {
		return "", n.errorf("unknown alert transition %q (want Triggered, Re-Triggered, Warn, Re-Warn, No Data, Re-No Data, Renotify or Recovered)", s)
	}
	return st, nil
}

// datadogSeverity: the monitor's priority wins; without one, a warning
// transition is a warning and an error alert is high.
func datadogSeverity(priority, transition, alertType string) incidenthub.Severity {
	switch p := strings.ToLower(strings.TrimSpace(priority)); p {
	case "p1", "p2", "p3", "p4", "p5":
		sev, _ := lookupSeverity(p)
		return sev
	}
	switch t := strings.ToLower(strings.TrimSpace(transition)); {
	case t == "warn" || t == "re-warn":
		return incidenthub.SeverityWarning
	case strings.EqualFold(strings.TrimSpace(alertType), "error"):
		return incidenthub.SeverityHigh
	}
	return defaultSeverity
}

func datadogAnnotationMap(root node) (map[string]string, error) {
	out := map[string]string{}
	add := func(key string, n node) error {
		s, err := n.str()
		if err != nil {
			return err
		}
		if !blank(s) {
			out[key] = s
		}
		return nil
	}
	for _, key := range datadogAnnotations {
		if err := add(key, root.get(key)); err != nil {
			return nil, err
		}
	}
	if org := root.get("org"); !org.null() {
		if err := org.object(); err != nil {
			return nil, err
		}
		if err := add("org_id", org.get("id")); err != nil {
			return nil, err
		}
		if err := add("org_name", org.get("name")); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readStrings reads the named scalar members of an object node.
func readStrings(n node, keys ...string) (map[string]string, error) {
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		s, err := n.get(k).str()
		if err != nil {
			return nil, err
		}
		out[k] = s
	}
	return out, nil
}

// tag is one "key:value" entry of a Datadog tag list; a tag without a
// colon has an empty value.
type tag struct{ key, value string }

type tagList []tag

// splitTags parses a comma-separated Datadog tag list such as
// "env:prod, service:checkout,monitor". Values may contain colons.
func splitTags(s string) tagList {
	var out tagList
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, ":")
		out = append(out, tag{key: strings.TrimSpace(k), value: strings.TrimSpace(v)})
	}
	return out
}

// value is the value of the first tag named key, or "".
func (l tagList) value(key string) string {
	for _, t := range l {
		if t.key == key {
			return t.value
		}
	}
	return ""
}

// labels turns the list into a map; repeated keys (team:a,team:b) keep all
// values, comma-joined in order.
func (l tagList) labels() map[string]string {
	out := make(map[string]string, len(l))
	for _, t := range l {
		if old, ok := out[t.key]; ok {
			out[t.key] = old + "," + t.value
			continue
		}
		out[t.key] = t.value
	}
	return out
}

// joinTags writes the list back as "k:v,k:v" in its original order.
func joinTags(l tagList) string {
	parts := make([]string, len(l))
	for i, t := range l {
		parts[i] = t.key
		if t.value != "" {
			parts[i] += ":" + t.value
		}
	}
	return strings.Join(parts, ",")
}

// trimMarkdownFence removes the "%%%" lines Datadog wraps $EVENT_MSG in.
func trimMarkdownFence(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "%%%")
	s = strings.TrimSuffix(s, "%%%")
	return strings.TrimSpace(s)
}

// stripDatadogTitle removes the bracketed prefixes Datadog puts in front of
// a monitor's name: "[P1] [Triggered on {host:web-1,env:prod}] Host is
// down" -> "Host is down". A bracket that is not a priority or a
// transition is part of the name and stays.
func stripDatadogTitle(s string) string {
	s = strings.TrimSpace(s)
	for strings.HasPrefix(s, "[") {
		end := closingBracket(s)
		if end < 0 || !isTitlePrefix(s[1:end]) {
			break
		}
		s = strings.TrimSpace(s[end+1:])
	}
	return s
}

// closingBracket is the index of the "]" closing s[0], skipping any inside
// {...} (a scope may hold anything), or -1.
func closingBracket(s string) int {
	depth := 0
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			if depth > 0 {
				depth--
			}
		case ']':
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// isTitlePrefix reports whether the text inside a leading [...] is a
// priority ("P1") or a transition, alone or followed by " on {scope}".
func isTitlePrefix(inner string) bool {
	inner = strings.ToLower(strings.TrimSpace(inner))
	switch inner {
	case "p1", "p2", "p3", "p4", "p5":
		return true
	}
	for t := range datadogTransitions {
		if inner == t || strings.HasPrefix(inner, t+" on ") {
			return true
		}
	}
	return false
}

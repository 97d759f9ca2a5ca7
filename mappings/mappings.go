// Package mappings turns the raw webhook payloads of monitoring tools into
// the hub's normalized incidenthub.Alert.
//
// Each built-in source kind has a small, table-like normalizer: it reads
// fields by JSON path, applies defaults and enum maps, and fans a payload
// out into one alert per entry where the source batches them. A later
// version expresses the same mappings declaratively; until then keep every
// normalizer a flat list of "this path feeds that field" so it translates
// one to one.
//
// Errors are *incidenthub.Error: EINVALID when the body is not JSON at all,
// EUNPROCESSABLE when it is JSON that does not satisfy the mapping, with a
// message that starts with the JSON path at fault, e.g.
//
//	alerts[2].labels.alertname: required field "alert_type" is missing
package mappings

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/incidenthub/incidenthub"
)

// mapping is one built-in source kind.
type mapping struct {
	// normalize maps a decoded payload to alerts. It fills what the payload
	// says; Normalize then sets Source, ReceivedAt and the shared defaults.
	normalize func(root node, source string) ([]incidenthub.Alert, error)
	// dedupKey is the source's own identity for the whole delivery, or "".
	dedupKey func(root node) string
}

// kinds lists the built-in mappings. One line per kind; no registration
// anywhere else.
var kinds = map[string]mapping{
	"alertmanager": {normalize: normalizeAlertmanager, dedupKey: dedupAlertmanager},
	"datadog":      {normalize: normalizeDatadog, dedupKey: dedupDatadog},
	"generic":      {normalize: normalizeGeneric, dedupKey: dedupGeneric},
	"grafana":      {normalize: normalizeGrafana, dedupKey: dedupAlertmanager},
}

// defaultSeverity is used when the source gives no severity at all.
const defaultSeverity = incidenthub.SeverityWarning

// Kinds returns the built-in source kinds, sorted.
func Kinds() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// KnownKind reports whether kind is built in.
func KnownKind(kind string) bool {
	_, ok := kinds[kind]
	return ok
}

// Normalize maps one raw payload of the given kind, received by the source
// named source at receivedAt, into one or more alerts. Alertmanager and
// Grafana payloads fan out into one alert per alerts[] entry, in order.
//
// A body that is not JSON is EINVALID; JSON that does not satisfy the
// mapping (a required field missing, a value of the wrong type, an unknown
// status or severity, a bad timestamp) is EUNPROCESSABLE, and so is an
// unknown kind, so the caller keeps the payload and can replay it once the
// mapping exists.
func Normalize(kind, source string, body []byte, receivedAt time.Time) ([]incidenthub.Alert, error) {
	m, ok := kinds[kind]
	if !ok {
		return nil, incidenthub.Errorf(incidenthub.EUNPROCESSABLE, "unknown source kind %q (want one of %s)", kind, strings.Join(Kinds(), ", "))
	}
	root, err := decode(body)
	if err != nil {
		return nil, err
	}
	alerts, err := m.normalize(root, source)
	if err != nil {
		return nil, err
	}
	if len(alerts) == 0 {
		return nil, incidenthub.Errorf(incidenthub.EUNPROCESSABLE, "payload holds no alerts")
	}
	receivedAt = receivedAt.UTC()
	for i := range alerts {
		finish(&alerts[i], source, receivedAt)
	}
	return alerts, nil
}

// DedupKey returns the source's own identity for the whole payload, so the
// same delivery sent twice is recognised: Datadog's event id; for
// Alertmanager and Grafana the hex sha256 over the sorted
// "fingerprint|startsAt|status" of its alerts (so a resolve notification
// differs from the firing one); generic's top-level id. It returns "" when
// the payload carries none, is not parseable, or the kind is unknown.
func DedupKey(kind string, body []byte) string {
	m, ok := kinds[kind]
	if !ok {
		return ""
	}
	root, err := decode(body)
	if err != nil {
		return ""
	}
	return m.dedupKey(root)
}

// finish applies what every alert gets whatever its source: the hub's
// source name and receive time, UTC times, a start time, a title, non-nil
// maps, and an end time only when resolved.
func finish(a *incidenthub.Alert, source string, receivedAt time.Time) {
	a.Source = source
	a.ReceivedAt = receivedAt
	if a.StartsAt.IsZero() {
		a.StartsAt = receivedAt
	}
	a.StartsAt = a.StartsAt.UTC()
	if a.Status != incidenthub.AlertResolved || (a.EndsAt != nil && a.EndsAt.IsZero()) {
		a.EndsAt = nil
	}
	if a.EndsAt != nil {
		t := a.EndsAt.UTC()
		a.EndsAt = &t
	}
	if !a.Severity.Valid() {
		a.Severity = defaultSeverity
	}
	if blank(a.Title) {
		a.Title = a.AlertType
	}
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
	if a.Annotations == nil {
		a.Annotations = map[string]string{}
	}
}

// parseStatus maps a firing/resolved status, case-insensitively.
func parseStatus(n node) (incidenthub.AlertStatus, error) {
	s, err := n.str()
	if err != nil {
		return "", err
	}
	if blank(s) {
		return "", n.missing("status")
	}
	st := incidenthub.AlertStatus(strings.ToLower(strings.TrimSpace(s)))
	if !st.Valid() {
		return "", n.errorf("unknown status %q (want firing or resolved)", s)
	}
	return st, nil
}

// severities maps the severity words sources use onto the hub's four
// levels. Keys are lower case.
var severities = map[string]incidenthub.Severity{
	"critical": incidenthub.SeverityCritical,
	"page":     incidenthub.SeverityCritical,
	"p1":       incidenthub.SeverityCritical,
	"error":    incidenthub.SeverityHigh,
	"high":     incidenthub.SeverityHigh,
	"major":    incidenthub.SeverityHigh,
	"p2":       incidenthub.SeverityHigh,
	"warning":  incidenthub.SeverityWarning,
	"warn":     incidenthub.SeverityWarning,
	"p3":       incidenthub.SeverityWarning,
	"info":     incidenthub.SeverityInfo,
	"low":      incidenthub.SeverityInfo,
	"none":     incidenthub.SeverityInfo,
	"p4":       incidenthub.SeverityInfo,
	"p5":       incidenthub.SeverityInfo,
}

// lookupSeverity maps s through severities, case-insensitively; ok is
// false for an empty or unknown word.
func lookupSeverity(s string) (incidenthub.Severity, bool) {
	sev, ok := severities[strings.ToLower(strings.TrimSpace(s))]
	return sev, ok
}

// first returns the first of vals that is not blank, or "".
func first(vals ...string) string {
	for _, v := range vals {
		if !blank(v) {
			return v
		}
	}
	return ""
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

// hashHex is the hex sha256 of parts joined by NUL bytes, so that
// ("ab", "c") and ("a", "bc") differ.
func hashHex(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

package mappings_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/mappings"
)

var update = flag.Bool("update", false, "rewrite testdata/<kind>/<case>.golden.json from the current output")

// receivedAt is the receive time every test uses; it is deliberately not
// any payload's own time so a fallback to it shows in the golden files.
var receivedAt = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// inputs lists the payload files of one kind: testdata/<kind>/*.json
// without the golden outputs.
func inputs(t testing.TB, kind string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join("testdata", kind, "*.json"))
	require.NoError(t, err)
	var out []string
	for _, p := range all {
		if !strings.HasSuffix(p, ".golden.json") {
			out = append(out, p)
		}
	}
	return out
}

// encodeGolden writes v (alerts, or warnings) as indented JSON, without
// HTML escaping so that "<", ">" and "&" stay readable in review.
func encodeGolden(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(v))
	return buf.Bytes()
}

// goldenPath is <case>.golden.json: the alerts an input maps to.
func goldenPath(input string) string {
	return strings.TrimSuffix(input, ".json") + ".golden.json"
}

// warningsPath is <case>.warnings.golden.json: the warnings, only for an
// input that has some.
func warningsPath(input string) string {
	return strings.TrimSuffix(input, ".json") + ".warnings.golden.json"
}

func TestKinds(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"alertmanager", "amazon-sns-cloudwatch", "azure-monitor", "datadog", "dynatrace", "elastic", "gcp-monitoring", "generic", "grafana", "honeycomb", "newrelic", "opsgenie", "pagerduty", "pingdom", "sentry", "uptime-kuma", "zabbix"}, mappings.Kinds())
	for _, k := range mappings.Kinds() {
		require.True(t, mappings.KnownKind(k), k)
	}
	require.False(t, mappings.KnownKind("nagios"))
	require.False(t, mappings.KnownKind(""))
	require.False(t, mappings.KnownKind("Alertmanager"))
}

// TestNormalizeGolden maps every testdata/<kind>/<case>.json and compares
// the indented JSON of the alerts with <case>.golden.json byte for byte.
// Run with -update to rewrite the golden files, then review the diff: the
// golden files are the specification of each mapping.
func TestNormalizeGolden(t *testing.T) {
	for _, kind := range mappings.Kinds() {
		runGolden(t, nil, kind)
	}
}

// runGolden maps every testdata/<kind>/*.json with set (nil: the built-in
// set) and compares the alerts with <case>.golden.json and the warnings
// with <case>.warnings.golden.json, which exists exactly when the input has
// warnings: a warning that appears or disappears fails the test too.
func runGolden(t *testing.T, set *mappings.Set, kind string) {
	t.Helper()
	files := inputs(t, kind)
	require.GreaterOrEqual(t, len(files), 3, "want at least 3 golden cases for %s", kind)
	for _, in := range files {
		name := kind + "/" + strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			require.NoError(t, err)
			res, err := set.Normalize(kind, kind+"-main", body, receivedAt)
			require.NoError(t, err)
			for _, a := range res.Alerts {
				checkInvariants(t, a, kind+"-main")
			}
			checkWarnings(t, res)
			got := encodeGolden(t, res.Alerts)
			if *update {
				require.NoError(t, os.WriteFile(goldenPath(in), got, 0o644))
				if len(res.Warnings) > 0 {
					require.NoError(t, os.WriteFile(warningsPath(in), encodeGolden(t, res.Warnings), 0o644))
				} else if err := os.Remove(warningsPath(in)); err != nil {
					require.ErrorIs(t, err, os.ErrNotExist)
				}
			}
			want, err := os.ReadFile(goldenPath(in))
			require.NoError(t, err, "missing golden file; run go test ./mappings/ -run Golden -update and review it")
			require.Equal(t, string(want), string(got))

			wantWarnings, err := os.ReadFile(warningsPath(in))
			if len(res.Warnings) == 0 {
				require.ErrorIs(t, err, os.ErrNotExist, "%s exists but the input has no warnings now; run -update and review", warningsPath(in))
				return
			}
			require.NoError(t, err, "the input has warnings but no %s; run go test ./mappings/ -run Golden -update and review it", warningsPath(in))
			require.Equal(t, string(wantWarnings), string(encodeGolden(t, res.Warnings)))
		})
	}
}

// TestGoldenFilesHaveInputs catches a golden file left behind when its
// input was renamed or removed.
func TestGoldenFilesHaveInputs(t *testing.T) {
	t.Parallel()
	golden, err := filepath.Glob(filepath.Join("testdata", "*", "*.golden.json"))
	require.NoError(t, err)
	require.NotEmpty(t, golden)
	for _, g := range golden {
		in := strings.TrimSuffix(strings.TrimSuffix(g, ".golden.json"), ".warnings") + ".json"
		_, err := os.Stat(in)
		require.NoError(t, err, "golden file %s has no input", g)
	}
}

// checkInvariants asserts what every normalized alert must satisfy,
// whatever its source.
func checkInvariants(t *testing.T, a incidenthub.Alert, source string) {
	t.Helper()
	require.Equal(t, source, a.Source)
	require.NotEmpty(t, strings.TrimSpace(a.Fingerprint), "fingerprint")
	require.True(t, a.Status.Valid(), "status %q", a.Status)
	require.True(t, a.Severity.Valid(), "severity %q", a.Severity)
	require.NotEmpty(t, strings.TrimSpace(a.AlertType), "alert_type")
	require.NotEmpty(t, strings.TrimSpace(a.Title), "title")
	require.False(t, a.StartsAt.IsZero(), "starts_at")
	require.Equal(t, time.UTC, a.StartsAt.Location(), "starts_at in UTC")
	require.True(t, a.ReceivedAt.Equal(receivedAt), "received_at")
	require.Equal(t, time.UTC, a.ReceivedAt.Location(), "received_at in UTC")
	if a.EndsAt != nil {
		require.Equal(t, incidenthub.AlertResolved, a.Status, "ends_at only when resolved")
		require.False(t, a.EndsAt.IsZero(), "ends_at is never the zero time")
		require.Equal(t, time.UTC, a.EndsAt.Location(), "ends_at in UTC")
	}
	require.NotNil(t, a.Labels, "labels")
	require.NotNil(t, a.Annotations, "annotations")
	requireValidText(t, a)
}

// requireValidText checks that every string of the alert is text every
// database stores: valid UTF-8 without NUL (Alert.Repair).
func requireValidText(t *testing.T, a incidenthub.Alert) {
	t.Helper()
	for name, s := range map[string]string{"source": a.Source, "source_event_id": a.SourceEventID, "fingerprint": a.Fingerprint,
		"service": a.Service, "alert_type": a.AlertType, "title": a.Title, "description": a.Description, "host": a.Host,
		"environment": a.Environment, "url": a.URL} {
		require.True(t, incidenthub.ValidText(s), "%s %q", name, s)
	}
	for _, m := range []map[string]string{a.Labels, a.Annotations} {
		for k, v := range m {
			require.True(t, incidenthub.ValidText(k) && incidenthub.ValidText(v), "%q: %q", k, v)
		}
	}
	require.LessOrEqual(t, len(a.Fingerprint), incidenthub.MaxFingerprintBytes)
	require.LessOrEqual(t, len(a.Service), incidenthub.MaxServiceBytes)
}

// checkWarnings asserts what every warning must satisfy: it names an
// alert time field, a path and why, and repeats a shortened value.
func checkWarnings(t *testing.T, res mappings.Result) {
	t.Helper()
	for _, w := range res.Warnings {
		require.Contains(t, []string{"starts_at", "ends_at"}, w.Field, "warning %+v", w)
		require.NotEmpty(t, w.Path, "warning %+v", w)
		require.NotEmpty(t, w.Message, "warning %+v", w)
		require.LessOrEqual(t, len(w.Value), 200+len("…"), "warning value is shortened")
		require.LessOrEqual(t, len(w.Message), 400, "warning message repeats a shortened value")
		require.True(t, incidenthub.ValidText(w.Path+w.Value+w.Message), "warning %+v", w)
	}
}

// errorCase is a payload that must not map, and the exact error.
type errorCase struct {
	name    string
	kind    string
	body    string
	code    string
	message string
}

func TestNormalizeErrors(t *testing.T) {
	t.Parallel()
	cases := []errorCase{
		// Not JSON at all: EINVALID, whatever the kind.
		{"empty body", "alertmanager", ``, incidenthub.EINVALID, "body is not valid JSON: unexpected end of JSON input"},
		{"plain text", "datadog", `hello`, incidenthub.EINVALID, "body is not valid JSON: invalid character 'h' looking for beginning of value"},
		{"truncated", "grafana", `{"alerts": [`, incidenthub.EINVALID, "body is not valid JSON: unexpected end of JSON input"},
		{"trailing data", "generic", `{"status":"firing","alert_type":"x"} {}`, incidenthub.EINVALID, "body is not valid JSON: invalid character '{' after top-level value"},
		{"form encoded", "datadog", `id=1&title=x`, incidenthub.EINVALID, "body is not valid JSON: invalid character 'i' looking for beginning of value"},

		// Unknown kind.
		{"unknown kind", "nagios", `{}`, incidenthub.EUNPROCESSABLE, `unknown source kind "nagios" (want one of alertmanager, amazon-sns-cloudwatch, azure-monitor, datadog, dynatrace, elastic, gcp-monitoring, generic, grafana, honeycomb, newrelic, opsgenie, pagerduty, pingdom, sentry, uptime-kuma, zabbix)`},

		// Alertmanager.
		{"am root array", "alertmanager", `[]`, incidenthub.EUNPROCESSABLE, "$: expected an object, got array"},
		{"am no alerts", "alertmanager", `{"version":"4","status":"firing"}`, incidenthub.EUNPROCESSABLE, "alerts: required list of alerts is missing"},
		{"am alerts empty", "alertmanager", `{"alerts":[]}`, incidenthub.EUNPROCESSABLE, "alerts: list of alerts is empty"},
		{"am alerts not array", "alertmanager", `{"alerts":{"status":"firing"}}`, incidenthub.EUNPROCESSABLE, "alerts: expected an array, got object"},
		{"am alert not object", "alertmanager", `{"alerts":[{"status":"firing","labels":{"alertname":"A"}}, "B"]}`, incidenthub.EUNPROCESSABLE, "alerts[1]: expected an object, got string"},
		{"am alertname missing", "alertmanager", amBody(`{"alertname":"A"}`, `{"alertname":"B"}`, `{"job":"node"}`), incidenthub.EUNPROCESSABLE, `alerts[2].labels.alertname: required field "alert_type" is missing`},
		{"am alertname blank", "alertmanager", amBody(`{"alertname":"  "}`), incidenthub.EUNPROCESSABLE, `alerts[0].labels.alertname: required field "alert_type" is missing`},
		{"am labels not object", "alertmanager", `{"alerts":[{"status":"firing","labels":["alertname"]}]}`, incidenthub.EUNPROCESSABLE, "alerts[0].labels: expected an object, got array"},
		{"am label not scalar", "alertmanager", `{"alerts":[{"status":"firing","labels":{"alertname":{"x":1}}}]}`, incidenthub.EUNPROCESSABLE, "alerts[0].labels.alertname: expected a string, got object"},
		{"am bad status", "alertmanager", `{"alerts":[{"status":"pending","labels":{"alertname":"A"}}]}`, incidenthub.EUNPROCESSABLE, `alerts[0].status: unknown status "pending" (want firing or resolved)`},
		{"am no status anywhere", "alertmanager", `{"alerts":[{"labels":{"alertname":"A"}}]}`, incidenthub.EUNPROCESSABLE, `alerts[0].status: required field "status" is missing`},

		// Grafana shares the Alertmanager rules.
		{"grafana legacy payload", "grafana", `{"ruleName":"CPU","state":"alerting","evalMatches":[]}`, incidenthub.EUNPROCESSABLE, "alerts: required list of alerts is missing"},
		{"grafana alertname missing", "grafana", `{"alerts":[{"status":"firing","labels":{"grafana_folder":"x"}}]}`, incidenthub.EUNPROCESSABLE, `alerts[0].labels.alertname: required field "alert_type" is missing`},
		{"grafana bad panelURL", "grafana", `{"alerts":[{"status":"firing","labels":{"alertname":"A"},"panelURL":["x"]}]}`, incidenthub.EUNPROCESSABLE, "alerts[0].panelURL: expected a string, got array"},

		// Datadog.
		{"datadog default payload", "datadog", `{"id":"1","title":"[Triggered] X","body":"b","date":"1714557600000","last_updated":"1714557600000","event_type":"query_alert_monitor","org":{"id":"1","name":"o"}}`, incidenthub.EUNPROCESSABLE, `alert_id: required field "alert_type" is missing (is the hub's Datadog payload template configured? see docs/sources.md)`},
		{"datadog no transition", "datadog", `{"alert_id":"12345"}`, incidenthub.EUNPROCESSABLE, `alert_transition: required field "status" is missing`},
		{"datadog null transition", "datadog", `{"alert_id":"12345","alert_transition":"Null"}`, incidenthub.EUNPROCESSABLE, `alert_transition: unknown alert transition "Null" (want Triggered, Re-Triggered, Warn, Re-Warn, No Data, Re-No Data, Renotify or Recovered)`},
		{"datadog bad transition", "datadog", `{"alert_id":"12345","alert_transition":"Muted"}`, incidenthub.EUNPROCESSABLE, `alert_transition: unknown alert transition "Muted" (want Triggered, Re-Triggered, Warn, Re-Warn, No Data, Re-No Data, Renotify or Recovered)`},
		{"datadog tags not string", "datadog", `{"alert_id":"12345","alert_transition":"Triggered","tags":["env:prod"]}`, incidenthub.EUNPROCESSABLE, "tags: expected a string, got array"},
		{"datadog org not object", "datadog", `{"alert_id":"12345","alert_transition":"Triggered","org":"acme"}`, incidenthub.EUNPROCESSABLE, "org: expected an object, got string"},
		{"datadog root string", "datadog", `"$ID"`, incidenthub.EUNPROCESSABLE, "$: expected an object, got string"},

		// Generic.
		{"generic no status", "generic", `{"alert_type":"disk_full"}`, incidenthub.EUNPROCESSABLE, `status: required field "status" is missing`},
		{"generic bad status", "generic", `{"status":"open","alert_type":"disk_full"}`, incidenthub.EUNPROCESSABLE, `status: unknown status "open" (want firing or resolved)`},
		{"generic no alert_type", "generic", `{"status":"firing"}`, incidenthub.EUNPROCESSABLE, `alert_type: required field "alert_type" is missing`},
		{"generic batch no alert_type", "generic", `{"alerts":[{"status":"firing","alert_type":"a"},{"status":"resolved"}]}`, incidenthub.EUNPROCESSABLE, `alerts[1].alert_type: required field "alert_type" is missing`},
		{"generic unknown severity", "generic", `{"status":"firing","alert_type":"a","severity":"disaster"}`, incidenthub.EUNPROCESSABLE, `severity: unknown severity "disaster" (want critical, high, warning or info)`},
		{"generic labels not object", "generic", `{"status":"firing","alert_type":"a","labels":"team=data"}`, incidenthub.EUNPROCESSABLE, "labels: expected an object, got string"},
		{"generic alerts empty", "generic", `{"alerts":[]}`, incidenthub.EUNPROCESSABLE, "alerts: list of alerts is empty"},
		{"generic root array", "generic", `[{"status":"firing","alert_type":"a"}]`, incidenthub.EUNPROCESSABLE, "$: expected an object, got array"},
		{"generic title object", "generic", `{"status":"firing","alert_type":"a","title":{"en":"x"}}`, incidenthub.EUNPROCESSABLE, "title: expected a string, got object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := mappings.Normalize(tc.kind, "src", []byte(tc.body), receivedAt)
			alerts := res.Alerts
			require.Error(t, err)
			require.Nil(t, alerts)
			var e *incidenthub.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tc.code, e.Code)
			require.Equal(t, tc.message, e.Message)
		})
	}
}

// TestNormalizeWarnings: an alert time that is present but cannot be read
// does not lose the alert. starts_at falls back to the next alternative or
// the receive time, ends_at to none, and a warning names the field, the
// path, the value and why.
func TestNormalizeWarnings(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("9", 1000)
	cases := []struct {
		name, kind, body string
		startsAt         time.Time // want
		endsAt           *time.Time
		warnings         []incidenthub.Warning
	}{
		{"am bad startsAt", "alertmanager", `{"alerts":[{"status":"firing","labels":{"alertname":"A"},"startsAt":"2024-05-01 10:00"}]}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "alerts[0].startsAt", Value: "2024-05-01 10:00", Message: `invalid timestamp "2024-05-01 10:00" (want RFC 3339, e.g. 2024-05-01T12:00:00Z)`}}},
		{"am numeric endsAt", "alertmanager", `{"alerts":[{"status":"resolved","labels":{"alertname":"A"},"startsAt":"2024-05-01T10:00:00Z","endsAt":1714557600}]}`, at(10, 0), nil,
			[]incidenthub.Warning{{Field: "ends_at", Path: "alerts[0].endsAt", Value: "1714557600", Message: "expected an RFC 3339 timestamp string, got number"}}},
		{"am object startsAt", "alertmanager", `{"alerts":[{"status":"firing","labels":{"alertname":"A"},"startsAt":{"at":"noon"}}]}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "alerts[0].startsAt", Value: `{"at":"noon"}`, Message: "expected an RFC 3339 timestamp string, got object"}}},
		// A firing alert has no end time anyway: nothing to warn about.
		{"am bad endsAt while firing", "alertmanager", `{"alerts":[{"status":"firing","labels":{"alertname":"A"},"startsAt":"2024-05-01T10:00:00Z","endsAt":"later"}]}`, at(10, 0), nil, nil},
		{"am time out of range", "alertmanager", `{"alerts":[{"status":"firing","labels":{"alertname":"A"}},{"status":"firing","labels":{"alertname":"B"},"startsAt":"0000-01-01T00:00:00+01:00"}]}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "alerts[1].startsAt", Value: "0000-01-01T00:00:00+01:00", Message: `timestamp "0000-01-01T00:00:00+01:00" is out of range`}}},
		{"datadog bad date", "datadog", `{"alert_id":"12345","alert_transition":"Triggered","date":"2024-05-01T10:00:00Z"}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "date", Value: "2024-05-01T10:00:00Z", Message: "invalid timestamp \"2024-05-01T10:00:00Z\" (want epoch milliseconds, e.g. 1406662672000)"}}},
		// The next path of the list stands in, with the warning.
		{"datadog bad date, good last_updated", "datadog", `{"alert_id":"12345","alert_transition":"Triggered","date":"soon","last_updated":"1714557600000"}`, at(10, 0), nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "date", Value: "soon", Message: `invalid timestamp "soon" (want epoch milliseconds, e.g. 1406662672000)`}}},
		{"datadog date out of range", "datadog", `{"alert_id":"12345","alert_transition":"Triggered","date":"9223372036854775807"}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "date", Value: "9223372036854775807", Message: `timestamp "9223372036854775807" is out of range`}}},
		{"generic bad starts_at", "generic", `{"status":"firing","alert_type":"a","starts_at":"yesterday"}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "starts_at", Value: "yesterday", Message: `invalid timestamp "yesterday" (want RFC 3339, epoch seconds or milliseconds, or a common date format)`}}},
		{"generic bad ends_at", "generic", `{"alerts":[{"status":"resolved","alert_type":"a","starts_at":"2024-05-01T10:00:00Z","ends_at":"2024-13-01T00:00:00Z"}]}`, at(10, 0), nil,
			[]incidenthub.Warning{{Field: "ends_at", Path: "alerts[0].ends_at", Value: "2024-13-01T00:00:00Z", Message: `invalid timestamp "2024-13-01T00:00:00Z" (want RFC 3339, epoch seconds or milliseconds, or a common date format)`}}},
		// A long value is shortened in the value and in the message.
		{"generic long starts_at", "generic", `{"status":"firing","alert_type":"a","starts_at":"` + long + `"}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "starts_at", Value: long[:200] + "…", Message: `invalid timestamp "` + long[:200] + `…" (want RFC 3339, epoch seconds or milliseconds, or a common date format)`}}},
		// Vendor kinds: a bad time loses no alert either.
		{"zabbix bad event_timestamp", "zabbix", `{"event_id":"1","event_value":"1","trigger_name_orig":"x","event_timestamp":"soon"}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "event_timestamp", Value: "soon", Message: `invalid timestamp "soon" (want epoch seconds, e.g. 1406662672)`}}},
		{"uptime-kuma bad heartbeat time", "uptime-kuma", `{"heartbeat":{"status":0,"time":"last tuesday"},"monitor":{"id":1,"name":"x","type":"http"}}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "heartbeat.time", Value: "last tuesday", Message: `invalid timestamp "last tuesday" (want RFC 3339, epoch seconds or milliseconds, or a common date format)`}}},
		{"uptime-kuma bad recovery time", "uptime-kuma", `{"heartbeat":{"status":1,"time":"last tuesday"},"monitor":{"id":1,"name":"x","type":"http"}}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "ends_at", Path: "heartbeat.time", Value: "last tuesday", Message: `invalid timestamp "last tuesday" (want RFC 3339, epoch seconds or milliseconds, or a common date format)`}}},
		// The UTC text stands in for an unreadable epoch.
		{"pingdom bad time", "pingdom", `{"check_id":1,"check_type":"HTTP","current_state":"DOWN","state_changed_timestamp":"x","state_changed_utc_time":"2024-05-01T10:00:00"}`, at(10, 0), nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "state_changed_timestamp", Value: "x", Message: `invalid timestamp "x" (want RFC 3339, epoch seconds or milliseconds, or a common date format)`}}},
		{"elastic bad date", "elastic", `{"rule_id":"r","alert_id":"a","rule_name":"n","action_group":"x","date":"tomorrow"}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "date", Value: "tomorrow", Message: `invalid timestamp "tomorrow" (want RFC 3339, epoch seconds or milliseconds, or a common date format)`}}},
		{"sns bad StateChangeTime", "amazon-sns-cloudwatch", `{"Type":"Notification","MessageId":"m-1","Message":"{\"AlarmName\":\"cpu\",\"NewStateValue\":\"ALARM\",\"StateChangeTime\":\"soon\"}"}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "Message.StateChangeTime", Value: "soon", Message: `invalid timestamp "soon" (want RFC 3339, epoch seconds or milliseconds, or a common date format)`}}},
		{"pagerduty bad occurred_at", "pagerduty", `{"event":{"id":"01","event_type":"incident.triggered","occurred_at":"now","data":{"type":"incident","id":"P1","status":"triggered","title":"x"}}}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "event.occurred_at", Value: "now", Message: `invalid timestamp "now" (want RFC 3339, e.g. 2024-05-01T12:00:00Z)`}}},
		// A resolve without created_at has no start of its own.
		{"pagerduty resolve, bad created_at", "pagerduty", `{"event":{"id":"01","event_type":"incident.resolved","occurred_at":"2024-05-01T10:30:00Z","data":{"type":"incident","id":"P1","status":"resolved","title":"x","created_at":"today"}}}`, receivedAt, ptr(at(10, 30)),
			[]incidenthub.Warning{{Field: "starts_at", Path: "event.data.created_at", Value: "today", Message: `invalid timestamp "today" (want RFC 3339, e.g. 2024-05-01T12:00:00Z)`}}},
		{"gcp started_at out of range", "gcp-monitoring", `{"incident":{"incident_id":"0.a","state":"open","condition_name":"c","started_at":1000000000000000}}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "incident.started_at", Value: "1000000000000000", Message: `timestamp "1000000000000000" is out of range`}}},
		{"gcp bad started_at", "gcp-monitoring", `{"incident":{"incident_id":"0.a","state":"open","condition_name":"c","started_at":"soon"}}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "incident.started_at", Value: "soon", Message: `invalid timestamp "soon" (want epoch seconds, e.g. 1406662672)`}}},
		// A closed incident with an unreadable ended_at keeps its start.
		{"gcp bad ended_at", "gcp-monitoring", `{"incident":{"incident_id":"0.a","state":"closed","condition_name":"c","started_at":1714557600,"ended_at":{"seconds":1714559400}}}`, at(10, 0), nil,
			[]incidenthub.Warning{{Field: "ends_at", Path: "incident.ended_at", Value: `{"seconds":1714559400}`, Message: "expected epoch seconds, got object"}}},
		// The console's test notification: started_at 0 is no time, no warning.
		{"gcp started_at 0", "gcp-monitoring", `{"incident":{"incident_id":"0.a","state":"open","condition_name":"c","started_at":0}}`, receivedAt, nil, nil},
		{"gcp started_at \"0\"", "gcp-monitoring", `{"incident":{"incident_id":"0.a","state":"open","condition_name":"c","started_at":"0"}}`, receivedAt, nil, nil},
		{"azure bad firedDateTime", "azure-monitor", `{"data":{"essentials":{"alertRule":"cpu","monitorCondition":"Fired","firedDateTime":"3/22/2019 1:36:31 PM"}}}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "data.essentials.firedDateTime", Value: "3/22/2019 1:36:31 PM", Message: `invalid timestamp "3/22/2019 1:36:31 PM" (want RFC 3339, e.g. 2024-05-01T12:00:00Z)`}}},
		{"azure bad resolvedDateTime", "azure-monitor", `{"data":{"essentials":{"alertRule":"cpu","monitorCondition":"Resolved","firedDateTime":"2024-05-01T10:00:00Z","resolvedDateTime":1714557600}}}`, at(10, 0), nil,
			[]incidenthub.Warning{{Field: "ends_at", Path: "data.essentials.resolvedDateTime", Value: "1714557600", Message: "expected an RFC 3339 timestamp string, got number"}}},
		// Service Health: an unreadable impact start gives way to firedDateTime.
		{"azure bad impactStartTime", "azure-monitor", `{"data":{"essentials":{"alertRule":"svc","monitorCondition":"Fired","monitoringService":"ServiceHealth","signalType":"Activity Log","firedDateTime":"2024-05-01T10:00:00Z"},"alertContext":{"properties":{"trackingId":"T1","stage":"Active","impactStartTime":"earlier"}}}}`, at(10, 0), nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "data.alertContext.properties.impactStartTime", Value: "earlier", Message: `invalid timestamp "earlier" (want RFC 3339, epoch seconds or milliseconds, or a common date format)`}}},
		{"dynatrace bad startTime", "dynatrace", `{"State":"OPEN","PID":"1","ProblemTitle":"x","ProblemDetailsJSONv2":{"startTime":"soon"}}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "ProblemDetailsJSONv2.startTime", Value: "soon", Message: `invalid timestamp "soon" (want epoch milliseconds, e.g. 1406662672000)`}}},
		// {ProblemDetailsJSON}'s time stands in for an unreadable v2 one.
		{"dynatrace bad v2 startTime, good v1", "dynatrace", `{"State":"RESOLVED","PID":"1","ProblemTitle":"x","ProblemDetailsJSONv2":{"startTime":true,"endTime":"later"},"ProblemDetailsJSON":{"startTime":1714557600000,"endTime":1714559400000}}`, at(10, 0), ptr(at(10, 30)),
			[]incidenthub.Warning{
				{Field: "starts_at", Path: "ProblemDetailsJSONv2.startTime", Value: "true", Message: `invalid timestamp "true" (want epoch milliseconds, e.g. 1406662672000)`},
				{Field: "ends_at", Path: "ProblemDetailsJSONv2.endTime", Value: "later", Message: `invalid timestamp "later" (want epoch milliseconds, e.g. 1406662672000)`},
			}},
		// An open problem's endTime -1 is no time, no warning.
		{"dynatrace open endTime -1", "dynatrace", `{"State":"OPEN","PID":"1","ProblemTitle":"x","ProblemDetailsJSONv2":{"startTime":1714557600000,"endTime":-1}}`, at(10, 0), nil, nil},
		{"newrelic bad createdAt", "newrelic", `{"id":"0ea2df1c","state":"ACTIVATED","alertConditionNames":["c"],"createdAt":"yesterday"}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "createdAt", Value: "yesterday", Message: `invalid timestamp "yesterday" (want RFC 3339, epoch seconds or milliseconds, or a common date format)`}}},
		// A close with an unreadable updatedAt: no end; the close still maps.
		{"newrelic bad updatedAt", "newrelic", `{"id":"0ea2df1c","state":"CLOSED","alertConditionNames":["c"],"createdAt":1714557600000,"updatedAt":{"ms":1714559400000}}`, at(10, 0), nil,
			[]incidenthub.Warning{{Field: "ends_at", Path: "updatedAt", Value: `{"ms":1714559400000}`, Message: "expected a timestamp, got object"}}},
		// updatedAt stands in for an unreadable closedAt.
		{"newrelic bad closedAt", "newrelic", `{"id":"0ea2df1c","state":"CLOSED","alertConditionNames":["c"],"createdAt":1714557600000,"updatedAt":1714559400000,"closedAt":"at half past"}`, at(10, 0), ptr(at(10, 30)),
			[]incidenthub.Warning{{Field: "ends_at", Path: "closedAt", Value: "at half past", Message: `invalid timestamp "at half past" (want RFC 3339, epoch seconds or milliseconds, or a common date format)`}}},
		{"newrelic legacy bad timestamp", "newrelic", `{"incident_id":1,"current_state":"open","condition_name":"c","timestamp":"now"}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "timestamp", Value: "now", Message: `invalid timestamp "now" (want RFC 3339, epoch seconds or milliseconds, or a common date format)`}}},
		{"sentry bad date_started", "sentry", `{"action":"critical","data":{"metric_alert":{"id":"4","alert_rule":{"name":"r"},"date_started":"today"}}}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "data.metric_alert.date_started", Value: "today", Message: `invalid timestamp "today" (want RFC 3339, e.g. 2024-05-01T12:00:00Z)`}}},
		// date_detected stands in for an unreadable date_started.
		{"sentry bad date_started, good date_detected", "sentry", `{"action":"critical","data":{"metric_alert":{"id":"4","alert_rule":{"name":"r"},"date_started":1714557600,"date_detected":"2024-05-01T10:00:00Z"}}}`, at(10, 0), nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "data.metric_alert.date_started", Value: "1714557600", Message: "expected an RFC 3339 timestamp string, got number"}}},
		{"sentry bad date_closed", "sentry", `{"action":"resolved","data":{"metric_alert":{"id":"4","alert_rule":{"name":"r"},"date_started":"2024-05-01T10:00:00Z","date_closed":"later"}}}`, at(10, 0), nil,
			[]incidenthub.Warning{{Field: "ends_at", Path: "data.metric_alert.date_closed", Value: "later", Message: `invalid timestamp "later" (want RFC 3339, e.g. 2024-05-01T12:00:00Z)`}}},
		{"sentry bad event datetime", "sentry", `{"action":"triggered","data":{"event":{"event_id":"e1","issue_id":"9","title":"x","project":"p","datetime":"last night"}}}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "data.event.datetime", Value: "last night", Message: `invalid timestamp "last night" (want RFC 3339, epoch seconds or milliseconds, or a common date format)`}}},
		// An issue's unreadable lastSeen: the firing starts when received, a
		// resolve has no end (and keeps its firstSeen start).
		{"sentry bad lastSeen, firing", "sentry", `{"action":"created","data":{"issue":{"id":"9","title":"x","status":"unresolved","project":{"slug":"p"},"firstSeen":"2024-05-01T10:00:00Z","lastSeen":"soon"}}}`, receivedAt, nil,
			[]incidenthub.Warning{{Field: "starts_at", Path: "data.issue.lastSeen", Value: "soon", Message: `invalid timestamp "soon" (want RFC 3339, e.g. 2024-05-01T12:00:00Z)`}}},
		{"sentry bad lastSeen, resolved", "sentry", `{"action":"resolved","data":{"issue":{"id":"9","title":"x","status":"resolved","project":{"slug":"p"},"firstSeen":"2024-05-01T10:00:00Z","lastSeen":"soon"}}}`, at(10, 0), nil,
			[]incidenthub.Warning{{Field: "ends_at", Path: "data.issue.lastSeen", Value: "soon", Message: `invalid timestamp "soon" (want RFC 3339, e.g. 2024-05-01T12:00:00Z)`}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := mappings.Normalize(tc.kind, "src", []byte(tc.body), receivedAt)
			require.NoError(t, err)
			a := res.Alerts[len(res.Alerts)-1]
			require.Equal(t, tc.startsAt, a.StartsAt)
			require.Equal(t, tc.endsAt, a.EndsAt)
			require.Equal(t, tc.warnings, res.Warnings)
			checkWarnings(t, res)
		})
	}
}

// TestWarningsFromExpressionsAndRequired: an expression's result that is
// not a time is a warning at the item; a required time stays an error.
func TestWarningsFromExpressionsAndRequired(t *testing.T) {
	t.Parallel()
	m, err := mappings.ParseInbound("t.yaml", []byte(`
kind: checks
vars:
  ts: when
alert:
  alert_type: name
  status: {value: firing}
  starts_at: {expr: 'ts', format: epoch_s}
`))
	require.NoError(t, err)
	required, err := mappings.ParseInbound("r.yaml", []byte(`
kind: strict
alert:
  alert_type: name
  status: {value: firing}
  starts_at: {path: when, required: true}
`))
	require.NoError(t, err)
	set, err := mappings.NewSet(m, required)
	require.NoError(t, err)

	res, err := set.Normalize("checks", "c", []byte(`{"name":"disk","when":"noon"}`), receivedAt)
	require.NoError(t, err)
	require.Equal(t, receivedAt, res.Alerts[0].StartsAt)
	require.Equal(t, []incidenthub.Warning{{Field: "starts_at", Path: "$", Value: "noon",
		Message: `expression result: invalid timestamp "noon" (want epoch seconds, e.g. 1406662672)`}}, res.Warnings)

	_, err = set.Normalize("strict", "s", []byte(`{"name":"disk","when":"noon"}`), receivedAt)
	require.Error(t, err)
	require.Equal(t, `when: invalid timestamp "noon" (want RFC 3339, e.g. 2024-05-01T12:00:00Z)`, incidenthub.ErrorMessage(err))
	require.Equal(t, incidenthub.EUNPROCESSABLE, incidenthub.ErrorCode(err))
}

// TestWhen: a value spec with when applies only where its condition holds;
// elsewhere the value is blank, so default and the hub's fallbacks apply.
func TestWhen(t *testing.T) {
	t.Parallel()
	m, err := mappings.ParseInbound("w.yaml", []byte(`
kind: checks
vars:
  state: state
alert:
  alert_type: name
  status: {path: state, enum: {ok: resolved, crit: firing}}
  starts_at: {path: at, format: epoch_s, when: 'state != "ok"'}
  ends_at: {path: at, format: epoch_s}
  url: {path: link, when: 'state == "crit"', default: "https://checks.example.org"}
`))
	require.NoError(t, err)
	set, err := mappings.NewSet(m)
	require.NoError(t, err)

	res, err := set.Normalize("checks", "c", []byte(`{"name":"disk","state":"crit","at":1714557600,"link":"https://x.example.org/1"}`), receivedAt)
	require.NoError(t, err)
	a := res.Alerts[0]
	require.Equal(t, at(10, 0), a.StartsAt)
	require.Empty(t, a.StartsAtFrom)
	require.Equal(t, "https://x.example.org/1", a.URL)

	res, err = set.Normalize("checks", "c", []byte(`{"name":"disk","state":"ok","at":1714557600,"link":"https://x.example.org/1"}`), receivedAt)
	require.NoError(t, err)
	a = res.Alerts[0]
	require.Equal(t, receivedAt, a.StartsAt, "not applicable: the receive time stands in")
	require.Equal(t, incidenthub.StartsAtReceived, a.StartsAtFrom)
	require.Equal(t, at(10, 0), *a.EndsAt)
	require.Equal(t, "https://checks.example.org", a.URL, "not applicable: the default applies")
	require.Empty(t, res.Warnings)
}

// at is 2024-05-01 at h:m UTC.
func at(h, m int) time.Time { return time.Date(2024, 5, 1, h, m, 0, 0, time.UTC) }

func ptr[T any](v T) *T { return &v }

// amBody is an Alertmanager payload with one firing alert per label set.
func amBody(labelSets ...string) string {
	alerts := make([]string, len(labelSets))
	for i, l := range labelSets {
		alerts[i] = `{"status":"firing","labels":` + l + `,"startsAt":"2024-05-01T10:00:00Z"}`
	}
	return `{"version":"4","status":"firing","alerts":[` + strings.Join(alerts, ",") + `]}`
}

// TestAlertmanagerSeverity pins the severity word table, through the
// labels.severity of an Alertmanager alert.
func TestAlertmanagerSeverity(t *testing.T) {
	t.Parallel()
	cases := map[string]incidenthub.Severity{
		"critical": incidenthub.SeverityCritical, "CRITICAL": incidenthub.SeverityCritical,
		"page": incidenthub.SeverityCritical, "P1": incidenthub.SeverityCritical,
		"error": incidenthub.SeverityHigh, "High": incidenthub.SeverityHigh,
		"major": incidenthub.SeverityHigh, "p2": incidenthub.SeverityHigh,
		"warning": incidenthub.SeverityWarning, "warn": incidenthub.SeverityWarning,
		"p3":   incidenthub.SeverityWarning,
		"info": incidenthub.SeverityInfo, "low": incidenthub.SeverityInfo,
		"none": incidenthub.SeverityInfo, "p4": incidenthub.SeverityInfo, "P5": incidenthub.SeverityInfo,
		// Alertmanager labels are free-form: an unknown word or none at all
		// is the default rather than a lost alert.
		"disaster": incidenthub.SeverityWarning, "": incidenthub.SeverityWarning,
	}
	for word, want := range cases {
		labels := `{"alertname":"A","severity":"` + word + `"}`
		res, err := mappings.Normalize("alertmanager", "am", []byte(amBody(labels)), receivedAt)
		alerts := res.Alerts
		require.NoError(t, err, word)
		require.Equal(t, want, alerts[0].Severity, "severity %q", word)
	}
}

// TestEndsAtOnlyWhenResolved: a firing alert never carries an end time,
// even if the sender puts a future one in; a resolved alert with the zero
// time has none either.
func TestEndsAtOnlyWhenResolved(t *testing.T) {
	t.Parallel()
	body := `{"alerts":[
		{"status":"firing","labels":{"alertname":"A"},"startsAt":"2024-05-01T10:00:00Z","endsAt":"2024-05-01T10:04:00Z"},
		{"status":"resolved","labels":{"alertname":"B"},"startsAt":"2024-05-01T10:00:00Z","endsAt":"0001-01-01T00:00:00Z"},
		{"status":"resolved","labels":{"alertname":"C"},"startsAt":"2024-05-01T10:00:00Z","endsAt":"2024-05-01T12:30:00+02:00"}]}`
	res, err := mappings.Normalize("alertmanager", "am", []byte(body), receivedAt)
	alerts := res.Alerts
	require.NoError(t, err)
	require.Len(t, alerts, 3)
	require.Nil(t, alerts[0].EndsAt)
	require.Nil(t, alerts[1].EndsAt)
	require.NotNil(t, alerts[2].EndsAt)
	require.Equal(t, time.Date(2024, 5, 1, 10, 30, 0, 0, time.UTC), *alerts[2].EndsAt)
	require.Equal(t, time.UTC, alerts[2].EndsAt.Location())
}

// TestStatusFallsBackToPayload: an entry without its own status takes the
// payload's.
func TestStatusFallsBackToPayload(t *testing.T) {
	t.Parallel()
	body := `{"status":"resolved","alerts":[{"labels":{"alertname":"A"}}]}`
	res, err := mappings.Normalize("grafana", "g", []byte(body), receivedAt)
	alerts := res.Alerts
	require.NoError(t, err)
	require.Equal(t, incidenthub.AlertResolved, alerts[0].Status)
	require.Equal(t, receivedAt, alerts[0].StartsAt, "no startsAt falls back to the receive time")
}

// TestGenericFingerprintFallback: without a fingerprint, the generic kind
// hashes source, service, alert_type and host, so the same condition from
// the same source correlates and a different host does not.
func TestGenericFingerprintFallback(t *testing.T) {
	t.Parallel()
	fp := func(source, body string) string {
		t.Helper()
		res, err := mappings.Normalize("generic", source, []byte(body), receivedAt)
		alerts := res.Alerts
		require.NoError(t, err)
		return alerts[0].Fingerprint
	}
	a := fp("cron", `{"status":"firing","alert_type":"disk_full","service":"pg","host":"db-1","title":"one"}`)
	require.Len(t, a, 64)
	require.Equal(t, a, fp("cron", `{"status":"resolved","alert_type":"disk_full","service":"pg","host":"db-1","title":"two"}`))
	require.NotEqual(t, a, fp("cron", `{"status":"firing","alert_type":"disk_full","service":"pg","host":"db-2"}`))
	require.NotEqual(t, a, fp("other", `{"status":"firing","alert_type":"disk_full","service":"pg","host":"db-1"}`))
	require.Equal(t, "mine", fp("cron", `{"status":"firing","alert_type":"disk_full","fingerprint":"mine"}`))
}

// TestDatadogTransitions pins which $ALERT_TRANSITION values fire and
// which resolve; any other value is an error naming it.
func TestDatadogTransitions(t *testing.T) {
	t.Parallel()
	cases := map[string]incidenthub.AlertStatus{
		"Triggered": incidenthub.AlertFiring, "Re-Triggered": incidenthub.AlertFiring,
		"Warn": incidenthub.AlertFiring, "Re-Warn": incidenthub.AlertFiring,
		"No Data": incidenthub.AlertFiring, "Re-No Data": incidenthub.AlertFiring,
		"Renotify": incidenthub.AlertFiring, "triggered": incidenthub.AlertFiring,
		"Recovered": incidenthub.AlertResolved, " recovered ": incidenthub.AlertResolved,
	}
	for transition, want := range cases {
		body := `{"id":"1","alert_id":"12345","alert_transition":"` + transition + `","date":"1714557600000"}`
		res, err := mappings.Normalize("datadog", "dd", []byte(body), receivedAt)
		alerts := res.Alerts
		require.NoError(t, err, transition)
		require.Len(t, alerts, 1)
		require.Equal(t, want, alerts[0].Status, "transition %q", transition)
		if want == incidenthub.AlertResolved {
			// The notification's time is the recovery: the end, not the
			// start, which correlation keeps from the firing.
			require.NotNil(t, alerts[0].EndsAt)
			require.Equal(t, time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), *alerts[0].EndsAt)
			require.Equal(t, receivedAt, alerts[0].StartsAt)
			require.Equal(t, incidenthub.StartsAtReceived, alerts[0].StartsAtFrom)
		} else {
			require.Nil(t, alerts[0].EndsAt)
			require.Equal(t, time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), alerts[0].StartsAt)
			require.Empty(t, alerts[0].StartsAtFrom)
		}
	}
}

// BenchmarkNormalizeAlertmanager maps a three-alert Alertmanager payload:
//
//	go test ./mappings -run x -bench NormalizeAlertmanager -benchmem
func BenchmarkNormalizeAlertmanager(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("testdata", "alertmanager", "multi.json"))
	require.NoError(b, err)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := mappings.Normalize("alertmanager", "am", body, receivedAt)
		alerts := res.Alerts
		if err != nil || len(alerts) != 3 {
			b.Fatalf("%d alerts, %v", len(alerts), err)
		}
	}
}

// TestKindsDocumented: every built-in kind says which auth type its vendor
// uses and has its section in docs/sources.md, which `incidenthub sources
// list` points at.
func TestKindsDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "sources.md"))
	require.NoError(t, err)
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			anchors["docs/sources.md#"+anchor(h)] = true
		}
	}
	for _, kind := range mappings.Kinds() {
		m, ok := mappings.Builtin().Inbound(kind)
		require.True(t, ok)
		require.NotEmpty(t, m.Description, "kind %s: description", kind)
		require.Contains(t, mappings.AuthTypes, m.Auth, "kind %s: auth: (the auth type its vendor uses)", kind)
		require.True(t, anchors[m.Docs], "kind %s: docs %q is no section of docs/sources.md", kind, m.Docs)
	}
}

// anchor is the fragment GitHub gives a markdown heading.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

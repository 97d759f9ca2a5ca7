package mappings_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/mappings"
)

// TestCatalogBErrors pins what a payload the catalog-B kinds cannot map is
// told: the JSON path at fault and, where the sender's setup is the likely
// cause, what to set.
func TestCatalogBErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, kind, body, message string }{
		{"zabbix no event_value", "zabbix", `{"event_id":"1","trigger_name_orig":"x"}`,
			`event_value: required field "event_value" is missing (set the media type parameter event_value to {EVENT.VALUE})`},
		{"zabbix bad event_value", "zabbix", `{"event_id":"1","event_value":"2","trigger_name_orig":"x"}`,
			`event_value: unknown Zabbix event value "2" (want 1 for a problem, 0 for a recovery)`},
		{"zabbix no event_id", "zabbix", `{"event_value":"1","trigger_name_orig":"x"}`,
			`event_id: required field "fingerprint" is missing (set the media type parameter event_id to {EVENT.ID})`},
		{"zabbix no trigger name", "zabbix", `{"event_id":"1","event_value":"1"}`,
			`trigger_name_orig: required field "alert_type" is missing (set the media type parameter trigger_name_orig to {TRIGGER.NAME.ORIG}; see docs/sources.md#zabbix)`},
		{"zabbix bad severity", "zabbix", `{"event_id":"1","event_value":"1","trigger_name_orig":"x","event_nseverity":"9"}`,
			`$: unknown Zabbix severity "9" in event_nseverity (want 0 to 5)`},
		{"zabbix tags not parsed", "zabbix", `{"event_id":"1","event_value":"1","trigger_name_orig":"x","event_tags":"[]"}`,
			`event_tags: expected an array, got string`},
		// A bad time is a warning, not an error: TestNormalizeWarnings.

		{"opsgenie no action", "opsgenie", `{"alert":{"alertId":"a","message":"m"}}`,
			`action: required field "action" is missing`},
		{"opsgenie escalate", "opsgenie", `{"escalationId":"51859f57-7fad-467b-ad79-59acbc69cb6a","integrationName":"Incident Hub","escalationNotify":{"name":"oncall@example.org","id":"64818849-71d6-40ce-87c6-ed5e588702fd","type":"default","entity":"user"},"integrationId":"868be72a-8015-432e-8b23-c1f7f4374baa","escalationName":"payments_escalation","alert":{"alertId":"7ba97e3a-d328-4b5e-8f9a-39e945a3869a"},"escalationTime":0,"action":"Escalate","repeatCount":0}`,
			`alert.message: required field "message" is missing (Opsgenie's Escalate action sends only alert.alertId; post Create and Close actions)`},
		{"opsgenie no alertId", "opsgenie", `{"action":"Create","alert":{"message":"m"}}`,
			`alert.alertId: required field "fingerprint" is missing`},
		{"opsgenie tags not a list", "opsgenie", `{"action":"Create","alert":{"alertId":"a","message":"m","tags":"x"}}`,
			`alert.tags: expected an array, got string`},
		{"opsgenie alert not an object", "opsgenie", `{"action":"Create","alert":"a"}`,
			`alert: expected an object, got string`},

		{"uptime-kuma test notification", "uptime-kuma", `{"heartbeat":null,"monitor":null,"msg":"Uptime Kuma Testing"}`,
			`monitor.type: required field "monitor_type" is missing`},
		{"uptime-kuma no heartbeat", "uptime-kuma", `{"monitor":{"id":1,"name":"x","type":"http"},"msg":"Testing"}`,
			`heartbeat.status: required field "status" is missing (a test notification from Uptime Kuma carries no heartbeat)`},
		{"uptime-kuma bad status", "uptime-kuma", `{"heartbeat":{"status":5,"time":"2024-05-01 10:00:00.000"},"monitor":{"id":1,"name":"x","type":"http"}}`,
			`heartbeat.status: unknown heartbeat status "5" (want 0 DOWN, 1 UP, 2 PENDING or 3 MAINTENANCE)`},
		{"uptime-kuma no monitor id", "uptime-kuma", `{"heartbeat":{"status":0,"time":"2024-05-01 10:00:00.000"},"monitor":{"name":"x","type":"http"}}`,
			`monitor.id: required field "fingerprint" is missing`},
		{"uptime-kuma tags not a list", "uptime-kuma", `{"heartbeat":{"status":0},"monitor":{"id":1,"name":"x","type":"http","tags":{"a":1}}}`,
			`monitor.tags: expected an array, got object`},

		{"pingdom no state", "pingdom", `{"check_id":1,"check_type":"HTTP"}`,
			`current_state: required field "status" is missing`},
		{"pingdom unknown state", "pingdom", `{"check_id":1,"check_type":"HTTP","current_state":"UNCONFIRMED_DOWN"}`,
			`current_state: unknown check state "UNCONFIRMED_DOWN" (want DOWN, UP, FAILING or SUCCESS)`},
		{"pingdom no check id", "pingdom", `{"check_type":"HTTP","current_state":"DOWN"}`,
			`check_id: required field "fingerprint" is missing`},
		{"pingdom no check type", "pingdom", `{"check_id":1,"current_state":"DOWN"}`,
			`check_type: required field "check_type" is missing`},
		{"pingdom tags not a list", "pingdom", `{"check_id":1,"check_type":"HTTP","current_state":"DOWN","tags":"a,b"}`,
			`tags: expected an array, got string`},

		{"honeycomb no status", "honeycomb", `{"id":"a","name":"n"}`,
			`status: required field "status" is missing`},
		{"honeycomb unknown status", "honeycomb", `{"id":"a","name":"n","status":"PENDING"}`,
			`status: unknown trigger status "PENDING" (want TRIGGERED or OK)`},
		{"honeycomb no id", "honeycomb", `{"name":"n","status":"OK"}`,
			`id: required field "fingerprint" is missing`},
		{"honeycomb no name", "honeycomb", `{"id":"a","status":"OK"}`,
			`name: required field "alert_type" is missing`},
		{"honeycomb groups not a list", "honeycomb", `{"id":"a","name":"n","status":"OK","result_groups":{"a":1}}`,
			`result_groups: expected an array, got object`},

		{"dynatrace default payload", "dynatrace", `{"ProblemTitle":"x","ImpactedEntity":"y"}`,
			`State: required field "status" is missing (is the hub's Dynatrace payload configured? see docs/sources.md#dynatrace)`},
		{"dynatrace placeholder left", "dynatrace", `{"PID":"1","ProblemTitle":"x","State":"{State}"}`,
			`State: unknown problem state "{State}" (want OPEN, RESOLVED, MERGED or CLOSED)`},
		{"dynatrace no PID", "dynatrace", `{"State":"OPEN","ProblemTitle":"x"}`,
			`PID: required field "fingerprint" is missing`},
		{"dynatrace no title", "dynatrace", `{"State":"OPEN","PID":"1"}`,
			`ProblemTitle: required field "alert_type" is missing (is the hub's Dynatrace payload configured? see docs/sources.md#dynatrace)`},
		{"dynatrace entities quoted", "dynatrace", `{"State":"OPEN","PID":"1","ProblemTitle":"x","ImpactedEntities":"HOST"}`,
			`ImpactedEntities: expected an array, got string`},
		// A bad start is a warning, not an error: TestNormalizeWarnings.

		{"elastic no template", "elastic", `{"message":"Document count is 37"}`,
			`rule_id: required field "rule_id" is missing (is the hub's Kibana body template configured? see docs/sources.md#elastic)`},
		{"elastic no alert id", "elastic", `{"rule_id":"r","rule_name":"n","action_group":"x"}`,
			`alert_id: required field "alert_id" is missing`},
		{"elastic no rule name", "elastic", `{"rule_id":"r","alert_id":"a","action_group":"x"}`,
			`rule_name: required field "rule_name" is missing`},
		{"elastic no action group", "elastic", `{"rule_id":"r","alert_id":"a","rule_name":"n"}`,
			`action_group: required field "status" is missing`},
		{"elastic tags unquoted", "elastic", `{"rule_id":"r","alert_id":"a","rule_name":"n","action_group":"x","rule_tags":["a"]}`,
			`rule_tags: expected a string, got array`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			alerts, err := normalizeAlerts(tc.kind, "src", []byte(tc.body), receivedAt)
			require.Nil(t, alerts)
			var e *incidenthub.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, incidenthub.EUNPROCESSABLE, e.Code)
			require.Equal(t, tc.message, e.Message)
		})
	}
}

// TestCatalogBDedupKeysDistinct: every golden input of a catalog-B kind is
// a different delivery (a problem, its updates, its recovery), so no two
// share a dedup key; a kind whose payloads carry no identity (honeycomb,
// whose delivery id is a header) has none at all.
func TestCatalogBDedupKeysDistinct(t *testing.T) {
	t.Parallel()
	for _, k := range catalogB {
		seen := map[string]string{}
		for _, in := range inputs(t, k.kind) {
			body, err := os.ReadFile(in)
			require.NoError(t, err)
			key := mappings.DedupKey(k.kind, body)
			if !k.dedup {
				require.Empty(t, key, in)
				continue
			}
			require.NotEmpty(t, key, in)
			require.NotContains(t, seen, key, "%s has the dedup key of %s", in, seen[key])
			seen[key] = in
		}
	}
}

// catalogB are the kinds this file and catalog_b_test.go check: whether
// each sends its own times (a kind that does not gets the receive time as
// starts_at and no ends_at) and a dedup key in its payload.
var catalogB = []struct {
	kind         string
	times, dedup bool
}{
	{"zabbix", true, true},
	{"opsgenie", true, true},
	{"uptime-kuma", true, true},
	{"pingdom", true, true},
	{"honeycomb", false, false},
	{"dynatrace", true, true},
	{"elastic", true, true},
}

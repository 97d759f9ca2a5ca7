package mappings_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/mappings"
)

const snsKind = "amazon-sns-cloudwatch"

// snsBody wraps a CloudWatch alarm (as Go values) in an SNS notification.
func snsBody(t *testing.T, alarm map[string]any) []byte {
	t.Helper()
	msg, err := json.Marshal(alarm)
	require.NoError(t, err)
	body, err := json.Marshal(map[string]any{"Type": "Notification", "MessageId": "m-1", "Message": string(msg)})
	require.NoError(t, err)
	return body
}

// cpuAlarm is a single-metric EC2 alarm in the given state.
func cpuAlarm(name, description, state string) map[string]any {
	a := map[string]any{
		"AlarmName": name, "NewStateValue": state, "StateChangeTime": "2024-05-01T10:00:12.345+0000",
		"AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + name,
		"Trigger": map[string]any{"MetricName": "CPUUtilization", "Namespace": "AWS/EC2",
			"Dimensions": []any{map[string]any{"name": "InstanceId", "value": "i-1"}}},
	}
	if description != "" {
		a["AlarmDescription"] = description
	}
	return a
}

func TestSNSCloudWatchErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ body, message string }{
		// Confirmations are handled before mapping (internal/sns); were one
		// mapped, it would say why it does not map.
		{`{"Type":"SubscriptionConfirmation","Message":"You have chosen to subscribe to the topic"}`,
			"Message: value is not valid JSON: invalid character 'Y' looking for beginning of value"},
		{`{"Type":"Notification"}`, "Message: required alert document is missing"},
		{`{"Message":"{\"NewStateValue\":\"ALARM\"}"}`,
			`Message.AlarmName: required field "name" is missing (is this an SNS topic that CloudWatch alarms notify? see docs/sources.md#amazon-sns-cloudwatch)`},
		{`{"Message":"[1]"}`, "Message: expected an object, got array"},
		{`{"Message":"{\"AlarmName\":\"a\",\"NewStateValue\":\"PENDING\"}"}`,
			`Message.NewStateValue: unknown alarm state "PENDING" (want ALARM, OK or INSUFFICIENT_DATA)`},
	}
	for _, tc := range cases {
		_, err := normalizeAlerts(snsKind, "aws", []byte(tc.body), receivedAt)
		var e *incidenthub.Error
		require.ErrorAs(t, err, &e, tc.body)
		require.Equal(t, incidenthub.EUNPROCESSABLE, e.Code)
		require.Equal(t, tc.message, e.Message)
	}
}

// TestSNSCloudWatchDedupAndTimes: the SNS MessageId identifies a delivery;
// CloudWatch's "+0000" times are read; a resolve carries its time as
// ends_at only.
func TestSNSCloudWatchDedupAndTimes(t *testing.T) {
	t.Parallel()
	read := func(name string) []byte {
		body, err := os.ReadFile(filepath.Join("testdata", snsKind, name+".json"))
		require.NoError(t, err)
		return body
	}
	alarm := read("alarm")
	require.Equal(t, "5c2f9d3e-1a7b-5e4c-9f0d-3b2a1c0d9e8f", mappings.DedupKey(snsKind, alarm))
	firing, err := normalizeAlerts(snsKind, "aws", alarm, receivedAt)
	require.NoError(t, err)
	require.Equal(t, time.Date(2024, 5, 1, 10, 0, 12, 345e6, time.UTC), firing[0].StartsAt)
	require.Nil(t, firing[0].EndsAt)

	ok := read("ok")
	require.Equal(t, "7d1e0c4b-2f8a-5b3d-8e9c-4a3b2c1d0e9f", mappings.DedupKey(snsKind, ok))
	resolved, err := normalizeAlerts(snsKind, "aws", ok, receivedAt)
	require.NoError(t, err)
	require.Equal(t, incidenthub.AlertResolved, resolved[0].Status)
	require.Equal(t, time.Date(2024, 5, 1, 10, 30, 12, 678e6, time.UTC), *resolved[0].EndsAt)
	require.Equal(t, receivedAt, resolved[0].StartsAt, "no start time of its own")
	require.Equal(t, firing[0].Fingerprint, resolved[0].Fingerprint, "the OK resolves what the ALARM opened")

	insufficient, err := normalizeAlerts(snsKind, "aws", read("insufficient-data"), receivedAt)
	require.NoError(t, err)
	require.Equal(t, firing[0].Fingerprint, insufficient[0].Fingerprint)
}

// TestSNSCloudWatchDescriptionKeys pins how service= and severity= are
// read from AlarmDescription, and the fallbacks.
func TestSNSCloudWatchDescriptionKeys(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, description, state string
		service                  string
		severity                 incidenthub.Severity
	}{
		{"checkout-cpu-i-1", "", "ALARM", "checkout", incidenthub.SeverityWarning},
		{"checkout-cpu-i-1", "", "INSUFFICIENT_DATA", "checkout", incidenthub.SeverityInfo},
		{"checkout-cpu-i-1", "", "OK", "checkout", incidenthub.SeverityWarning},
		{"checkout-cpu-i-1", "service=payments", "ALARM", "payments", incidenthub.SeverityWarning},
		{"checkout-cpu-i-1", "CPU high (service=payments, severity=P1)", "ALARM", "payments", incidenthub.SeverityCritical},
		{"checkout-cpu-i-1", "CPU high;Service=payments-api;SEVERITY=High", "ALARM", "payments-api", incidenthub.SeverityHigh},
		{"checkout-cpu-i-1", "CPU high\nservice=team/payments.v2\nseverity=info", "ALARM", "team/payments.v2", incidenthub.SeverityInfo},
		{"checkout-cpu-i-1", "severity=critical", "INSUFFICIENT_DATA", "checkout", incidenthub.SeverityCritical},
		{"checkout-cpu-i-1", "service=a service=b", "ALARM", "a", incidenthub.SeverityWarning},
		// Not keys: part of another word, or without a value.
		{"checkout-cpu-i-1", "myservice=x noseverity=critical", "ALARM", "checkout", incidenthub.SeverityWarning},
		{"checkout-cpu-i-1", "service= severity=", "ALARM", "checkout", incidenthub.SeverityWarning},
		// An unknown severity word is no severity, not an unmapped event.
		{"checkout-cpu-i-1", "severity=sev1", "ALARM", "checkout", incidenthub.SeverityWarning},
		{"HighCPU", "", "ALARM", "AWS/EC2", incidenthub.SeverityWarning},
		{"-cpu", "", "ALARM", "AWS/EC2", incidenthub.SeverityWarning},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s %q %s", tc.name, tc.description, tc.state), func(t *testing.T) {
			alerts, err := normalizeAlerts(snsKind, "aws", snsBody(t, cpuAlarm(tc.name, tc.description, tc.state)), receivedAt)
			require.NoError(t, err)
			require.Equal(t, tc.service, alerts[0].Service)
			require.Equal(t, tc.severity, alerts[0].Severity)
			require.Equal(t, "CPUUtilization", alerts[0].AlertType)
			require.Equal(t, "i-1", alerts[0].Host)
		})
	}
}

// TestSNSCloudWatchHost: the host is the first of the common resource
// dimensions present, else the first dimension.
func TestSNSCloudWatchHost(t *testing.T) {
	t.Parallel()
	dim := func(kv ...string) []any {
		var out []any
		for i := 0; i < len(kv); i += 2 {
			out = append(out, map[string]any{"name": kv[i], "value": kv[i+1]})
		}
		return out
	}
	cases := []struct {
		dims []any
		host string
	}{
		{dim("InstanceId", "i-1"), "i-1"},
		{dim("AutoScalingGroupName", "web-asg", "InstanceId", "i-2"), "i-2"},
		{dim("Role", "WRITER", "DBClusterIdentifier", "orders"), "orders"},
		{dim("TargetGroup", "targetgroup/web/1", "LoadBalancer", "app/web/2"), "app/web/2"},
		{dim("QueueName", "jobs"), "jobs"},
		{dim("Shard", "7", "Env", "prod"), "7"},
		{nil, ""},
	}
	for _, tc := range cases {
		a := cpuAlarm("checkout-x", "", "ALARM")
		a["Trigger"].(map[string]any)["Dimensions"] = tc.dims
		alerts, err := normalizeAlerts(snsKind, "aws", snsBody(t, a), receivedAt)
		require.NoError(t, err)
		require.Equal(t, tc.host, alerts[0].Host, "%v", tc.dims)
	}
}

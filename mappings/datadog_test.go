package mappings_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/mappings"
)

// datadog maps a Datadog payload built from fields and returns its alert.
func datadog(t *testing.T, fields map[string]any) incidenthub.Alert {
	t.Helper()
	body := map[string]any{"id": "1", "alert_id": "12345", "alert_transition": "Triggered", "date": "1714557600000"}
	for k, v := range fields {
		body[k] = v
	}
	b, err := json.Marshal(body)
	require.NoError(t, err)
	res, err := mappings.Normalize("datadog", "dd", b, receivedAt)
	alerts := res.Alerts
	require.NoError(t, err)
	require.Len(t, alerts, 1)
	return alerts[0]
}

// TestDatadogTitle pins which bracketed prefixes of a monitor's title are
// removed: priorities and transitions, alone or "on {scope}".
func TestDatadogTitle(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"[Triggered on {host:ip-012345}] Host is Down":          "Host is Down",
		"[P1] [Triggered on {host:abcdefgh}] STOP":              "STOP",
		"[Triggered] High tracking":                             "High tracking",
		"[Re-Triggered on {env:prod,host:a}] CPU high":          "CPU high",
		"[Recovered on {host:a}] CPU high":                      "CPU high",
		"[Warn on {service:checkout, env:staging}] p99 latency": "p99 latency",
		"[Re-Warn] p99 latency":                                 "p99 latency",
		"[No Data] Queue depth":                                 "Queue depth",
		"[Re-No Data on {queue:x}] Queue depth":                 "Queue depth",
		"[P3] Disk":                                             "Disk",
		"  [Triggered on {path:/a]b}] Odd scope ":               "Odd scope",
		"[ triggered ] lower case":                              "lower case",
		// Brackets that are part of the monitor's name stay.
		"[prod] Host is Down":             "[prod] Host is Down",
		"[Triggered] [prod] Host is Down": "[prod] Host is Down",
		"[Triggeredness] x":               "[Triggeredness] x",
		"Host is Down":                    "Host is Down",
		"[Triggered on {host:a}":          "[Triggered on {host:a}",
		// Nothing left: the title falls back to the monitor id.
		"[Triggered on {host:a}]": "12345",
		"":                        "12345",
	}
	for in, want := range cases {
		require.Equal(t, want, datadog(t, map[string]any{"alert_title": in}).Title, "title %q", in)
	}
	// Without alert_title, the event title is stripped the same way.
	require.Equal(t, "Disk", datadog(t, map[string]any{"title": "[P2] [Warn] Disk"}).Title)
}

func TestDatadogTags(t *testing.T) {
	t.Parallel()
	a := datadog(t, map[string]any{
		"tags":        " env:prod, service:checkout,monitor,,team:a,team:b,url:https://x.example.org/a ",
		"alert_scope": "host:web-1, env:staging,service:other",
	})
	require.Equal(t, "prod", a.Environment, "a tag wins over the scope")
	require.Equal(t, "checkout", a.Service)
	require.Equal(t, "web-1", a.Host, "no hostname: the scope's host")
	require.Equal(t, map[string]string{
		"env": "prod", "service": "checkout", "monitor": "", "team": "a,b", "url": "https://x.example.org/a",
	}, a.Labels)
	require.Equal(t, "12345:host:web-1,env:staging,service:other", a.Fingerprint)

	b := datadog(t, map[string]any{"alert_scope": " host : web-2 ,, monitor: ", "tags": "host:tagged"})
	require.Equal(t, "12345:host:web-2,monitor", b.Fingerprint, "scope entries trimmed, empty ones dropped")
	require.Equal(t, "web-2", b.Host)
	require.Equal(t, "12345", datadog(t, map[string]any{"alert_scope": " , "}).Fingerprint)
	require.Equal(t, "tagged", datadog(t, map[string]any{"tags": "host:tagged"}).Host, "last: the host tag")
}

func TestDatadogSeverity(t *testing.T) {
	t.Parallel()
	cases := []struct {
		priority, transition, alertType string
		want                            incidenthub.Severity
	}{
		{"P1", "Triggered", "error", incidenthub.SeverityCritical},
		{"p2", "Triggered", "error", incidenthub.SeverityHigh},
		{"P3", "Triggered", "error", incidenthub.SeverityWarning},
		{"P4", "Triggered", "error", incidenthub.SeverityInfo},
		{"P5", "Recovered", "success", incidenthub.SeverityInfo},
		{"", "Warn", "warning", incidenthub.SeverityWarning},
		{"", "Re-Warn", "error", incidenthub.SeverityWarning},
		{"", "Triggered", "error", incidenthub.SeverityHigh},
		{"", "No Data", "error", incidenthub.SeverityHigh},
		{"", "Recovered", "success", incidenthub.SeverityWarning},
		{"P9", "Triggered", "info", incidenthub.SeverityWarning},
	}
	for _, tc := range cases {
		a := datadog(t, map[string]any{"alert_priority": tc.priority, "alert_transition": tc.transition, "alert_type": tc.alertType})
		require.Equal(t, tc.want, a.Severity, "%+v", tc)
	}
}

func TestDatadogDescriptionAndAnnotations(t *testing.T) {
	t.Parallel()
	a := datadog(t, map[string]any{"body": "%%%\nDisk is **full**\n%%%", "org": map[string]any{"id": 42, "name": "acme"}, "snapshot": " "})
	require.Equal(t, "Disk is **full**", a.Description)
	require.Equal(t, map[string]string{"alert_transition": "Triggered", "org_id": "42", "org_name": "acme"}, a.Annotations,
		"only the non-empty ones")
	require.Equal(t, "plain", datadog(t, map[string]any{"body": "x", "text_only_msg": "plain"}).Description)
}

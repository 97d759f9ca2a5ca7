package mappings

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
)

func TestStripDatadogTitle(t *testing.T) {
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
		// Brackets that are part of the monitor's name stay.
		"[prod] Host is Down":             "[prod] Host is Down",
		"[Triggered] [prod] Host is Down": "[prod] Host is Down",
		"[Triggeredness] x":               "[Triggeredness] x",
		"Host is Down":                    "Host is Down",
		"[Triggered on {host:a}":          "[Triggered on {host:a}",
		"[Triggered on {host:a}]":         "",
		"":                                "",
	}
	for in, want := range cases {
		require.Equal(t, want, stripDatadogTitle(in), "title %q", in)
	}
}

func TestDatadogTags(t *testing.T) {
	t.Parallel()
	l := splitTags(" env:prod, service:checkout,monitor,,team:a,team:b,url:https://x.example.org/a ")
	require.Equal(t, "prod", l.value("env"))
	require.Equal(t, "checkout", l.value("service"))
	require.Equal(t, "a", l.value("team"))
	require.Equal(t, "", l.value("host"))
	require.Equal(t, map[string]string{
		"env": "prod", "service": "checkout", "monitor": "", "team": "a,b", "url": "https://x.example.org/a",
	}, l.labels())
	require.Equal(t, "host:web-1,env:prod", joinTags(splitTags("host:web-1, env:prod")))
	require.Equal(t, "", joinTags(splitTags("")))
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
		require.Equal(t, tc.want, datadogSeverity(tc.priority, tc.transition, tc.alertType), "%+v", tc)
	}
}

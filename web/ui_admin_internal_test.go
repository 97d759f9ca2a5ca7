package web

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/rules"
)

// TestPlaygroundWarnings: normalization warnings in the dry run's JSON
// (the engine adds them where a field was worked around) are shown above
// the alerts.
func TestPlaygroundWarnings(t *testing.T) {
	tmpl, err := loadUITemplates()
	require.NoError(t, err)
	rep := &rules.TestReport{Source: "gen", Kind: "generic", Version: "v1", At: time.Now(), Alerts: []rules.AlertReport{}}
	out := &playReport{TestReport: rep, Warnings: []playWarning{{Field: "starts_at", Path: "alerts[0].starts_at", Value: "yesterday", Message: "not a time"}}}
	var buf bytes.Buffer
	require.NoError(t, tmpl.screens["playground"].ExecuteTemplate(&buf, "layout", &playgroundView{uiPage: uiPage{Title: "t"}, Report: out}))
	require.Contains(t, buf.String(), "Normalization warnings")
	require.Contains(t, buf.String(), "<code>starts_at</code>: not a time (at <code>alerts[0].starts_at</code>, sent <code>yesterday</code>)")

}

func TestShortDuration(t *testing.T) {
	for in, want := range map[string]string{"24h0m0s": "24h", "1h30m0s": "1h30m", "1m30s": "1m30s", "0s": "0s", "": "", "x": "x", "168h0m0s": "168h"} {
		require.Equal(t, want, shortDuration(in), in)
	}
}

func TestAlertChanges(t *testing.T) {
	before := incidenthub.Alert{Severity: "high", Labels: map[string]string{"team": "data"}}
	after := incidenthub.Alert{Severity: "critical", Labels: map[string]string{"team": "data", "escalated": "yes"}}
	require.Equal(t, []fieldChange{{Field: "severity", From: "high", To: "critical"}, {Field: "labels.escalated", From: "", To: "yes"}},
		alertChanges(before, after))
	require.Empty(t, alertChanges(before, before))
}

func TestDiffStates(t *testing.T) {
	got := diffStates(json.RawMessage(`{"v":1,"owner":{"name":"a"},"same":"x"}`), json.RawMessage(`{"v":2,"owner":{"name":"b"},"same":"x","added":true}`))
	require.Equal(t, []fieldChange{{Field: "added", To: "true"}, {Field: "owner", From: `{"name":"a"}`, To: `{"name":"b"}`}, {Field: "v", From: "1", To: "2"}}, got)
}

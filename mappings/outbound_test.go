package mappings_test

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/mappings"
)

func renderData() mappings.RenderData {
	opened := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	return mappings.RenderData{
		Incident: incidenthub.Incident{
			ID: 42, CorrelationKey: "checkout/HighLatency", Status: incidenthub.IncidentOpen,
			Title: "p99 latency above 2s", Service: "checkout", AlertType: "HighLatency",
			Severity: incidenthub.SeverityCritical, Environment: "prod", Hosts: []string{"web-1", "web-2"},
			EventCount: 7, AlertCount: 2, FiringCount: 2, OpenedAt: opened, LastSeenAt: opened.Add(time.Minute),
		},
		Alert: incidenthub.Alert{
			Source: "am", Fingerprint: "fp1", Status: incidenthub.AlertFiring, Severity: incidenthub.SeverityCritical,
			Title: "p99 latency above 2s", Description: "p99 is 2.4s", Host: "web-2", Labels: map[string]string{"team": "shop"},
			URL: "https://prometheus.example.org/graph?g0.expr=x", StartsAt: opened,
		},
		Event: "opened",
		Vars:  map[string]string{"project": "OPS"},
	}
}

func TestRenderWebhook(t *testing.T) {
	t.Parallel()
	o, err := mappings.LoadOutbound(filepath.Join("testdata", "outbound", "webhook.yaml"))
	require.NoError(t, err)
	got, err := mappings.Render(o, renderData())
	require.NoError(t, err)
	// Keys keep the file's order; a lone {{ }} keeps its type; a time not
	// set (resolved_at) is left out.
	require.Equal(t, `{"type":"incident.opened","incident":{"id":42,"key":"checkout/HighLatency","status":"open",`+
		`"severity":"critical","title":"p99 latency above 2s","hosts":["web-1","web-2"],"opened_at":"2024-05-01T10:00:00Z",`+
		`"counts":{"alerts":2,"events":7}},"alert":{"fingerprint":"fp1","labels":{"team":"shop"},`+
		`"summary":"p99 latency above 2s on web-2"},"static":[1,true,null,"text"]}`, string(got))
}

func TestRenderJiraExample(t *testing.T) {
	t.Parallel()
	o, err := mappings.LoadOutbound(filepath.Join("..", "examples", "mappings", "outbound", "jira-issue.yaml"))
	require.NoError(t, err)
	got, err := mappings.Render(o, renderData())
	require.NoError(t, err)
	var body struct {
		Fields map[string]any `json:"fields"`
	}
	require.NoError(t, json.Unmarshal(got, &body))
	f := body.Fields
	require.Equal(t, map[string]any{"key": "OPS"}, f["project"])
	require.Equal(t, "[CRITICAL] p99 latency above 2s", f["summary"])
	require.Equal(t, map[string]any{"name": "Highest"}, f["priority"])
	require.Equal(t, []any{"incident-hub", "checkout", "host-web-1", "host-web-2"}, f["labels"])
	require.Equal(t, "2024-05-01", f["duedate"])
	require.EqualValues(t, 42, f["customfield_10010"])
	require.Equal(t, "https://prometheus.example.org/graph?g0.expr=x", f["customfield_10011"])
	require.Contains(t, f["description"], "Hosts: web-1, web-2\nOpened: 2024-05-01T10:00:00Z\nAlerts: 2 (2 firing), 7 events")

	d := renderData()
	d.Incident.Severity = incidenthub.SeverityInfo
	d.Alert.URL = ""
	got, err = mappings.Render(o, d)
	require.NoError(t, err)
	body.Fields = nil
	require.NoError(t, json.Unmarshal(got, &body))
	require.Equal(t, map[string]any{"name": "Low"}, body.Fields["priority"])
	require.NotContains(t, body.Fields, "duedate", "nil leaves the member out")
	require.NotContains(t, body.Fields, "customfield_10011")
}

func TestOutboundErrors(t *testing.T) {
	t.Parallel()
	_, err := mappings.ParseOutbound("o.yaml", []byte("name: x\nbody:\n  title: '{{ incident.titel }}'\n  n: '{{ incident.id + \"a\" }}'\nextra: 1\n"))
	require.EqualError(t, err, "o.yaml:3:10: body.title: in {{ incident.titel }}: type mappings.IncidentView has no field titel (1:11)\n"+
		" |  incident.titel \n"+
		" | ..........^\n"+
		"o.yaml:4:6: body.n: in {{ incident.id + \"a\" }}: invalid operation: + (mismatched types int64 and string) (1:14)\n"+
		" |  incident.id + \"a\" \n"+
		" | .............^\n"+
		"o.yaml:5:1: extra: unknown key (known keys: body, description, name)")

	o, err := mappings.ParseOutbound("o.yaml", []byte("name: x\nbody:\n  first: '{{ incident.hosts[5] }}'\n"))
	require.NoError(t, err)
	_, err = mappings.Render(o, renderData())
	var e *incidenthub.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, incidenthub.EUNPROCESSABLE, e.Code)
	require.Contains(t, e.Message, "body.first: index out of range")
}

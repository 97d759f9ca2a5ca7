package connectors_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors"
	"github.com/incidenthub/incidenthub/connectors/jira/jiratest"
	"github.com/incidenthub/incidenthub/connectors/pagerduty/pagerdutytest"
	"github.com/incidenthub/incidenthub/connectors/statuspage/statuspagetest"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/httperr"
)

func notification() *incidenthub.Notification {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return &incidenthub.Notification{ID: "msg_1", Event: incidenthub.EventOpened, Target: "t", Time: at,
		Incident: incidenthub.Incident{ID: 42, Status: incidenthub.IncidentOpen, Title: "High latency", Service: "checkout",
			Severity: incidenthub.SeverityHigh, Hosts: []string{"web-1"}, AlertCount: 3, FiringCount: 3, OpenedAt: at},
		LatestAlert: &incidenthub.Alert{Title: "High latency", Annotations: map[string]string{"runbook": "https://runbooks/latency"}}}
}

func build(t *testing.T, yaml string) connectors.Notifier {
	t.Helper()
	cfg, err := config.Parse("testdata/hub.yaml", []byte(yaml), func(string) string { return "" })
	require.NoError(t, err)
	n, err := connectors.Build(&cfg.Targets[0], cfg.Delivery, http.DefaultClient)
	require.NoError(t, err)
	return n
}

// A webhook target's mapping renders its whole body.
func TestWebhookMapping(t *testing.T) {
	t.Parallel()
	got := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	n := build(t, fmt.Sprintf("targets:\n  - {name: t, type: webhook, url: %q, mapping: webhook.yaml, vars: {team: sre}}\n", srv.URL))
	retry, err := n.Notify(context.Background(), notification())
	require.NoError(t, err)
	require.False(t, retry)
	require.JSONEq(t, `{"text":"opened: [HIGH] High latency (3 alerts)","incident":42,"team":"sre","runbook":"https://runbooks/latency"}`, string(<-got))
}

// A Jira target's mapping overrides the fields it names; the rest, and
// the hub's own label, stay.
func TestJiraMapping(t *testing.T) {
	t.Parallel()
	fake := jiratest.New(t)
	n := build(t, fmt.Sprintf(`targets:
  - name: t
    type: jira
    jira: {base_url: %q, email: %s, api_token: %s, project: %s}
    mapping: jira.yaml
    vars: {team: sre}
`, fake.URL, jiratest.Email, jiratest.APIToken, jiratest.Project))
	note := notification()
	_, err := n.Notify(context.Background(), note)
	require.NoError(t, err)
	issues := fake.Issues()
	require.Len(t, issues, 1)
	f := issues[0].Fields
	require.Equal(t, "[HIGH] checkout: High latency", f["summary"])
	require.Equal(t, []any{"incidenthub", "team-sre", "host-web-1", "incidenthub-42"}, f["labels"])
	require.Equal(t, map[string]any{"name": "High"}, f["priority"], "fields the mapping leaves out keep their default")
	require.Equal(t, issues[0].Key, note.Ref["id.issue_key"])
	require.Equal(t, fake.URL+"/browse/"+issues[0].Key, note.Ref["url"])
}

// A PagerDuty mapping shapes the payload but cannot redirect the event.
func TestPagerDutyMappingProtectsKeys(t *testing.T) {
	t.Parallel()
	fake := pagerdutytest.New(t)
	n := build(t, fmt.Sprintf(`targets:
  - name: t
    type: pagerduty
    pagerduty: {routing_key: %s, url: %q}
    mapping: pagerduty.yaml
    vars: {team: sre}
`, pagerdutytest.RoutingKey, fake.EnqueueURL()))
	note := notification()
	_, err := n.Notify(context.Background(), note)
	require.NoError(t, err)
	ev := fake.Events()
	require.Len(t, ev, 1)
	require.Equal(t, "incidenthub-42", ev[0].DedupKey)
	require.Equal(t, "checkout is open", ev[0].Payload["summary"])
	require.Equal(t, map[string]any{"team": "sre"}, ev[0].Payload["custom_details"])
	require.Equal(t, "error", ev[0].Payload["severity"], "members the mapping leaves out keep their default")
	raw, _ := json.Marshal(note.Ref)
	require.NotContains(t, string(raw), pagerdutytest.RoutingKey)
}

// The example public-wording mapping renders the Statuspage incident's
// name and body; nothing internal reaches the page.
func TestStatuspageMapping(t *testing.T) {
	t.Parallel()
	fake := statuspagetest.New(t)
	n := build(t, fmt.Sprintf(`targets:
  - name: t
    type: statuspage
    statuspage: {base_url: %q, api_key: %s, page_id: %s, requests_per_minute: 6000, services: {checkout: {name: Checkout, components: [%s]}}}
    mapping: ../../examples/mappings/outbound/statuspage-public.yaml
    vars: {public_name: Checkout}
`, fake.URL, statuspagetest.APIKey, statuspagetest.PageID, statuspagetest.ComponentCheckout))
	note := notification()
	_, err := n.Notify(context.Background(), note)
	require.NoError(t, err)
	note.Incident.Status, note.Event = incidenthub.IncidentResolved, incidenthub.EventResolved
	_, err = n.Notify(context.Background(), note)
	require.NoError(t, err)
	inc := fake.Incidents()
	require.Len(t, inc, 1)
	require.Equal(t, "Checkout: degraded service", inc[0].Name)
	require.Equal(t, "resolved", inc[0].Status)
	require.Equal(t, "We are investigating reports of problems with Checkout.", inc[0].Updates[0].Body)
	require.Equal(t, "This incident has been resolved. Thank you for your patience.", inc[len(inc)-1].Updates[len(inc[0].Updates)-1].Body)
	require.Equal(t, "operational", fake.Components()[statuspagetest.ComponentCheckout])
	for _, u := range inc[0].Updates {
		require.NotContains(t, u.Body, "web-1")
	}
}

// Every connector that honours Retry-After reads it through
// httperr.ParseRetryAfter: a server asking for more than
// httperr.MaxRetryAfter, in any spelling, gets that cap, never a wait that
// overflowed into a negative or a few milliseconds.
func TestRetryAfterCapped(t *testing.T) {
	t.Parallel()
	targets := map[string]string{
		"webhook":    `{name: t, type: webhook, url: "%[1]s/hook"}`,
		"slack":      `{name: t, type: slack, token: xoxb-1-abc, channel: C0OPS, api_url: "%[1]s/api/"}`,
		"jira":       `{name: t, type: jira, jira: {base_url: "%[1]s", email: a@example.com, api_token: tok-123456, project: OPS}}`,
		"servicenow": `{name: t, type: servicenow, servicenow: {instance_url: "%[1]s", username: hub, password: pw-123456, assignment_group: ops}}`,
		"statuspage": `{name: t, type: statuspage, statuspage: {base_url: "%[1]s", api_key: key-123456, page_id: %[2]s, requests_per_minute: 6000, services: {checkout: {name: Checkout, components: [%[3]s]}}}}`,
		"pagerduty":  `{name: t, type: pagerduty, pagerduty: {routing_key: 0123456789abcdef0123456789abcdef, url: "%[1]s/v2/enqueue"}}`,
	}
	waits := map[string]time.Duration{
		"9227000000":                    httperr.MaxRetryAfter, // overflowed to a negative wait
		"18446744074":                   httperr.MaxRetryAfter, // wrapped to 290 ms
		"Fri, 31 Dec 9999 23:59:59 GMT": httperr.MaxRetryAfter,
		"30":                            30 * time.Second,
	}
	for typ, target := range targets {
		for header, want := range waits {
			t.Run(typ+"/"+header, func(t *testing.T) {
				t.Parallel()
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Retry-After", header)
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusTooManyRequests)
					_, _ = io.WriteString(w, `{"ok":false,"error":"ratelimited","errorMessages":["slow down"]}`)
				}))
				defer srv.Close()
				n := build(t, "targets:\n  - "+fmt.Sprintf(target, srv.URL, statuspagetest.PageID, statuspagetest.ComponentCheckout)+"\n")
				retry, err := n.Notify(context.Background(), notification())
				require.Error(t, err)
				require.True(t, retry, "a 429 is retried")
				var ra interface{ RetryAfter() time.Duration }
				require.ErrorAs(t, err, &ra)
				require.Equal(t, want, ra.RetryAfter())
			})
		}
	}
}

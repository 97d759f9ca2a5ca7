package jira_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/jira"
	"github.com/incidenthub/incidenthub/connectors/jira/jiratest"
)

type classified interface {
	Retryable() bool
	RetryAfter() time.Duration
}

func config(fake *jiratest.Server) jira.Config {
	return jira.Config{
		BaseURL: fake.URL, Email: jiratest.Email, APIToken: jiratest.APIToken,
		Project: jiratest.Project, Labels: []string{"on call"},
		IncidentURL: "https://hub.example.com/incidents/{id}",
	}
}

func newClient(t *testing.T, fake *jiratest.Server, mod ...func(*jira.Config)) *jira.Client {
	t.Helper()
	cfg := config(fake)
	for _, m := range mod {
		m(&cfg)
	}
	c, err := jira.New(cfg, &http.Client{Timeout: 5 * time.Second})
	require.NoError(t, err)
	return c
}

func incident() incidenthub.Incident {
	return incidenthub.Incident{
		ID: 7, CorrelationKey: "checkout|HighLatency", Status: incidenthub.IncidentOpen,
		Title: "checkout: HighLatency\non web-1", Service: "checkout", AlertType: "HighLatency",
		Severity: incidenthub.SeverityHigh, Environment: "prod", Hosts: []string{"web-1"},
		AlertCount: 1, FiringCount: 1, EventCount: 1,
		OpenedAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
	}
}

func sync(t *testing.T, c *jira.Client, inc incidenthub.Incident, prev jira.Remote) jira.Remote {
	t.Helper()
	r, err := c.Sync(context.Background(), jira.State{Incident: inc, Remote: prev.IDs, Last: prev.Synced,
		Alert: &incidenthub.Alert{Title: "p99 > 2s", Description: "p99 latency 2.4s over 5m"}})
	require.NoError(t, err)
	return r
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	fake := jiratest.New(t)
	c := newClient(t, fake)
	inc := incident()

	r := sync(t, c, inc, jira.Remote{})
	require.Equal(t, "OPS-1", r.IDs["issue_key"])
	require.Equal(t, "10001", r.IDs["issue_id"])
	require.Equal(t, fake.URL+"/browse/OPS-1", r.URL)
	require.Equal(t, []string{"GET /rest/api/3/search/jql", "POST /rest/api/3/issue"}, fake.Requests())
	issues := fake.Issues()
	require.Len(t, issues, 1)
	f := issues[0].Fields
	require.Equal(t, "checkout: HighLatency on web-1", f["summary"])
	require.Equal(t, map[string]any{"name": "High"}, f["priority"])
	require.Equal(t, map[string]any{"name": "Task"}, f["issuetype"])
	require.Equal(t, []any{"incidenthub", "incidenthub-7", "on_call"}, f["labels"])
	desc := jiratest.Text(f["description"].(map[string]any))
	require.Contains(t, desc, "Service: checkout")
	require.Contains(t, desc, "Alerts: 1 (1 firing)")
	require.Contains(t, desc, "p99 latency 2.4s over 5m")
	require.Contains(t, desc, "View in Incident Hub")

	// Same state again: no request at all.
	n := len(fake.Requests())
	require.Equal(t, r, sync(t, c, inc, r))
	require.Len(t, fake.Requests(), n)

	// Escalation: one comment naming the changes.
	inc.Severity = incidenthub.SeverityCritical
	inc.AlertCount, inc.FiringCount, inc.Hosts = 3, 3, []string{"web-1", "web-2"}
	r = sync(t, c, inc, r)
	issues = fake.Issues()
	require.Len(t, issues, 1)
	require.Len(t, issues[0].Comments, 1)
	text := jiratest.Text(issues[0].Comments[0])
	require.Contains(t, text, "Severity changed from high to critical.")
	require.Contains(t, text, "Alerts: 3 (3 firing), previously 1.")
	require.Contains(t, text, "web-2")

	// Resolve: a comment and the Done transition, found by name.
	inc.Status = incidenthub.IncidentResolved
	r = sync(t, c, inc, r)
	issues = fake.Issues()
	require.Equal(t, "Done", issues[0].Status)
	require.Equal(t, []string{"Done"}, issues[0].Transitions)
	require.Contains(t, jiratest.Text(issues[0].Comments[1]), "resolved")
	require.Equal(t, "done", r.Synced["workflow"])

	n = len(fake.Requests())
	sync(t, c, inc, r)
	require.Len(t, fake.Requests(), n, "resolved twice transitions once")

	// Open again: the configured reopen transition.
	c2 := newClient(t, fake, func(cfg *jira.Config) { cfg.ReopenTransition = "Reopen" })
	inc.Status = incidenthub.IncidentOpen
	r = sync(t, c2, inc, r)
	issues = fake.Issues()
	require.Equal(t, "To Do", issues[0].Status)
	require.Equal(t, []string{"Done", "Reopen"}, issues[0].Transitions)
	require.Contains(t, jiratest.Text(issues[0].Comments[2]), "open again")
	require.Equal(t, "open", r.Synced["workflow"])
}

func TestResolveWhenAlreadyDoneByHand(t *testing.T) {
	t.Parallel()
	fake := jiratest.New(t)
	c := newClient(t, fake)
	inc := incident()
	r := sync(t, c, inc, jira.Remote{})
	fake.SetStatus("OPS-1", "Done")
	inc.Status = incidenthub.IncidentResolved
	sync(t, c, inc, r)
	require.Empty(t, fake.Issues()[0].Transitions)
}

func TestUnknownDoneTransitionIsPermanent(t *testing.T) {
	t.Parallel()
	fake := jiratest.New(t)
	c := newClient(t, fake, func(cfg *jira.Config) { cfg.DoneTransition = "Closed" })
	inc := incident()
	r := sync(t, c, inc, jira.Remote{})
	inc.Status = incidenthub.IncidentResolved
	r2, err := c.Sync(context.Background(), jira.State{Incident: inc, Remote: r.IDs, Last: r.Synced})
	require.ErrorContains(t, err, `no transition named "Closed"`)
	require.ErrorContains(t, err, `"Done"`)
	require.False(t, err.(classified).Retryable())
	// The comment went through and is not repeated on retry.
	require.Equal(t, "resolved", r2.Synced["status"])
	require.Equal(t, "open", r2.Synced["workflow"])
}

func TestCreateFindsIssueFromLostAnswer(t *testing.T) {
	t.Parallel()
	fake := jiratest.New(t)
	c := newClient(t, fake)
	sync(t, c, incident(), jira.Remote{}) // created, but say the engine never stored the key
	r := sync(t, c, incident(), jira.Remote{})
	require.Equal(t, "OPS-1", r.IDs["issue_key"])
	require.Len(t, fake.Issues(), 1)
}

func TestResolvedBeforeFirstSyncCreatesAndCloses(t *testing.T) {
	t.Parallel()
	fake := jiratest.New(t)
	c := newClient(t, fake)
	inc := incident()
	inc.Status = incidenthub.IncidentResolved
	sync(t, c, inc, jira.Remote{})
	is := fake.Issues()
	require.Len(t, is, 1)
	require.Equal(t, "Done", is[0].Status)
}

func TestPriorityMappingAndOmission(t *testing.T) {
	t.Parallel()
	fake := jiratest.New(t)
	c := newClient(t, fake, func(cfg *jira.Config) { cfg.Priority = map[string]string{"high": "Highest", "warning": ""} })
	inc := incident()
	sync(t, c, inc, jira.Remote{})
	inc.ID, inc.Severity = 8, incidenthub.SeverityWarning
	sync(t, c, inc, jira.Remote{})
	is := fake.Issues()
	require.Equal(t, map[string]any{"name": "Highest"}, is[0].Fields["priority"])
	require.NotContains(t, is[1].Fields, "priority")

	bad := newClient(t, fake, func(cfg *jira.Config) { cfg.Priority = map[string]string{"high": "P1"} })
	inc.ID, inc.Severity = 9, incidenthub.SeverityHigh
	_, err := bad.Sync(context.Background(), jira.State{Incident: inc})
	require.ErrorContains(t, err, "HTTP 400")
	require.ErrorContains(t, err, "priority: Specify the Priority")
	require.False(t, err.(classified).Retryable())
}

func TestRender(t *testing.T) {
	t.Parallel()
	fake := jiratest.New(t)
	c := newClient(t, fake, func(cfg *jira.Config) {
		cfg.Render = func(op string, s jira.State, body map[string]any) (map[string]any, error) {
			if op == jira.OpCreate {
				body["fields"].(map[string]any)["summary"] = "[P] " + s.Incident.Service
			}
			return body, nil
		}
	})
	sync(t, c, incident(), jira.Remote{})
	require.Equal(t, "[P] checkout", fake.Issues()[0].Fields["summary"])
}

func TestLongSummaryIsTruncated(t *testing.T) {
	t.Parallel()
	fake := jiratest.New(t)
	inc := incident()
	inc.Title = strings.Repeat("x", 400)
	sync(t, newClient(t, fake), inc, jira.Remote{})
	require.Len(t, []rune(fake.Issues()[0].Fields["summary"].(string)), 255)
}

func TestErrors(t *testing.T) {
	t.Parallel()
	t.Run("bad token", func(t *testing.T) {
		t.Parallel()
		fake := jiratest.New(t)
		c := newClient(t, fake, func(cfg *jira.Config) { cfg.APIToken = "wrong-token-123" })
		_, err := c.Sync(context.Background(), jira.State{Incident: incident()})
		var ce classified
		require.ErrorAs(t, err, &ce)
		require.False(t, ce.Retryable())
		require.ErrorContains(t, err, "HTTP 401: Client must be authenticated")
		require.NotContains(t, err.Error(), "wrong-token-123")
		require.Empty(t, fake.Issues())
	})
	t.Run("429 with Retry-After", func(t *testing.T) {
		t.Parallel()
		fake := jiratest.New(t)
		fake.FailRequest(2, http.StatusTooManyRequests, 12*time.Second) // search passes, create is throttled
		c := newClient(t, fake)
		_, err := c.Sync(context.Background(), jira.State{Incident: incident()})
		var ce classified
		require.ErrorAs(t, err, &ce)
		require.True(t, ce.Retryable())
		require.Equal(t, 12*time.Second, ce.RetryAfter())
		require.ErrorContains(t, err, "Rate limit exceeded.")
		sync(t, c, incident(), jira.Remote{})
		require.Len(t, fake.Issues(), 1)
	})
	t.Run("503 is retryable", func(t *testing.T) {
		t.Parallel()
		fake := jiratest.New(t)
		fake.FailNext(http.StatusServiceUnavailable, 0)
		_, err := newClient(t, fake).Sync(context.Background(), jira.State{Incident: incident()})
		require.True(t, err.(classified).Retryable())
	})
	t.Run("deleted issue", func(t *testing.T) {
		t.Parallel()
		fake := jiratest.New(t)
		inc := incident()
		inc.Severity = incidenthub.SeverityCritical
		_, err := newClient(t, fake).Sync(context.Background(), jira.State{Incident: inc,
			Remote: map[string]string{"issue_key": "OPS-99"}, Last: map[string]string{"severity": "high"}})
		require.ErrorContains(t, err, "HTTP 404: Issue does not exist")
		require.False(t, err.(classified).Retryable())
	})
}

func TestVerify(t *testing.T) {
	t.Parallel()
	fake := jiratest.New(t)
	require.NoError(t, newClient(t, fake).Verify(context.Background()))
	require.Equal(t, []string{"GET /rest/api/3/myself", "GET /rest/api/3/project/OPS"}, fake.Requests())

	err := newClient(t, fake, func(cfg *jira.Config) { cfg.APIToken = "nope" }).Verify(context.Background())
	require.ErrorContains(t, err, "HTTP 401")
	err = newClient(t, fake, func(cfg *jira.Config) { cfg.Project = "NOPE" }).Verify(context.Background())
	require.ErrorContains(t, err, "No project could be found with key 'NOPE'.")
	require.Empty(t, fake.Issues())
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	err := (jira.Config{}).Validate()
	for _, want := range []string{"base_url: required", "email: required", "api_token: required", "project: required", "issue_type: required", "done_transition: required"} {
		require.ErrorContains(t, err, want)
	}
	cfg := jira.Config{BaseURL: "example.atlassian.net", Email: "x", APIToken: "t", Project: "ops",
		Priority: map[string]string{"sev1": "High"}, Labels: []string{" "}, IncidentURL: "nope"}
	cfg.Defaults()
	err = cfg.Validate()
	for _, want := range []string{"base_url: must be an http(s) URL", "email: must be", `project: "ops" is not a project key`, "priority.sev1: unknown hub severity", "labels[0]:", "incident_url:"} {
		require.ErrorContains(t, err, want)
	}
	ok := jira.Config{BaseURL: "https://example.atlassian.net/", Email: "a@b.c", APIToken: "t", Project: "OPS"}
	ok.Defaults()
	require.NoError(t, ok.Validate())
	require.Equal(t, "https://example.atlassian.net", ok.BaseURL)
	require.Equal(t, "Task", ok.IssueType)
	require.Equal(t, "Done", ok.DoneTransition)
	require.Equal(t, "Highest", ok.Priority["critical"])
	require.NotContains(t, fmt.Sprintf("%v %+v %#v", ok, ok, ok), `APIToken:"t"`)
	_, err = jira.New(ok, nil)
	require.Error(t, err)
}

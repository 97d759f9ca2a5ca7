package servicenow_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/servicenow"
	"github.com/incidenthub/incidenthub/connectors/servicenow/servicenowtest"
)

type classified interface {
	Retryable() bool
	RetryAfter() time.Duration
}

func newClient(t *testing.T, fake *servicenowtest.Server, mod ...func(*servicenow.Config)) *servicenow.Client {
	t.Helper()
	cfg := servicenow.Config{
		InstanceURL: fake.URL, Username: servicenowtest.Username, Password: servicenowtest.Password,
		AssignmentGroup: "287ebd7da9fe198100f92cc8d1d2154e", CallerID: "incidenthub",
		IncidentURL: "https://hub.example.com/incidents/{id}",
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := servicenow.New(cfg, &http.Client{Timeout: 5 * time.Second})
	require.NoError(t, err)
	return c
}

func incident() incidenthub.Incident {
	return incidenthub.Incident{
		ID: 42, CorrelationKey: "checkout|HighLatency", Status: incidenthub.IncidentOpen,
		Title: "checkout: HighLatency", Service: "checkout", AlertType: "HighLatency",
		Severity: incidenthub.SeverityHigh, Environment: "prod", Hosts: []string{"web-1"},
		AlertCount: 1, FiringCount: 1, EventCount: 1,
	}
}

func sync(t *testing.T, c *servicenow.Client, inc incidenthub.Incident, prev servicenow.Remote) servicenow.Remote {
	t.Helper()
	r, err := c.Sync(context.Background(), servicenow.State{Incident: inc, Remote: prev.IDs, Last: prev.Synced})
	require.NoError(t, err)
	return r
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	fake := servicenowtest.New(t)
	c := newClient(t, fake)
	inc := incident()

	r := sync(t, c, inc, servicenow.Remote{})
	recs := fake.Incidents()
	require.Len(t, recs, 1)
	rec := recs[0]
	require.Equal(t, rec.SysID, r.IDs["sys_id"])
	require.Equal(t, "INC0010001", r.IDs["number"])
	require.Equal(t, fake.URL+"/incident.do?sys_id="+rec.SysID, r.URL)
	require.Equal(t, []string{"GET /api/now/table/incident", "POST /api/now/table/incident"}, fake.Requests())
	f := rec.Fields
	require.Equal(t, "checkout: HighLatency", f["short_description"])
	require.Equal(t, "2", f["urgency"])
	require.Equal(t, "1", f["impact"])
	require.Equal(t, "1", f["state"])
	require.Equal(t, "incidenthub-42", f["correlation_id"])
	require.Equal(t, "287ebd7da9fe198100f92cc8d1d2154e", f["assignment_group"])
	require.Equal(t, "incidenthub", f["caller_id"])
	require.Contains(t, f["description"], "Hosts: web-1")
	require.Contains(t, f["description"], "https://hub.example.com/incidents/42")

	n := len(fake.Requests())
	require.Equal(t, r, sync(t, c, inc, r))
	require.Len(t, fake.Requests(), n, "nothing new, nothing sent")

	inc.Severity, inc.AlertCount, inc.FiringCount = incidenthub.SeverityCritical, 4, 4
	r = sync(t, c, inc, r)
	rec = fake.Incidents()[0]
	require.Equal(t, "1", rec.Fields["urgency"])
	require.Equal(t, "1", rec.Fields["impact"])
	require.Len(t, rec.WorkNotes, 1)
	require.Contains(t, rec.WorkNotes[0], "Severity changed from high to critical.")
	require.Contains(t, rec.WorkNotes[0], "Alerts: 4 (4 firing), previously 1.")

	inc.Status = incidenthub.IncidentAcknowledged
	r = sync(t, c, inc, r)
	require.Equal(t, "2", fake.Incidents()[0].Fields["state"])

	inc.Status = incidenthub.IncidentResolved
	r = sync(t, c, inc, r)
	rec = fake.Incidents()[0]
	require.Equal(t, "6", rec.Fields["state"])
	require.Equal(t, "Solution provided", rec.Fields["close_code"])
	require.Contains(t, rec.Fields["close_notes"], "Resolved automatically by Incident Hub")
	require.Len(t, rec.Updates, 3)

	inc.Status = incidenthub.IncidentOpen
	sync(t, c, inc, r)
	rec = fake.Incidents()[0]
	require.Equal(t, "2", rec.Fields["state"])
	require.Contains(t, rec.WorkNotes[len(rec.WorkNotes)-1], "open again")
	require.Len(t, fake.Incidents(), 1)
}

func TestLostCreateAnswerIsFoundByCorrelationID(t *testing.T) {
	t.Parallel()
	fake := servicenowtest.New(t)
	c := newClient(t, fake)
	first := sync(t, c, incident(), servicenow.Remote{})
	inc := incident()
	inc.Status = incidenthub.IncidentResolved
	r := sync(t, c, inc, servicenow.Remote{}) // the engine never stored the first answer
	require.Equal(t, first.IDs, r.IDs)
	recs := fake.Incidents()
	require.Len(t, recs, 1)
	require.Equal(t, "6", recs[0].Fields["state"])
}

func TestResolvedBeforeFirstSyncCreatesResolved(t *testing.T) {
	t.Parallel()
	fake := servicenowtest.New(t)
	inc := incident()
	inc.Status = incidenthub.IncidentResolved
	sync(t, newClient(t, fake), inc, servicenow.Remote{})
	rec := fake.Incidents()[0]
	require.Equal(t, "6", rec.Fields["state"])
	require.NotEmpty(t, rec.Fields["close_notes"])
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	fake := servicenowtest.New(t)
	c := newClient(t, fake, func(cfg *servicenow.Config) {
		cfg.Username, cfg.Password, cfg.Token = "", "", servicenowtest.Token
	})
	require.NoError(t, c.Verify(context.Background()))
	sync(t, c, incident(), servicenow.Remote{})
	require.Len(t, fake.Incidents(), 1)
}

func TestRenderAndDataPolicy(t *testing.T) {
	t.Parallel()
	fake := servicenowtest.New(t)
	c := newClient(t, fake, func(cfg *servicenow.Config) {
		cfg.Render = func(op string, s servicenow.State, body map[string]any) (map[string]any, error) {
			body["category"] = "software"
			if op == servicenow.OpUpdate {
				delete(body, "close_notes") // a mapping that forgets a mandatory field
			}
			return body, nil
		}
	})
	inc := incident()
	r := sync(t, c, inc, servicenow.Remote{})
	require.Equal(t, "software", fake.Incidents()[0].Fields["category"])
	inc.Status = incidenthub.IncidentResolved
	_, err := c.Sync(context.Background(), servicenow.State{Incident: inc, Remote: r.IDs, Last: r.Synced})
	require.ErrorContains(t, err, "HTTP 403: Operation Failed (Data Policy Exception: The following fields are mandatory: Resolution notes)")
	require.False(t, err.(classified).Retryable())
}

func TestErrors(t *testing.T) {
	t.Parallel()
	t.Run("bad password", func(t *testing.T) {
		t.Parallel()
		fake := servicenowtest.New(t)
		c := newClient(t, fake, func(cfg *servicenow.Config) { cfg.Password = "hunter2-wrong" })
		_, err := c.Sync(context.Background(), servicenow.State{Incident: incident()})
		var ce classified
		require.ErrorAs(t, err, &ce)
		require.False(t, ce.Retryable())
		require.ErrorContains(t, err, "HTTP 401: User Not Authenticated (Required to provide Auth information)")
		require.NotContains(t, err.Error(), "hunter2-wrong")
		require.Empty(t, fake.Incidents())
	})
	t.Run("429 with Retry-After", func(t *testing.T) {
		t.Parallel()
		fake := servicenowtest.New(t)
		fake.FailNext(http.StatusTooManyRequests, 60*time.Second)
		_, err := newClient(t, fake).Sync(context.Background(), servicenow.State{Incident: incident()})
		var ce classified
		require.ErrorAs(t, err, &ce)
		require.True(t, ce.Retryable())
		require.Equal(t, time.Minute, ce.RetryAfter())
		require.ErrorContains(t, err, "Rate limit exceeded")
	})
	t.Run("503 is retryable", func(t *testing.T) {
		t.Parallel()
		fake := servicenowtest.New(t)
		fake.FailRequest(2, http.StatusServiceUnavailable, 0)
		_, err := newClient(t, fake).Sync(context.Background(), servicenow.State{Incident: incident()})
		require.True(t, err.(classified).Retryable())
		require.Empty(t, fake.Incidents())
	})
	t.Run("hibernating instance is retryable", func(t *testing.T) {
		t.Parallel()
		fake := servicenowtest.New(t)
		fake.Hibernate(true)
		_, err := newClient(t, fake).Sync(context.Background(), servicenow.State{Incident: incident()})
		require.ErrorContains(t, err, "hibernating")
		require.True(t, err.(classified).Retryable())
	})
	t.Run("deleted record", func(t *testing.T) {
		t.Parallel()
		fake := servicenowtest.New(t)
		inc := incident()
		_, err := newClient(t, fake).Sync(context.Background(), servicenow.State{Incident: inc,
			Remote: map[string]string{"sys_id": strings.Repeat("a", 32)}, Last: map[string]string{"status": "open", "severity": "info", "alert_count": "1"}})
		require.ErrorContains(t, err, "HTTP 404: No Record found")
		require.False(t, err.(classified).Retryable())
	})
}

func TestVerify(t *testing.T) {
	t.Parallel()
	fake := servicenowtest.New(t)
	require.NoError(t, newClient(t, fake).Verify(context.Background()))
	err := newClient(t, fake, func(cfg *servicenow.Config) { cfg.Password = "nope-nope" }).Verify(context.Background())
	require.ErrorContains(t, err, "User Not Authenticated")
	for _, p := range fake.Requests() {
		require.True(t, strings.HasPrefix(p, "GET "), p)
	}
}

func TestLevelsAndShortDescription(t *testing.T) {
	t.Parallel()
	fake := servicenowtest.New(t)
	c := newClient(t, fake, func(cfg *servicenow.Config) {
		cfg.Levels = map[string]servicenow.Level{"high": {Urgency: 1, Impact: 1}}
	})
	inc := incident()
	inc.Title = strings.Repeat("long title ", 40)
	sync(t, c, inc, servicenow.Remote{})
	f := fake.Incidents()[0].Fields
	require.Equal(t, "1", f["urgency"])
	require.Equal(t, "1", f["impact"])
	require.Len(t, []rune(f["short_description"].(string)), 160)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	err := (servicenow.Config{}).Validate()
	for _, want := range []string{"instance_url: required", "username: required (or token)", "assignment_group: required", "close_code: required"} {
		require.ErrorContains(t, err, want)
	}
	cfg := servicenow.Config{InstanceURL: "x.service-now.com", Username: "u", Token: "t", AssignmentGroup: "g",
		Levels: map[string]servicenow.Level{"high": {Urgency: 0, Impact: 4}, "p1": {Urgency: 1, Impact: 1}}}
	cfg.Defaults()
	err = cfg.Validate()
	for _, want := range []string{"instance_url: must be an http(s) URL", "token: set either", "levels.high.urgency: must be 1, 2 or 3", "levels.high.impact:", "levels.p1: unknown hub severity"} {
		require.ErrorContains(t, err, want)
	}
	cfg = servicenow.Config{InstanceURL: "https://x.service-now.com", Username: "u", AssignmentGroup: "g"}
	cfg.Defaults()
	require.ErrorContains(t, cfg.Validate(), "password: required with username")
	cfg.Password = "p4ssw0rd-x"
	require.NoError(t, cfg.Validate())
	require.Equal(t, "Solution provided", cfg.CloseCode)
	require.NotContains(t, fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), "p4ssw0rd-x")
}

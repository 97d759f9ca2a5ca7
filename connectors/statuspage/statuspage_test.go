package statuspage_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/statuspage"
	"github.com/incidenthub/incidenthub/connectors/statuspage/statuspagetest"
)

type classified interface {
	Retryable() bool
	RetryAfter() time.Duration
}

func config(fake *statuspagetest.Server) statuspage.Config {
	return statuspage.Config{
		APIKey: statuspagetest.APIKey, PageID: statuspagetest.PageID, BaseURL: fake.URL,
		Services: map[string]statuspage.Service{
			"checkout": {Name: "Checkout", Components: []string{statuspagetest.ComponentCheckout}},
		},
		RequestsPerMinute: 6000,
	}
}

func newClient(t *testing.T, fake *statuspagetest.Server, mod ...func(*statuspage.Config)) *statuspage.Client {
	t.Helper()
	cfg := config(fake)
	for _, m := range mod {
		m(&cfg)
	}
	c, err := statuspage.New(cfg, &http.Client{Timeout: 5 * time.Second})
	require.NoError(t, err)
	return c
}

func incident() incidenthub.Incident {
	return incidenthub.Incident{
		ID: 42, CorrelationKey: "checkout|HighLatency", Status: incidenthub.IncidentOpen,
		Title: "checkout: HighLatency on web-1.internal", Service: "checkout", AlertType: "HighLatency",
		Severity: incidenthub.SeverityWarning, Environment: "prod", Hosts: []string{"web-1.internal"},
		AlertCount: 1, FiringCount: 1,
	}
}

func state(inc incidenthub.Incident, prev statuspage.Remote) statuspage.State {
	return statuspage.State{Incident: inc, Remote: prev.IDs, Last: prev.Synced, Alert: &incidenthub.Alert{
		Title: "p99 > 2s on web-1.internal", Description: "secret-internal-detail", Host: "web-1.internal",
		Labels: map[string]string{"team": "payments-internal"},
	}}
}

func sync(t *testing.T, c *statuspage.Client, inc incidenthub.Incident, prev statuspage.Remote) statuspage.Remote {
	t.Helper()
	r, err := c.Sync(context.Background(), state(inc, prev))
	require.NoError(t, err)
	return r
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	fake := statuspagetest.New(t)
	c := newClient(t, fake)
	inc := incident()

	r := sync(t, c, inc, statuspage.Remote{})
	require.Equal(t, "inc000000001", r.IDs["incident_id"])
	require.Equal(t, "https://stspg.io/00001", r.URL)
	require.Equal(t, []string{"POST /v1/pages/" + statuspagetest.PageID + "/incidents"}, fake.Requests())
	in := fake.Incidents()[0]
	require.Equal(t, "Degraded performance of Checkout", in.Name)
	require.Equal(t, "investigating", in.Status)
	require.Equal(t, "minor", in.Impact)
	require.True(t, in.Notify)
	require.Equal(t, []string{statuspagetest.ComponentCheckout}, in.ComponentIDs)
	require.Equal(t, "degraded_performance", fake.Components()[statuspagetest.ComponentCheckout])
	require.Equal(t, "operational", fake.Components()[statuspagetest.ComponentPayments])

	// Alert count alone is not news for the public page.
	inc.AlertCount, inc.FiringCount = 9, 9
	r = sync(t, c, inc, r)
	require.Len(t, fake.Requests(), 1)

	// Escalation: the component follows the severity.
	inc.Severity = incidenthub.SeverityCritical
	r = sync(t, c, inc, r)
	in = fake.Incidents()[0]
	require.Equal(t, "identified", in.Status)
	require.Equal(t, "critical", in.Impact)
	require.Equal(t, "major_outage", fake.Components()[statuspagetest.ComponentCheckout])
	require.Contains(t, in.Updates[1].Body, "Checkout is currently experiencing an outage.")

	inc.Status = incidenthub.IncidentResolved
	r = sync(t, c, inc, r)
	in = fake.Incidents()[0]
	require.Equal(t, "resolved", in.Status)
	require.Equal(t, "operational", fake.Components()[statuspagetest.ComponentCheckout])
	require.Len(t, in.Updates, 3)

	n := len(fake.Requests())
	sync(t, c, inc, r)
	require.Len(t, fake.Requests(), n, "resolved twice posts once")
	require.Len(t, fake.Incidents(), 1)

	// Nothing internal was published.
	for _, u := range in.Updates {
		for _, leak := range []string{"web-1", "internal", "HighLatency", "42", "payments"} {
			require.NotContains(t, u.Body+in.Name, leak)
		}
	}

	// Open again: back to investigating with the component degraded.
	inc.Status = incidenthub.IncidentOpen
	sync(t, c, inc, r)
	in = fake.Incidents()[0]
	require.Equal(t, "investigating", in.Status)
	require.Equal(t, "major_outage", fake.Components()[statuspagetest.ComponentCheckout])
}

func TestAcknowledgeUsesUpdateStatus(t *testing.T) {
	t.Parallel()
	fake := statuspagetest.New(t)
	c := newClient(t, fake, func(cfg *statuspage.Config) { cfg.UpdateStatus = "monitoring" })
	inc := incident()
	r := sync(t, c, inc, statuspage.Remote{})
	inc.Status = incidenthub.IncidentAcknowledged
	sync(t, c, inc, r)
	in := fake.Incidents()[0]
	require.Equal(t, "monitoring", in.Status)
	require.Equal(t, "A fix has been implemented and we are monitoring the results.", in.Updates[1].Body)
}

func TestUnmappedServiceAndResolvedBeforePostingPublishNothing(t *testing.T) {
	t.Parallel()
	fake := statuspagetest.New(t)
	c := newClient(t, fake)
	inc := incident()
	inc.Service = "internal-batch"
	sync(t, c, inc, statuspage.Remote{})
	inc = incident()
	inc.Status = incidenthub.IncidentResolved
	r := sync(t, c, inc, statuspage.Remote{})
	require.Empty(t, fake.Requests())
	require.Equal(t, "resolved", r.Synced["status"])
}

func TestRender(t *testing.T) {
	t.Parallel()
	fake := statuspagetest.New(t)
	c := newClient(t, fake, func(cfg *statuspage.Config) {
		cfg.Render = func(op string, s statuspage.State, body map[string]any) (map[string]any, error) {
			if op == statuspage.OpCreate {
				body["incident"].(map[string]any)["body"] = "Payments may fail; we are on it."
			}
			return body, nil
		}
	})
	sync(t, c, incident(), statuspage.Remote{})
	require.Equal(t, "Payments may fail; we are on it.", fake.Incidents()[0].Updates[0].Body)

	bad := newClient(t, fake, func(cfg *statuspage.Config) {
		cfg.Render = func(op string, s statuspage.State, body map[string]any) (map[string]any, error) {
			body["incident"].(map[string]any)["status"] = "on_fire"
			return body, nil
		}
	})
	inc := incident()
	inc.ID = 43
	_, err := bad.Sync(context.Background(), state(inc, statuspage.Remote{}))
	require.ErrorContains(t, err, `HTTP 422: Status "on_fire" is not included in the list`)
	require.False(t, err.(classified).Retryable())
}

func TestErrors(t *testing.T) {
	t.Parallel()
	t.Run("bad key", func(t *testing.T) {
		t.Parallel()
		fake := statuspagetest.New(t)
		c := newClient(t, fake, func(cfg *statuspage.Config) { cfg.APIKey = "wrong-key-12345" })
		_, err := c.Sync(context.Background(), state(incident(), statuspage.Remote{}))
		var ce classified
		require.ErrorAs(t, err, &ce)
		require.False(t, ce.Retryable())
		require.ErrorContains(t, err, "HTTP 401: Could not authenticate")
		require.NotContains(t, err.Error(), "wrong-key-12345")
	})
	t.Run("420 from the per-key limit is retryable", func(t *testing.T) {
		t.Parallel()
		fake := statuspagetest.New(t)
		fake.SetRateLimit(2)
		c := newClient(t, fake)
		require.NoError(t, c.Verify(context.Background()))
		_, err := c.Sync(context.Background(), state(incident(), statuspage.Remote{}))
		var ce classified
		require.ErrorAs(t, err, &ce)
		require.True(t, ce.Retryable())
		require.ErrorContains(t, err, "HTTP 420: Rate limit exceeded")
		require.Empty(t, fake.Incidents())
	})
	t.Run("429 with Retry-After", func(t *testing.T) {
		t.Parallel()
		fake := statuspagetest.New(t)
		fake.FailNext(http.StatusTooManyRequests, 20*time.Second)
		_, err := newClient(t, fake).Sync(context.Background(), state(incident(), statuspage.Remote{}))
		var ce classified
		require.ErrorAs(t, err, &ce)
		require.True(t, ce.Retryable())
		require.Equal(t, 20*time.Second, ce.RetryAfter())
	})
	t.Run("503 on resolve is retryable and keeps the id", func(t *testing.T) {
		t.Parallel()
		fake := statuspagetest.New(t)
		c := newClient(t, fake)
		inc := incident()
		r := sync(t, c, inc, statuspage.Remote{})
		fake.FailNext(http.StatusServiceUnavailable, 0)
		inc.Status = incidenthub.IncidentResolved
		r2, err := c.Sync(context.Background(), state(inc, r))
		require.True(t, err.(classified).Retryable())
		require.Equal(t, r.IDs, r2.IDs)
		require.Equal(t, "open", r2.Synced["status"])
		sync(t, c, inc, r2)
		require.Equal(t, "resolved", fake.Incidents()[0].Status)
	})
}

func TestClientSideRateLimit(t *testing.T) {
	t.Parallel()
	fake := statuspagetest.New(t)
	// 240 per minute is one request every 250ms; 5 requests take ≥ 1s.
	c := newClient(t, fake, func(cfg *statuspage.Config) { cfg.RequestsPerMinute = 240 })
	start := time.Now()
	require.NoError(t, c.Verify(context.Background()))
	require.NoError(t, c.Verify(context.Background()))
	_, err := c.Sync(context.Background(), state(incident(), statuspage.Remote{}))
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 950*time.Millisecond)

	// A caller deadline shorter than the wait gives up at once, retryably.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err = c.Verify(ctx)
	require.ErrorContains(t, err, "rate limiter")
	require.True(t, err.(classified).Retryable())
}

func TestVerify(t *testing.T) {
	t.Parallel()
	fake := statuspagetest.New(t)
	require.NoError(t, newClient(t, fake).Verify(context.Background()))
	for _, p := range fake.Requests() {
		require.True(t, strings.HasPrefix(p, "GET "), p)
	}
	err := newClient(t, fake, func(cfg *statuspage.Config) {
		cfg.Services["payments"] = statuspage.Service{Name: "Payments", Components: []string{"zzzzzzzzzzzz"}}
	}).Verify(context.Background())
	require.ErrorContains(t, err, "services.payments: component zzzzzzzzzzzz")
	err = newClient(t, fake, func(cfg *statuspage.Config) { cfg.PageID = "otherpage123" }).Verify(context.Background())
	require.ErrorContains(t, err, "HTTP 404: Could not find page otherpage123")
	require.Empty(t, fake.Incidents())
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	err := (statuspage.Config{}).Validate()
	for _, want := range []string{"api_key: required", "page_id: required", "base_url: required", "services: required"} {
		require.ErrorContains(t, err, want)
	}
	cfg := statuspage.Config{APIKey: "k", PageID: "Bad Page", UpdateStatus: "resolved", RequestsPerMinute: -1,
		Services:        map[string]statuspage.Service{"checkout": {Components: []string{"NOT AN ID"}}},
		ComponentStatus: map[string]string{"high": "operational", "sev2": "major_outage"},
		Impact:          map[string]string{"warning": "huge"}}
	cfg.Defaults()
	err = cfg.Validate()
	for _, want := range []string{`page_id: "Bad Page"`, "services.checkout.name: required", "services.checkout.components[0]:",
		`update_status: "resolved"`, "component_status.high:", "component_status.sev2: unknown hub severity", `impact.warning: "huge"`, "requests_per_minute:"} {
		require.ErrorContains(t, err, want)
	}
	ok := statuspage.Config{APIKey: "k3y-k3y-k3y", PageID: statuspagetest.PageID,
		Services: map[string]statuspage.Service{"checkout": {Name: "Checkout", Components: []string{statuspagetest.ComponentCheckout}}}}
	ok.Defaults()
	require.NoError(t, ok.Validate())
	require.Equal(t, statuspage.DefaultBaseURL, ok.BaseURL)
	require.Equal(t, 60, ok.RequestsPerMinute)
	require.Equal(t, "identified", ok.UpdateStatus)
	require.True(t, *ok.Notify)
	require.NotContains(t, fmt.Sprintf("%v %+v %#v", ok, ok, ok), "k3y-k3y-k3y")
}

package pagerduty_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/pagerduty"
	"github.com/incidenthub/incidenthub/connectors/pagerduty/pagerdutytest"
	"github.com/incidenthub/incidenthub/internal/remote"
)

type classified interface {
	Retryable() bool
	RetryAfter() time.Duration
}

func newClient(t *testing.T, fake *pagerdutytest.Server, mod ...func(*pagerduty.Config)) *pagerduty.Client {
	t.Helper()
	cfg := pagerduty.Config{RoutingKey: pagerdutytest.RoutingKey, URL: fake.EnqueueURL(), IncidentURL: "https://hub.example.com/incidents/{id}"}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := pagerduty.New(cfg, &http.Client{Timeout: 5 * time.Second})
	require.NoError(t, err)
	return c
}

func incident() incidenthub.Incident {
	return incidenthub.Incident{
		ID: 42, CorrelationKey: "checkout|HighLatency", Status: incidenthub.IncidentOpen,
		Title: "checkout: HighLatency", Service: "checkout", AlertType: "HighLatency",
		Severity: incidenthub.SeverityHigh, Environment: "prod", Hosts: []string{"web-1"},
		AlertCount: 1, FiringCount: 1, EventCount: 1,
		OpenedAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
	}
}

// sync runs one sync and returns the state the engine would keep.
func sync(t *testing.T, c *pagerduty.Client, inc incidenthub.Incident, prev pagerduty.Remote) pagerduty.Remote {
	t.Helper()
	r, err := c.Sync(context.Background(), pagerduty.State{Incident: inc, Remote: prev.IDs, Last: prev.Synced})
	require.NoError(t, err)
	return r
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	fake := pagerdutytest.New(t)
	c := newClient(t, fake)
	inc := incident()

	r := sync(t, c, inc, pagerduty.Remote{})
	require.Equal(t, "incidenthub-42", r.IDs["dedup_key"])
	require.Equal(t, map[string]string{"status": "open", "severity": "high"}, r.Synced)
	evs := fake.Events()
	require.Len(t, evs, 1)
	ev := evs[0]
	require.Equal(t, "trigger", ev.Action)
	require.Equal(t, "incidenthub-42", ev.DedupKey)
	require.Equal(t, "checkout: HighLatency", ev.Payload["summary"])
	require.Equal(t, "web-1", ev.Payload["source"])
	require.Equal(t, "error", ev.Payload["severity"])
	require.Equal(t, "checkout", ev.Payload["component"])
	require.Equal(t, "prod", ev.Payload["group"])
	require.Equal(t, "HighLatency", ev.Payload["class"])
	require.Equal(t, "2026-03-01T10:00:00Z", ev.Payload["timestamp"])
	details := ev.Payload["custom_details"].(map[string]any)
	require.Equal(t, "checkout|HighLatency", details["correlation_key"])
	require.Equal(t, "https://hub.example.com/incidents/42", ev.Body["client_url"])

	// Re-sync of the same state sends nothing.
	r2 := sync(t, c, inc, r)
	require.Equal(t, r, r2)
	require.Len(t, fake.Events(), 1)

	// More alerts alone do not re-page; a severity change re-triggers the same alert.
	inc.AlertCount, inc.FiringCount = 5, 5
	r = sync(t, c, inc, r)
	require.Len(t, fake.Events(), 1)
	inc.Severity = incidenthub.SeverityCritical
	r = sync(t, c, inc, r)
	require.Len(t, fake.Events(), 2)
	a, ok := fake.Alert("incidenthub-42")
	require.True(t, ok)
	require.Equal(t, 2, a.Triggers)
	require.Equal(t, "critical", a.Severity)
	require.Len(t, fake.Alerts(), 1)

	inc.Status = incidenthub.IncidentAcknowledged
	r = sync(t, c, inc, r)
	a, _ = fake.Alert("incidenthub-42")
	require.Equal(t, "acknowledged", a.Status)
	require.Equal(t, "acknowledge", fake.Events()[2].Action)
	require.Nil(t, fake.Events()[2].Payload)

	inc.Status = incidenthub.IncidentResolved
	r = sync(t, c, inc, r)
	a, _ = fake.Alert("incidenthub-42")
	require.Equal(t, "resolved", a.Status)
	require.Equal(t, "resolved", r.Synced["status"])
	require.Len(t, fake.Events(), 4)

	sync(t, c, inc, r)
	require.Len(t, fake.Events(), 4, "resolved twice sends one resolve")
}

func TestAcknowledgedBeforeFirstSyncTriggersThenAcknowledges(t *testing.T) {
	t.Parallel()
	fake := pagerdutytest.New(t)
	c := newClient(t, fake)
	inc := incident()
	inc.Status = incidenthub.IncidentAcknowledged
	sync(t, c, inc, pagerduty.Remote{})
	evs := fake.Events()
	require.Len(t, evs, 2)
	require.Equal(t, "trigger", evs[0].Action)
	require.Equal(t, "acknowledge", evs[1].Action)
}

func TestResolvedBeforeFirstSyncPagesNobody(t *testing.T) {
	t.Parallel()
	fake := pagerdutytest.New(t)
	c := newClient(t, fake)
	inc := incident()
	inc.Status = incidenthub.IncidentResolved
	r := sync(t, c, inc, pagerduty.Remote{})
	require.Zero(t, fake.Requests())
	require.Equal(t, "resolved", r.Synced["status"])
	require.Empty(t, r.IDs["dedup_key"])
}

func TestLongSummaryIsTruncated(t *testing.T) {
	t.Parallel()
	fake := pagerdutytest.New(t)
	c := newClient(t, fake)
	inc := incident()
	inc.Title = strings.Repeat("é", 2000)
	sync(t, c, inc, pagerduty.Remote{})
	s := fake.Events()[0].Payload["summary"].(string)
	require.LessOrEqual(t, len([]rune(s)), 1024)
}

func TestRender(t *testing.T) {
	t.Parallel()
	fake := pagerdutytest.New(t)
	c := newClient(t, fake, func(cfg *pagerduty.Config) {
		cfg.Render = func(action string, s pagerduty.State, body map[string]any) (map[string]any, error) {
			if action == "trigger" {
				body["payload"].(map[string]any)["summary"] = fmt.Sprintf("[%s] %s", s.Incident.Environment, s.Incident.Title)
			}
			return body, nil
		}
	})
	sync(t, c, incident(), pagerduty.Remote{})
	require.Equal(t, "[prod] checkout: HighLatency", fake.Events()[0].Payload["summary"])

	bad := newClient(t, fake, func(cfg *pagerduty.Config) {
		cfg.Render = func(string, pagerduty.State, map[string]any) (map[string]any, error) { return nil, errors.New("boom") }
	})
	_, err := bad.Sync(context.Background(), pagerduty.State{Incident: incident()})
	require.ErrorContains(t, err, "render: boom")
	require.False(t, err.(classified).Retryable())
}

func TestErrors(t *testing.T) {
	t.Parallel()
	t.Run("unknown routing key is permanent and does not leak the key", func(t *testing.T) {
		t.Parallel()
		fake := pagerdutytest.New(t)
		other := "Zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz9"
		c := newClient(t, fake, func(cfg *pagerduty.Config) { cfg.RoutingKey = remote.Secret(other) })
		r, err := c.Sync(context.Background(), pagerduty.State{Incident: incident()})
		require.Error(t, err)
		var ce classified
		require.ErrorAs(t, err, &ce)
		require.False(t, ce.Retryable())
		require.Contains(t, err.Error(), "HTTP 400")
		require.Contains(t, err.Error(), "Invalid routing key")
		require.NotContains(t, err.Error(), other)
		require.Empty(t, r.IDs["dedup_key"])
	})
	t.Run("429 is retryable with Retry-After", func(t *testing.T) {
		t.Parallel()
		fake := pagerdutytest.New(t)
		fake.FailNext(http.StatusTooManyRequests, 30*time.Second)
		c := newClient(t, fake)
		_, err := c.Sync(context.Background(), pagerduty.State{Incident: incident()})
		var ce classified
		require.ErrorAs(t, err, &ce)
		require.True(t, ce.Retryable())
		require.Equal(t, 30*time.Second, ce.RetryAfter())
		require.Contains(t, err.Error(), "arriving too quickly")
		// The retry succeeds.
		_, err = c.Sync(context.Background(), pagerduty.State{Incident: incident()})
		require.NoError(t, err)
		require.Len(t, fake.Alerts(), 1)
	})
	t.Run("503 is retryable", func(t *testing.T) {
		t.Parallel()
		fake := pagerdutytest.New(t)
		fake.FailNext(http.StatusServiceUnavailable, 0)
		_, err := newClient(t, fake).Sync(context.Background(), pagerduty.State{Incident: incident()})
		var ce classified
		require.ErrorAs(t, err, &ce)
		require.True(t, ce.Retryable())
		require.Zero(t, ce.RetryAfter())
	})
	t.Run("partial progress is returned with the error", func(t *testing.T) {
		t.Parallel()
		fake := pagerdutytest.New(t)
		c := newClient(t, fake)
		inc := incident()
		inc.Status = incidenthub.IncidentAcknowledged
		fake.FailRequest(2, http.StatusBadGateway, 0) // the trigger goes through, the acknowledge fails
		r, err := c.Sync(context.Background(), pagerduty.State{Incident: inc})
		require.Error(t, err)
		require.Equal(t, "incidenthub-42", r.IDs["dedup_key"])
		require.Equal(t, "open", r.Synced["status"])
		// The retry only acknowledges.
		r = sync(t, c, inc, r)
		evs := fake.Events()
		require.Len(t, evs, 2)
		require.Equal(t, "acknowledge", evs[1].Action)
		require.Equal(t, "acknowledged", r.Synced["status"])
	})
	t.Run("connection refused is retryable", func(t *testing.T) {
		t.Parallel()
		fake := pagerdutytest.New(t)
		c := newClient(t, fake)
		fake.Close()
		_, err := c.Sync(context.Background(), pagerduty.State{Incident: incident()})
		var ce classified
		require.ErrorAs(t, err, &ce)
		require.True(t, ce.Retryable())
		require.NotContains(t, err.Error(), pagerdutytest.RoutingKey)
	})
}

func TestVerify(t *testing.T) {
	t.Parallel()
	fake := pagerdutytest.New(t)
	require.NoError(t, newClient(t, fake).Verify(context.Background()))
	require.Zero(t, fake.Requests(), "verify sends no event")
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		cfg  pagerduty.Config
		want string
	}{
		"missing key":  {pagerduty.Config{}, "routing_key: required"},
		"short key":    {pagerduty.Config{RoutingKey: "abc"}, "routing_key: must be the 32-character"},
		"bad url":      {pagerduty.Config{RoutingKey: pagerdutytest.RoutingKey, URL: "ftp://x"}, "url: must be an http(s) URL"},
		"bad severity": {pagerduty.Config{RoutingKey: pagerdutytest.RoutingKey, Severity: map[string]string{"high": "major"}}, `severity.high: "major" is not a PagerDuty severity`},
		"bad hub sev":  {pagerduty.Config{RoutingKey: pagerdutytest.RoutingKey, Severity: map[string]string{"urgent": "critical"}}, "severity.urgent: unknown hub severity"},
		"bad incident": {pagerduty.Config{RoutingKey: pagerdutytest.RoutingKey, IncidentURL: "hub/{id}"}, "incident_url: must be an http(s) URL"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg
			cfg.Defaults()
			require.ErrorContains(t, cfg.Validate(), tt.want)
			_, err := pagerduty.New(tt.cfg, http.DefaultClient)
			require.ErrorContains(t, err, tt.want)
		})
	}
	ok := pagerduty.Config{RoutingKey: pagerdutytest.RoutingKey}
	ok.Defaults()
	require.NoError(t, ok.Validate())
	require.Equal(t, pagerduty.DefaultURL, ok.URL)
	require.Equal(t, "error", ok.Severity["high"])
	_, err := pagerduty.New(ok, nil)
	require.Error(t, err)
	require.Equal(t, "<secret>", fmt.Sprint(ok.RoutingKey))
	require.NotContains(t, fmt.Sprintf("%+v %#v", ok, ok), pagerdutytest.RoutingKey)
}

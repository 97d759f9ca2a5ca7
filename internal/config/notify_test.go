package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A target's events: list names outbound event types; each wrong entry
// is reported at its own line and key. A source's list stays free text.
func TestTargetEvents(t *testing.T) {
	t.Parallel()
	yaml := `sources:
  - name: am
    kind: alertmanager
    auth: {type: none}
    events: [alert.firing, alert.resolved]
targets:
  - name: ops
    type: webhook
    url: https://hooks.example.com/ops
    events: [incident.opened, incident.resolved]
  - name: all
    type: webhook
    url: https://hooks.example.com/all
`
	cfg, err := Parse("c.yaml", []byte(yaml), env(nil))
	require.NoError(t, err)
	ops, _ := cfg.Target("ops")
	require.True(t, ops.Wants("incident.opened"))
	require.True(t, ops.Wants("incident.resolved"))
	require.False(t, ops.Wants("incident.acknowledged"))
	require.False(t, ops.Wants("incident.updated"))
	all, _ := cfg.Target("all")
	for _, ev := range OutboundEvents {
		require.True(t, all.Wants(ev), "no events: list receives %s", ev)
	}

	_, err = Parse("c.yaml", []byte(`targets:
  - name: ops
    type: webhook
    url: https://hooks.example.com/ops
    events:
      - incident.opened
      - incident.acked
      - alert.firing
      - incident.opened
`), env(nil))
	require.Error(t, err)
	require.Equal(t, `c.yaml:7:9: targets[0].events[1]: unknown event "incident.acked" (known: incident.opened, incident.updated, incident.acknowledged, incident.resolved, incident.reopened)
c.yaml:8:9: targets[0].events[2]: unknown event "alert.firing" (known: incident.opened, incident.updated, incident.acknowledged, incident.resolved, incident.reopened)
c.yaml:9:9: targets[0].events[3]: "incident.opened" is listed twice`, err.Error())
}

func TestRoutingNotifyHold(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("c.yaml", []byte("routing:\n  notify_after: 2m\n  min_alerts: 3\n"), env(nil))
	require.NoError(t, err)
	require.Equal(t, 2*time.Minute, cfg.Routing.NotifyAfter.Std())
	require.Equal(t, 3, cfg.Routing.MinAlerts)

	_, err = Parse("c.yaml", []byte("routing:\n  notify_after: -1m\n  min_alerts: -2\n"), env(nil))
	require.Error(t, err)
	require.Equal(t, `c.yaml:2:3: routing.notify_after: must not be negative (0s notifies at once)
c.yaml:3:3: routing.min_alerts: must not be negative (0 or 1 notifies on the first alert)`, err.Error())
	_, err = Parse("c.yaml", []byte("routing:\n  notify_after: soon\n"), env(nil))
	require.ErrorContains(t, err, `c.yaml:2:3: routing.notify_after: invalid duration "soon"`)
}

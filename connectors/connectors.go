// Package connectors builds outbound connectors from config: one function
// maps a target's type to its constructor.
package connectors

import (
	"context"
	"fmt"
	"net/http"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/jira"
	"github.com/incidenthub/incidenthub/connectors/pagerduty"
	"github.com/incidenthub/incidenthub/connectors/servicenow"
	"github.com/incidenthub/incidenthub/connectors/slack"
	"github.com/incidenthub/incidenthub/connectors/statuspage"
	"github.com/incidenthub/incidenthub/connectors/webhook"
	"github.com/incidenthub/incidenthub/internal/config"
)

// Notifier delivers one notification and reports whether a failure is
// worth retrying.
type Notifier interface {
	Notify(ctx context.Context, n *incidenthub.Notification) (retry bool, err error)
}

// Verifier checks a connector's credentials and settings against the
// vendor's API without side effects (as far as the API allows).
type Verifier interface {
	Verify(ctx context.Context) error
}

// EventSender sends an operational event (a registry notice) to the
// target, outside incident delivery.
type EventSender interface {
	SendEvent(ctx context.Context, ev *incidenthub.Event) error
}

var (
	_ Notifier = (*webhook.Client)(nil)
	_ Notifier = (*slack.Client)(nil)
	_ Notifier = (*jira.Client)(nil)
	_ Notifier = (*servicenow.Client)(nil)
	_ Notifier = (*statuspage.Client)(nil)
	_ Notifier = (*pagerduty.Client)(nil)

	_ Verifier = (*webhook.Client)(nil)
	_ Verifier = (*slack.Client)(nil)
	_ Verifier = (*jira.Client)(nil)
	_ Verifier = (*servicenow.Client)(nil)
	_ Verifier = (*statuspage.Client)(nil)
	_ Verifier = (*pagerduty.Client)(nil)

	_ EventSender = (*webhook.Client)(nil)
	_ EventSender = (*slack.Client)(nil)
)

// Build returns the connector for target t, sending with hc. A target's
// outbound mapping (t.Outbound), when set, renders the body it overrides.
func Build(t *config.Target, d config.Delivery, hc *http.Client) (Notifier, error) {
	missing := func() error { return fmt.Errorf("target %q: type %s needs its %s: block", t.Name, t.Type, t.Type) }
	switch t.Type {
	case config.TargetWebhook:
		c, err := webhook.New(t.WebhookConfig(), hc)
		if err == nil && t.Outbound != nil {
			c.Render = webhookRender(t)
		}
		return c, err
	case config.TargetSlack:
		return slack.New(t.SlackConfig(d), hc)
	case config.TargetJira:
		if t.Jira == nil {
			return nil, missing()
		}
		cfg := *t.Jira
		cfg.Render = mappingRender(t, nil, jira.OpCreate)
		return jira.New(cfg, hc)
	case config.TargetServiceNow:
		if t.ServiceNow == nil {
			return nil, missing()
		}
		cfg := *t.ServiceNow
		cfg.Render = mappingRender(t, nil, servicenow.OpCreate)
		return servicenow.New(cfg, hc)
	case config.TargetStatuspage:
		if t.Statuspage == nil {
			return nil, missing()
		}
		cfg := *t.Statuspage
		cfg.Render = mappingRender(t, nil, statuspage.OpCreate, statuspage.OpUpdate, statuspage.OpResolve)
		return statuspage.New(cfg, hc)
	case config.TargetPagerDuty:
		if t.PagerDuty == nil {
			return nil, missing()
		}
		cfg := *t.PagerDuty
		// The mapping shapes the page, never where it goes or which alert
		// it is.
		cfg.Render = mappingRender(t, []string{"routing_key", "event_action", "dedup_key"}, pagerduty.ActionTrigger)
		return pagerduty.New(cfg, hc)
	}
	return nil, fmt.Errorf("target %q: unknown type %q", t.Name, t.Type)
}

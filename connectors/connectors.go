// Package connectors builds outbound connectors from config: one function
// maps a target's type to its constructor.
package connectors

import (
	"context"
	"fmt"
	"net/http"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/slack"
	"github.com/incidenthub/incidenthub/connectors/webhook"
	"github.com/incidenthub/incidenthub/internal/config"
)

// Notifier delivers one notification and reports whether a failure is
// worth retrying.
type Notifier interface {
	Notify(ctx context.Context, n *incidenthub.Notification) (retry bool, err error)
}

var (
	_ Notifier = (*webhook.Client)(nil)
	_ Notifier = (*slack.Client)(nil)
)

// Build returns the connector for target t, sending with hc.
func Build(t *config.Target, d config.Delivery, hc *http.Client) (Notifier, error) {
	switch t.Type {
	case config.TargetWebhook:
		return webhook.New(t.WebhookConfig(), hc)
	case config.TargetSlack:
		return slack.New(t.SlackConfig(d), hc)
	}
	return nil, fmt.Errorf("target %q: unknown type %q", t.Name, t.Type)
}

package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/incidenthub/incidenthub"
)

// Notification delay and threshold: routing.notify_after (Alertmanager's
// group_wait) waits this long after an incident opens before its first
// notification, so a blip that resolves itself never pages; routing.
// min_alerts holds the first notification until the incident has that many
// member alerts. A rule's notify_after and min_alerts override them for the
// alerts it matches. The incident exists at once either way; only its
// outbound notification waits (internal/hold).

// OutboundEvents are the event types a target's events: list may name.
var OutboundEvents = []string{incidenthub.EventOpened, incidenthub.EventUpdated, incidenthub.EventAcknowledged,
	incidenthub.EventResolved, incidenthub.EventReopened}

// Wants reports whether the target receives event: its events: list
// names it, or the list is empty (every event).
func (t *Target) Wants(event string) bool {
	return len(t.Events) == 0 || slices.Contains(t.Events, event)
}

// validateNotify checks the notification settings: each target's events:
// list, and routing's notify_after and min_alerts.
func (c *Config) validateNotify(d *document) {
	c.validateTargetEvents(d)
	if c.Routing.NotifyAfter < 0 {
		d.at("routing.notify_after", "must not be negative (0s notifies at once)")
	}
	if c.Routing.MinAlerts < 0 {
		d.at("routing.min_alerts", "must not be negative (0 or 1 notifies on the first alert)")
	}
}

// validateTargetEvents checks that each target's events: list names
// outbound event types (a source's events: list stays free text: it
// documents what the sender sends).
func (c *Config) validateTargetEvents(d *document) {
	for i := range c.Targets {
		seen := map[string]bool{}
		for j, ev := range c.Targets[i].Events {
			key := fmt.Sprintf("targets[%d].events[%d]", i, j)
			switch {
			case !slices.Contains(OutboundEvents, ev):
				d.at(key, "unknown event %q (known: %s)", ev, strings.Join(OutboundEvents, ", "))
			case seen[ev]:
				d.at(key, "%q is listed twice", ev)
			}
			seen[ev] = true
		}
	}
}

package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/incidenthub/incidenthub"
)

// OutboundEvents are the event types a target's events: list may name.
var OutboundEvents = []string{incidenthub.EventOpened, incidenthub.EventUpdated, incidenthub.EventAcknowledged,
	incidenthub.EventResolved, incidenthub.EventReopened}

// Wants reports whether the target receives event: its events: list
// names it, or the list is empty (every event).
func (t *Target) Wants(event string) bool {
	return len(t.Events) == 0 || slices.Contains(t.Events, event)
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

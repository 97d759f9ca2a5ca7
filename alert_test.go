package incidenthub_test

import (
	"testing"
	"time"

	"github.com/incidenthub/incidenthub"
)

// TestEventTime pins which time stands for an alert's latest state change,
// the time stale and out-of-order events are judged by.
func TestEventTime(t *testing.T) {
	t.Parallel()
	start := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	end := start.Add(15 * time.Minute)
	recv := start.Add(20 * time.Minute)
	cases := []struct {
		name  string
		alert incidenthub.Alert
		want  time.Time
	}{
		{"firing", incidenthub.Alert{Status: incidenthub.AlertFiring, StartsAt: start, ReceivedAt: recv}, start},
		{"firing without a start", incidenthub.Alert{Status: incidenthub.AlertFiring, StartsAt: recv, StartsAtFrom: incidenthub.StartsAtReceived, ReceivedAt: recv}, recv},
		{"resolve with its end", incidenthub.Alert{Status: incidenthub.AlertResolved, StartsAt: start, EndsAt: &end, ReceivedAt: recv}, end},
		{"resolve with only its start", incidenthub.Alert{Status: incidenthub.AlertResolved, StartsAt: start, ReceivedAt: recv}, start},
		// The start kept from the firing is not the resolve's own time.
		{"resolve with a kept start", incidenthub.Alert{Status: incidenthub.AlertResolved, StartsAt: start, StartsAtFrom: incidenthub.StartsAtFiring, ReceivedAt: recv}, recv},
		{"resolve with a kept start and its end", incidenthub.Alert{Status: incidenthub.AlertResolved, StartsAt: start, StartsAtFrom: incidenthub.StartsAtFiring, EndsAt: &end, ReceivedAt: recv}, end},
		{"nothing but the receive time", incidenthub.Alert{Status: incidenthub.AlertFiring, ReceivedAt: recv}, recv},
	}
	for _, tc := range cases {
		if got := tc.alert.EventTime(); !got.Equal(tc.want) {
			t.Errorf("%s: EventTime() = %s, want %s", tc.name, got, tc.want)
		}
	}
}

package web

import (
	"testing"
	"time"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/hold"
	"github.com/stretchr/testify/require"
)

// TestSafeNext: the post-sign-in redirect stays inside the UI.
func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                            "/ui/",
		"/ui/incidents/12":            "/ui/incidents/12",
		"/ui/?status=open&service=db": "/ui/?status=open&service=db",
		"/ui":                         "/ui",
		"/ui/incidents/12#timeline":   "/ui/incidents/12",
		"//evil.example/ui/":          "/ui/",
		"https://evil.example/ui/":    "/ui/",
		"/\\evil.example":             "/ui/",
		"/ui/../api/v1/incidents":     "/ui/",
		"/api/v1/incidents":           "/ui/",
		"/ui/sign-in?next=/ui/":       "/ui/",
		"/uix/":                       "/ui/",
		"javascript:alert(1)":         "/ui/",
	} {
		require.Equal(t, want, safeNext(in), "safeNext(%q)", in)
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		10 * time.Second:    "just now",
		3 * time.Minute:     "3 min ago",
		89 * time.Minute:    "89 min ago",
		2 * time.Hour:       "2 hours ago",
		25 * time.Hour:      "25 hours ago",
		3 * 24 * time.Hour:  "3 days ago",
		-5 * time.Minute:    "in 5 min",
		90 * 24 * time.Hour: "31 Jan 2026",
	} {
		require.Equal(t, want, ago(now, now.Add(-d)), "%v", d)
	}
	require.Equal(t, "never", ago(now, time.Time{}))
}

// The hold and inhibit entries read as words on the incident page, not as
// raw kinds.
func TestTimelineLabelsForHolds(t *testing.T) {
	for kind, want := range map[string]string{
		hold.TimelineHeld:             "Notifications held",
		hold.TimelineReleased:         "Hold ended",
		incidenthub.TimelineInhibited: "Inhibited",
	} {
		if got := timelineLabel(kind); got != want {
			t.Errorf("timelineLabel(%q) = %q, want %q", kind, got, want)
		}
	}
}

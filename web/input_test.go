package web_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// haConfig has two sources of one kind, as an Alertmanager HA pair posting
// to two hub sources needs.
const haConfig = `
api:
  tokens:
    - {name: dashboard, token: "${VIEWER_TOKEN}", role: viewer}
    - {name: alice, token: "${OPERATOR_TOKEN}", role: operator}
sources:
  - {name: am-a, kind: alertmanager, auth: {type: none}}
  - {name: am-b, kind: alertmanager, auth: {type: none}}
`

var haEnv = map[string]string{"VIEWER_TOKEN": viewerToken, "OPERATOR_TOKEN": incidentOperatorToken}

// memberStates returns the incident's members as "source/fingerprint status".
func (h *hub) memberStates(id int64) []string {
	h.t.Helper()
	got := decode[incidentView](h.t, h.get(fmt.Sprintf("/api/v1/incidents/%d", id), viewerToken))
	out := make([]string, len(got.Alerts))
	for i, a := range got.Alerts {
		out[i] = a.Source + "/" + a.Fingerprint + " " + string(a.Status)
	}
	slices.Sort(out)
	return out
}

func (h *hub) eventStatus(id string) (status, errText string) {
	h.t.Helper()
	ev := decode[eventView](h.t, h.get("/api/v1/events/"+id, viewerToken)).Event
	return ev.Status, ev.Error
}

// The same alert (same fingerprint) posted by both members of an
// Alertmanager HA pair, each to its own hub source: both events are
// processed, the incident has one member per source, and each source's
// resolve resolves its own member.
func TestSameAlertThroughTwoSources(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newHub(t, dialect, haConfig, haEnv)
		firing, resolved := testdata(t, "alertmanager-firing.json"), testdata(t, "alertmanager-resolved.json")
		const fp = "1a30ba71cca2921f"

		a, _ := requireAccepted(t, h.post("am-a", firing))
		b, _ := requireAccepted(t, h.post("am-b", firing))
		h.drain()
		for _, id := range []string{a, b} {
			status, errText := h.eventStatus(id)
			require.Equal(t, store.EventProcessed, status, "event %s: %s", id, errText)
		}
		list := decode[struct {
			Incidents []incidenthub.Incident `json:"incidents"`
		}](t, h.get("/api/v1/incidents", viewerToken)).Incidents
		require.Len(t, list, 1, "the same alert from two sources is one incident")
		inc := list[0]
		require.Equal(t, 2, inc.AlertCount)
		require.Equal(t, []string{"am-a/" + fp + " firing", "am-b/" + fp + " firing"}, h.memberStates(inc.ID))

		// Splitting needs the source: the fingerprint alone names two alerts.
		requireError(t, h.postJSON(fmt.Sprintf("/api/v1/incidents/%d/split", inc.ID), incidentOperatorToken,
			`{"fingerprint": "`+fp+`"}`), 400, "invalid", "several sources", `"source"`)

		requireAccepted(t, h.post("am-a", resolved))
		h.drain()
		require.Equal(t, []string{"am-a/" + fp + " resolved", "am-b/" + fp + " firing"}, h.memberStates(inc.ID))
		got := decode[incidentView](t, h.get(fmt.Sprintf("/api/v1/incidents/%d", inc.ID), viewerToken)).Incident
		require.Equal(t, incidenthub.IncidentOpen, got.Status, "am-b's alert still fires")

		last, _ := requireAccepted(t, h.post("am-b", resolved))
		h.drain()
		status, errText := h.eventStatus(last)
		require.Equal(t, store.EventProcessed, status, errText)
		require.Equal(t, []string{"am-a/" + fp + " resolved", "am-b/" + fp + " resolved"}, h.memberStates(inc.ID))
		got = decode[incidentView](t, h.get(fmt.Sprintf("/api/v1/incidents/%d", inc.ID), viewerToken)).Incident
		require.Equal(t, incidenthub.IncidentResolved, got.Status)
		require.Equal(t, 0, got.FiringCount)

		n, err := h.st.CountEvents(t.Context(), store.EventProcessed)
		require.NoError(t, err)
		require.EqualValues(t, 4, n)
	})
}

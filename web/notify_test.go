package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/rules"
)

// The dry run shows a rule's notify_after and min_alerts, and its answer
// matches the OpenAPI document.
func TestRulesTestAPINotifyHold(t *testing.T) {
	t.Parallel()
	h := newRulesHub(t, store.SQLite)
	dir := filepath.Dir(h.rl.Engine().Files[0])
	require.NoError(t, os.WriteFile(filepath.Join(dir, "05-hold.yaml"), []byte(`
rules:
  - name: batch-waits
    when: 'service == "batch"'
    notify_after: 2m
    min_alerts: 3
    continue: true
`), 0o644))
	require.NoError(t, h.rl.Reload())
	v := validator{t: t, doc: loadOpenAPI(t, h.handler)}
	r := httptest.NewRequest(http.MethodPost, "/api/v1/rules/test", strings.NewReader(
		`{"source": "gen", "payload": {"fingerprint": "b1", "status": "firing", "severity": "warning", "service": "batch", "alert_type": "JobLate"}}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+viewerToken)
	rec := h.do(r)
	v.check(http.MethodPost, "/api/v1/rules/test", r, rec, http.StatusOK)
	rep := decode[rules.TestReport](t, rec)
	require.Len(t, rep.Alerts, 1)
	a := rep.Alerts[0]
	require.Equal(t, "2m0s", a.NotifyAfter)
	require.Equal(t, "rule batch-waits", a.NotifyAfterFrom)
	require.Equal(t, 3, a.MinAlerts)
	require.Equal(t, "rule batch-waits", a.MinAlertsFrom)
}

// The Rules playground shows when an alert's incident first notifies.
func TestUIPlaygroundNotifyHold(t *testing.T) {
	t.Parallel()
	a := newAdminHub(t, store.SQLite)
	dir := filepath.Dir(a.rl.Engine().Files[0])
	require.NoError(t, os.WriteFile(filepath.Join(dir, "05-hold.yaml"), []byte(`
rules:
  - name: batch-waits
    when: 'service == "batch"'
    notify_after: 2m
    min_alerts: 3
    continue: true
`), 0o644))
	require.NoError(t, a.rl.Reload())
	b := a.signedIn(t, adViewerToken)
	p := b.get("/ui/rules")
	run := b.post("/ui/rules", url.Values{"csrf": {p.csrf(t)}, "source": {"gen"},
		"payload": {`{"alerts":[{"fingerprint":"b-1","status":"firing","service":"batch","alert_type":"late","severity":"warning","title":"Job late"}]}`}})
	require.Equal(t, http.StatusOK, run.StatusCode, run.Body)
	require.Contains(t, run.Body, `<dt>First notification</dt><dd>after 2m0s <span class="muted small">from rule batch-waits</span> and once it has 3 member alerts <span class="muted small">from rule batch-waits</span>: the incident opens at once`)
	other := b.post("/ui/rules", url.Values{"csrf": {p.csrf(t)}, "source": {"gen"},
		"payload": {`{"alerts":[{"fingerprint":"w-1","status":"firing","service":"web","alert_type":"slow","severity":"warning","title":"Slow"}]}`}})
	require.Equal(t, http.StatusOK, other.StatusCode, other.Body)
	require.NotContains(t, other.Body, "First notification", "at once: nothing to say")
}

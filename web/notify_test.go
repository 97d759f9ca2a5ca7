package web_test

import (
	"net/http"
	"net/http/httptest"
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

package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/rules"
	"github.com/incidenthub/incidenthub/web"
)

const rulesConfig = `
api:
  tokens:
    - {name: dashboard, token: "${VIEWER_TOKEN}", role: viewer}
sources:
  - name: gen
    kind: generic
    auth: {type: none}
    correlation_key: 'service + "@" + environment'
routing:
  rules_dir: rules
  default: [slack-ops]
`

const rulesFile = `
rules:
  - name: drop-staging
    when: 'environment == "staging"'
    drop: true
  - name: data-team-pages
    when: 'labels.team == "data" && severity_rank >= 3 && status == "firing"'
    set: {severity: '"critical"', labels.escalated: '"yes"'}
    route: [pagerduty-data, slack-data]
silences:
  - name: search-maintenance
    when: 'service == "search"'
    starts_at: 2020-01-01T00:00:00Z
    ends_at: 2100-01-01T00:00:00Z
`

// rulesHub is a hub whose handler and processor use a Reloader over config
// and rules files, as app.Serve wires them.
type rulesHub struct {
	*hub
	rl *app.Reloader
}

func newRulesHub(t *testing.T, dialect string) *rulesHub {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "rules"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules", "10-routing.yaml"), []byte(rulesFile), 0o644))
	path := filepath.Join(dir, "hub.yaml")
	require.NoError(t, os.WriteFile(path, []byte(rulesConfig), 0o644))
	getenv := func(k string) string { return testEnv[k] }

	cfg, _, err := rules.Load(path, getenv, rules.WithTargets("slack-ops", "pagerduty-data", "slack-data"))
	require.NoError(t, err)
	h := &hub{t: t, st: storetest.Open(t, dialect), logs: &lockedBuffer{}}
	h.log = slogTo(h.logs)
	rl, err := app.NewReloader(cfg, getenv, h.log, rules.WithTargets("slack-ops", "pagerduty-data", "slack-data"))
	require.NoError(t, err)
	h.handler = web.New(web.Deps{
		Store: h.st, Config: rl.Config, Tokens: app.Tokens(cfg, getenv), Log: h.log,
		Rules: rl.Engine, ConfigStatus: rl.Status,
	})
	return &rulesHub{hub: h, rl: rl}
}

// drain processes every pending event with the rules as the router.
func (h *rulesHub) drain() {
	h.t.Helper()
	p := processor.New(h.st, h.log, 1, time.Second)
	p.Router = h.rl
	for range 100 {
		did, err := p.ProcessOne(context.Background())
		require.NoError(h.t, err)
		if !did {
			return
		}
	}
	h.t.Fatal("processor never ran out of pending events")
}

func genAlert(fp, service, env, severity string, labels map[string]string) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": "evt-" + fp, "fingerprint": fp, "status": "firing", "severity": severity,
		"service": service, "alert_type": "backup_failed", "title": "backup failed on " + service,
		"environment": env, "labels": labels,
	})
	return b
}

// Alerts posted to /hooks/{source} are routed by the rules before
// correlation: the incident records the rule's targets and enriched
// severity; a dropped alert opens nothing; a silenced one is recorded.
func TestRulesEndToEnd(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newRulesHub(t, dialect)
		paged, _ := requireAccepted(t, h.post("gen", genAlert("a1", "postgres", "prod", "high", map[string]string{"team": "data"})))
		dropped, _ := requireAccepted(t, h.post("gen", genAlert("a2", "postgres", "staging", "critical", map[string]string{"team": "data"})))
		requireAccepted(t, h.post("gen", genAlert("a3", "billing", "prod", "warning", nil)))
		requireAccepted(t, h.post("gen", genAlert("a4", "search", "prod", "critical", nil)))
		h.drain()

		ctx := context.Background()
		list, _, err := h.st.ListIncidents(ctx, store.IncidentFilter{})
		require.NoError(t, err)
		byKey := map[string]incidenthub.Incident{}
		for _, inc := range list {
			byKey[inc.CorrelationKey] = inc
		}
		require.Len(t, byKey, 3, "incidents: %+v", list)
		require.NotContains(t, byKey, "postgres@staging", "the dropped alert opened nothing")

		pg := byKey["postgres@prod"]
		require.Equal(t, []string{"pagerduty-data", "slack-data"}, pg.Targets, "routes recorded on the incident")
		require.Equal(t, incidenthub.SeverityCritical, pg.Severity, "set: severity applied before correlation")
		require.Equal(t, []string{"slack-ops"}, byKey["billing@prod"].Targets, "routing.default")
		require.Equal(t, []string{"slack-ops"}, byKey["search@prod"].Targets, "silenced, but recorded with its routes")

		ev, err := h.st.GetEvent(ctx, paged)
		require.NoError(t, err)
		require.Equal(t, store.EventProcessed, ev.Status)
		require.Equal(t, "yes", ev.Alerts.V[0].Labels["escalated"], "the event keeps the enriched alert")
		ev, err = h.st.GetEvent(ctx, dropped)
		require.NoError(t, err)
		require.Equal(t, store.EventProcessed, ev.Status, "a dropped alert's event is processed, not failed")
	})
}

func TestRulesTestAPI(t *testing.T) {
	t.Parallel()
	h := newRulesHub(t, store.SQLite)
	post := func(body, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/rules/test", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		return h.do(r)
	}
	payload := string(genAlert("x1", "postgres", "prod", "high", map[string]string{"team": "data"}))
	rec := post(`{"source": "gen", "payload": `+payload+`}`, viewerToken)
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
	rep := decode[rules.TestReport](t, rec)
	require.Equal(t, "generic", rep.Kind)
	require.Equal(t, h.rl.Engine().Version, rep.Version)
	require.Len(t, rep.Alerts, 1)
	a := rep.Alerts[0]
	require.Equal(t, incidenthub.SeverityHigh, a.Normalized.Severity)
	require.Equal(t, incidenthub.SeverityCritical, a.Alert.Severity)
	require.Equal(t, []rules.Step{
		{Rule: "drop-staging", File: a.Rules[0].File, Line: 3, Matched: false},
		{Rule: "data-team-pages", File: a.Rules[0].File, Line: 6, Matched: true},
	}, a.Rules)
	require.Equal(t, []string{"pagerduty-data", "slack-data"}, a.Targets)
	require.Equal(t, "postgres@prod", a.CorrelationKey)
	require.Equal(t, "source", a.KeyFrom)
	require.False(t, a.Silenced)

	rec = post(`{"source": "gen", "payload": `+string(genAlert("x2", "search", "prod", "info", nil))+`}`, viewerToken)
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
	rep = decode[rules.TestReport](t, rec)
	require.True(t, rep.Alerts[0].Silenced)
	require.Equal(t, "search-maintenance", rep.Alerts[0].SilencedBy)
	require.Equal(t, []string{"slack-ops"}, rep.Alerts[0].Targets)
	require.True(t, rep.Alerts[0].DefaultRoute)

	requireError(t, post(`{"source": "gen", "payload": {}}`, ""), 401, "unauthorized")
	requireError(t, post(`{"source": "nope", "payload": {}}`, viewerToken), 400, "invalid", `unknown source "nope"`, "gen")
	requireError(t, post(`{"source": "gen"}`, viewerToken), 400, "invalid", "payload")
	requireError(t, post(`{"source": "gen", "payload": {}, "extra": 1}`, viewerToken), 400, "invalid", "extra")
	requireError(t, post(`not json`, viewerToken), 400, "invalid")
	rec = post(`{"source": "gen", "payload": {"title": "no status"}}`, viewerToken)
	require.GreaterOrEqual(t, rec.Code, 400, "body: %s", rec.Body)
	require.Less(t, rec.Code, 500, "a payload that does not map is the caller's problem: %s", rec.Body)
}

func TestConfigAPIShowsReloads(t *testing.T) {
	t.Parallel()
	h := newRulesHub(t, store.SQLite)
	get := func() web.ConfigStatus {
		t.Helper()
		rec := h.get("/api/v1/config", viewerToken)
		require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
		require.NotContains(t, rec.Body.String(), viewerToken, "no secrets")
		return decode[struct {
			Config web.ConfigStatus `json:"config"`
		}](t, rec).Config
	}
	st := get()
	require.Equal(t, h.rl.Engine().Version, st.Version)
	require.Equal(t, 2, st.Rules)
	require.Equal(t, 1, st.Silences)
	require.Equal(t, 1, st.Sources)
	require.Len(t, st.RulesFiles, 1)
	require.Empty(t, st.LastReloadError)
	require.Nil(t, st.LastReloadAt)

	rulesPath := st.RulesFiles[0]
	require.NoError(t, os.WriteFile(rulesPath, []byte("rules:\n  - name: x\n    when: 'servce == 1'\n"), 0o644))
	require.Error(t, h.rl.Reload())
	bad := get()
	require.Equal(t, st.Version, bad.Version, "the last good config keeps running")
	require.Contains(t, bad.LastReloadError, "10-routing.yaml:3:5: rules[0].when: unknown name servce")
	require.NotNil(t, bad.LastReloadAt)
	requireError(t, h.get("/api/v1/config", ""), 401, "unauthorized")
}

func slogTo(w *lockedBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// The dry run names the open incident that inhibits an alert, as
// processing would decide now, and its answer matches the OpenAPI document.
func TestRulesTestAPIInhibit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newRulesHub(t, dialect)
		dir := filepath.Dir(h.rl.Engine().Files[0])
		require.NoError(t, os.WriteFile(filepath.Join(dir, "20-inhibit.yaml"), []byte(`
inhibit_rules:
  - name: cluster-down
    source_match: {alert_type: ClusterDown}
    target_match: ['alert_type!="ClusterDown"']
    equal: [cluster]
`), 0o644))
		require.NoError(t, h.rl.Reload())
		parent, _ := json.Marshal(map[string]any{"fingerprint": "p1", "status": "firing", "severity": "critical", "service": "k8s",
			"alert_type": "ClusterDown", "environment": "prod", "labels": map[string]string{"cluster": "eu-1"}})
		requireAccepted(t, h.post("gen", parent))
		h.drain()
		list, _, err := h.st.ListIncidents(context.Background(), store.IncidentFilter{})
		require.NoError(t, err)
		require.Len(t, list, 1)

		v := validator{t: t, doc: loadOpenAPI(t, h.handler)}
		ask := func(cluster string) rules.AlertReport {
			child, _ := json.Marshal(map[string]any{"fingerprint": "c1", "status": "firing", "severity": "warning", "service": "api",
				"alert_type": "PodCrash", "environment": "prod", "labels": map[string]string{"cluster": cluster}})
			r := httptest.NewRequest(http.MethodPost, "/api/v1/rules/test", strings.NewReader(`{"source": "gen", "payload": `+string(child)+`}`))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer "+viewerToken)
			rec := h.do(r)
			v.check(http.MethodPost, "/api/v1/rules/test", r, rec, http.StatusOK)
			rep := decode[rules.TestReport](t, rec)
			require.Len(t, rep.Alerts, 1)
			return rep.Alerts[0]
		}
		a := ask("eu-1")
		require.True(t, a.Inhibited)
		require.Equal(t, fmt.Sprintf("incident #%d (rule cluster-down)", list[0].ID), a.InhibitedBy)
		require.Equal(t, list[0].ID, a.Inhibits[0].InhibitedByIncident)
		a = ask("us-1")
		require.False(t, a.Inhibited, "equal: [cluster] differs")
		require.Equal(t, "target", a.Inhibits[0].Side)
	})
}

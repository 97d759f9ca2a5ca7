package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/jira/jiratest"
	"github.com/incidenthub/incidenthub/connectors/pagerduty/pagerdutytest"
	"github.com/incidenthub/incidenthub/connectors/servicenow/servicenowtest"
	"github.com/incidenthub/incidenthub/connectors/statuspage/statuspagetest"
	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

const connectorsConfig = `
database: %s
ingest: {poll_interval: 50ms}
api:
  tokens:
    - {name: oncall, token: op-token-7f3a, role: operator}
sources:
  - {name: mon, kind: generic, auth: {type: token, token: src-token-91bd}}
routing:
  default: [tickets, snow, status, pager]
targets:
  - name: tickets
    type: jira
    jira: {base_url: %q, email: %s, api_token: "${JIRA_TOKEN}", project: %s}
    allow_private_network: true
    retry: {schedule: [100ms], jitter: 0}
  - name: snow
    type: servicenow
    servicenow: {instance_url: %q, username: %s, password: "${SNOW_PASSWORD}", assignment_group: 8a5055c9c61122780043563ef53438e3}
    allow_private_network: true
    retry: {schedule: [100ms], jitter: 0}
  - name: status
    type: statuspage
    statuspage:
      base_url: %q
      api_key: "${STATUSPAGE_KEY}"
      page_id: %s
      requests_per_minute: 600
      services:
        checkout: {name: Checkout, components: [%s]}
    allow_private_network: true
    retry: {schedule: [100ms], jitter: 0}
  - name: pager
    type: pagerduty
    pagerduty: {routing_key: "${PD_ROUTING_KEY}", url: %q}
    allow_private_network: true
    retry: {schedule: [100ms], jitter: 0}
  - name: badjira
    type: jira
    jira: {base_url: %q, email: %s, api_token: "${JIRA_WRONG_TOKEN}", project: %s}
    allow_private_network: true
  - name: hook
    type: webhook
    url: %s/ok
    secrets: [%s]
    allow_private_network: true
  - name: badhook
    type: webhook
    url: %s/fail
    allow_private_network: true
`

// hookSecret signs the e2e webhook targets' events.
const hookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// TestConnectorsEndToEnd runs the hub (app.Serve: real store, processor
// and delivery engine) against the four vendor fakes: a storm of alerts for
// one service opens exactly one Jira issue, one ServiceNow incident, one
// Statuspage incident with its component degraded and one PagerDuty
// alert; resolving it closes, resolves, restores and resolves them; the
// remote ids show on the incident in the API, and no secret shows in the
// API or the attempt log.
func TestConnectorsEndToEnd(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		jf, sf, spf, pdf := jiratest.New(t), servicenowtest.New(t), statuspagetest.New(t), pagerdutytest.New(t)
		secrets := map[string]string{"JIRA_TOKEN": jiratest.APIToken, "SNOW_PASSWORD": servicenowtest.Password,
			"STATUSPAGE_KEY": statuspagetest.APIKey, "PD_ROUTING_KEY": pagerdutytest.RoutingKey, "JIRA_WRONG_TOKEN": "wrong-jira-token-5521"}
		getenv := func(k string) string { return secrets[k] }
		// The webhook receiver: /ok checks the Standard Webhooks signature
		// and answers 204; /fail answers 500.
		swh, err := standardwebhooks.NewWebhook(hookSecret)
		require.NoError(t, err)
		var hookEvents atomic.Int32
		hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if r.URL.Path == "/fail" {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			if err := swh.Verify(b, r.Header); err != nil || !strings.Contains(string(b), `"type":"registry.verify"`) {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			hookEvents.Add(1)
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(hooks.Close)

		dir := t.TempDir()
		db := fmt.Sprintf("{path: %q}", filepath.Join(dir, "hub.db"))
		if dialect == store.Postgres {
			db = fmt.Sprintf("{url: %q}", storetest.PostgresURL(t))
		}
		file := filepath.Join(dir, "hub.yaml")
		require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(connectorsConfig, db,
			jf.URL, jiratest.Email, jiratest.Project,
			sf.URL, servicenowtest.Username,
			spf.URL, statuspagetest.PageID, statuspagetest.ComponentCheckout,
			pdf.EnqueueURL(), jf.URL, jiratest.Email, jiratest.Project, hooks.URL, hookSecret, hooks.URL)), 0o644))
		cfg, err := config.Load(file, getenv)
		require.NoError(t, err)

		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() {
			served <- app.Serve(ctx, cfg, getenv, slog.New(slog.NewTextHandler(io.Discard, nil)), ln, nil)
		}()
		t.Cleanup(func() {
			cancel()
			require.NoError(t, <-served)
		})
		base := "http://" + ln.Addr().String()

		call := func(method, path, token string, body any) (int, []byte) {
			t.Helper()
			var rd io.Reader
			if body != nil {
				b, err := json.Marshal(body)
				require.NoError(t, err)
				rd = bytes.NewReader(b)
			}
			req, err := http.NewRequest(method, base+path, rd)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			out, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			return resp.StatusCode, out
		}
		// storm sends n alerts for checkout, in batches, all with status.
		const n = 60
		storm := func(status string) {
			for batch := 0; batch < n; batch += 20 {
				var alerts []map[string]any
				for i := batch; i < batch+20; i++ {
					alerts = append(alerts, map[string]any{"fingerprint": fmt.Sprintf("fp-%d", i), "status": status,
						"severity": "warning", "service": "checkout", "alert_type": "HighLatency",
						"title": "Checkout latency above SLO", "host": fmt.Sprintf("web-%d", i)})
				}
				code, body := call(http.MethodPost, "/hooks/mon", "src-token-91bd",
					map[string]any{"id": fmt.Sprintf("%s-%d", status, batch), "alerts": alerts})
				require.Equal(t, http.StatusAccepted, code, "%s", body)
			}
		}

		storm("firing")
		require.Eventually(t, func() bool {
			return len(jf.Issues()) == 1 && len(sf.Incidents()) == 1 && len(spf.Incidents()) == 1 && len(pdf.Alerts()) == 1 &&
				spf.Components()[statuspagetest.ComponentCheckout] == "degraded_performance"
		}, 30*time.Second, 50*time.Millisecond, "one object per vendor, the component degraded")

		storm("resolved")
		require.Eventually(t, func() bool {
			issues, recs, pages, pages2 := jf.Issues(), sf.Incidents(), spf.Incidents(), pdf.Alerts()
			return issues[0].Status == "Done" && fmt.Sprint(recs[0].Fields["state"]) == "6" &&
				pages[0].Status == "resolved" && spf.Components()[statuspagetest.ComponentCheckout] == "operational" &&
				pages2[0].Status == "resolved"
		}, 30*time.Second, 50*time.Millisecond, "each closed, resolved, operational")
		time.Sleep(300 * time.Millisecond) // a late duplicate would show now
		require.Len(t, jf.Issues(), 1)
		require.Len(t, sf.Incidents(), 1)
		require.Len(t, spf.Incidents(), 1)
		require.Len(t, pdf.Alerts(), 1)
		issue, rec, page, alert := jf.Issues()[0], sf.Incidents()[0], spf.Incidents()[0], pdf.Alerts()[0]
		require.Equal(t, []string{"Done"}, issue.Transitions, "the issue was moved to Done once")
		require.Equal(t, "Solution provided", rec.Fields["close_code"])
		require.NotEmpty(t, rec.Fields["close_notes"])
		require.Equal(t, "resolved", page.Status)
		require.Equal(t, "resolved", alert.Status)
		require.Equal(t, 1, alert.Triggers, "one PagerDuty trigger")

		// The incident, resolved, with each target's remote ids.
		code, body := call(http.MethodGet, "/api/v1/incidents?service=checkout", "op-token-7f3a", nil)
		require.Equal(t, http.StatusOK, code, "%s", body)
		var list struct{ Incidents []incidenthub.Incident }
		require.NoError(t, json.Unmarshal(body, &list))
		require.Len(t, list.Incidents, 1, "the storm is one incident")
		inc := list.Incidents[0]
		require.Equal(t, incidenthub.IncidentResolved, inc.Status)
		require.Equal(t, n, inc.AlertCount)

		var got struct {
			Targets []incidenthub.TargetSync `json:"targets"`
		}
		require.Eventually(t, func() bool { // the last attempt's outcome is recorded after the fake answered
			code, body = call(http.MethodGet, fmt.Sprintf("/api/v1/incidents/%d", inc.ID), "op-token-7f3a", nil)
			require.Equal(t, http.StatusOK, code, "%s", body)
			require.NoError(t, json.Unmarshal(body, &got))
			for _, tg := range got.Targets {
				if tg.LastStatus != incidenthub.DeliveryDelivered {
					return false
				}
			}
			return len(got.Targets) == 4
		}, 10*time.Second, 50*time.Millisecond)
		byName := map[string]incidenthub.TargetSync{}
		for _, tg := range got.Targets {
			byName[tg.Target] = tg
		}
		require.Equal(t, "jira", byName["tickets"].Type)
		require.Equal(t, map[string]string{"issue_key": issue.Key, "issue_id": issue.ID}, byName["tickets"].Refs)
		require.Equal(t, jf.URL+"/browse/"+issue.Key, byName["tickets"].URL)
		require.Equal(t, "servicenow", byName["snow"].Type)
		require.Equal(t, map[string]string{"sys_id": rec.SysID, "number": rec.Number}, byName["snow"].Refs)
		require.Equal(t, "statuspage", byName["status"].Type)
		require.Equal(t, page.ID, byName["status"].Refs["incident_id"])
		require.Equal(t, page.Shortlink, byName["status"].URL)
		require.Equal(t, "pagerduty", byName["pager"].Type)
		require.Equal(t, map[string]string{"dedup_key": alert.DedupKey}, byName["pager"].Refs)
		require.Equal(t, fmt.Sprintf("incidenthub-%d", inc.ID), alert.DedupKey)

		// verify checks each target's credentials without side effects.
		for _, name := range []string{"tickets", "snow", "status", "pager"} {
			code, body = call(http.MethodPost, "/api/v1/targets/"+name+"/verify", "op-token-7f3a", nil)
			require.Equal(t, http.StatusOK, code, "%s", body)
			require.JSONEq(t, fmt.Sprintf(`{"target":%q,"ok":true}`, name), string(body))
		}
		code, body = call(http.MethodPost, "/api/v1/targets/badjira/verify", "op-token-7f3a", nil)
		require.Equal(t, http.StatusOK, code, "%s", body)
		var vr struct {
			OK    bool
			Error string
		}
		require.NoError(t, json.Unmarshal(body, &vr))
		require.False(t, vr.OK)
		require.Contains(t, vr.Error, "jira: verify credentials: HTTP 401")
		require.NotContains(t, vr.Error, "wrong-jira-token-5521")
		// The registry's verify of an outbound target runs the same check
		// and records it on the entry.
		var rv struct {
			Entry struct {
				LastVerifiedAt  *time.Time `json:"last_verified_at"`
				LastVerifyError string     `json:"last_verify_error"`
			} `json:"entry"`
			Verification struct {
				OK    bool   `json:"ok"`
				Error string `json:"error"`
			} `json:"verification"`
		}
		code, body = call(http.MethodPost, "/api/v1/registry/tickets/verify?direction=outbound", "op-token-7f3a", nil)
		require.Equal(t, http.StatusOK, code, "%s", body)
		require.NoError(t, json.Unmarshal(body, &rv))
		require.True(t, rv.Verification.OK, "%s", body)
		require.NotNil(t, rv.Entry.LastVerifiedAt)
		code, body = call(http.MethodPost, "/api/v1/registry/badjira/verify?direction=outbound", "op-token-7f3a", nil)
		require.Equal(t, http.StatusOK, code, "%s", body)
		require.NoError(t, json.Unmarshal(body, &rv))
		require.False(t, rv.Verification.OK)
		require.Contains(t, rv.Verification.Error, "HTTP 401")
		require.NotContains(t, string(body), "wrong-jira-token-5521")
		// A webhook verifies with a signed registry.verify event (the
		// scheduler sent one at start too).
		sent := hookEvents.Load()
		code, body = call(http.MethodPost, "/api/v1/targets/hook/verify", "op-token-7f3a", nil)
		require.Equal(t, http.StatusOK, code, "%s", body)
		require.JSONEq(t, `{"target":"hook","ok":true}`, string(body))
		require.Equal(t, sent+1, hookEvents.Load(), "the receiver checked the signature of one more registry.verify event")
		code, body = call(http.MethodPost, "/api/v1/registry/hook/verify?direction=outbound", "op-token-7f3a", nil)
		require.Equal(t, http.StatusOK, code, "%s", body)
		require.NoError(t, json.Unmarshal(body, &rv))
		require.True(t, rv.Verification.OK, "%s", body)
		require.NotNil(t, rv.Entry.LastVerifiedAt)
		code, body = call(http.MethodPost, "/api/v1/targets/badhook/verify", "op-token-7f3a", nil)
		require.Equal(t, http.StatusOK, code, "%s", body)
		require.NoError(t, json.Unmarshal(body, &vr))
		require.False(t, vr.OK)
		require.Contains(t, vr.Error, "500 Internal Server Error")
		code, _ = call(http.MethodPost, "/api/v1/targets/nope/verify", "op-token-7f3a", nil)
		require.Equal(t, http.StatusNotFound, code)
		require.Len(t, jf.Issues(), 1)
		require.Len(t, pdf.Events(), 2, "one trigger, one resolve; verify sent no event")

		// No secret in the API or the attempt log.
		seen := strings.Builder{}
		seen.Write(body)
		code, body = call(http.MethodGet, fmt.Sprintf("/api/v1/deliveries?incident=%d&limit=500", inc.ID), "op-token-7f3a", nil)
		require.Equal(t, http.StatusOK, code, "%s", body)
		seen.Write(body)
		var dl struct{ Deliveries []incidenthub.Delivery }
		require.NoError(t, json.Unmarshal(body, &dl))
		require.NotEmpty(t, dl.Deliveries)
		for _, d := range dl.Deliveries {
			require.Equal(t, incidenthub.DeliveryDelivered, d.Status, "%+v", d)
			_, b := call(http.MethodGet, fmt.Sprintf("/api/v1/deliveries/%d", d.ID), "op-token-7f3a", nil)
			seen.Write(b)
		}
		_, b := call(http.MethodGet, "/api/v1/config", "op-token-7f3a", nil)
		seen.Write(b)
		_, b = call(http.MethodGet, fmt.Sprintf("/api/v1/incidents/%d", inc.ID), "op-token-7f3a", nil)
		seen.Write(b)
		require.Contains(t, seen.String(), "routing_key", "the attempt log shows the PagerDuty body")
		for name, s := range secrets {
			require.NotContains(t, seen.String(), s, "secret %s leaked", name)
		}
	})
}

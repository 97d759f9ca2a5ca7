package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/slack"
	"github.com/incidenthub/incidenthub/connectors/slack/slackfake"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

const (
	e2eSlackToken   = "xoxb-e2e-slack-7c1d"
	e2eSlackSecret  = "e2e0signing0secret0b7f3a9c2d41e8"
	e2eSlackChannel = "C0ONCALL"
)

const slackE2EConfig = `database:
  %s
ingest: {poll_interval: 50ms}
sources:
  - {name: mon, kind: generic, auth: {type: token, token: "${INCIDENTHUB_SOURCE_TOKEN}"}}
routing:
  default: [oncall]
targets:
  - name: oncall
    type: slack
    token: %s
    channel: %s
    api_url: %s
    allow_private_network: true
    retry: {schedule: [100ms], jitter: 0}
slack:
  signing_secret: %s
  users:
    - {id: U0ALICE01, name: alice, role: operator}
`

// TestSlackEndToEnd runs whole hubs (app.Serve) against the fake Slack: an
// alert's message carries the buttons; a double click on Acknowledge, the
// two clicks landing on different replicas of one PostgreSQL (one hub on
// SQLite), acknowledges the incident once, both clicks are answered within
// Slack's 3 seconds, the message updates in place (chat.update) to say who
// acknowledged, the thread hears it once, and the second clicker alone is
// told the incident was already acknowledged. Then Silence 1h: the
// severity raise of the alert that joins afterwards notifies nobody.
func TestSlackEndToEnd(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		fake := slackfake.New(e2eSlackToken)
		t.Cleanup(fake.Close)
		db := fmt.Sprintf("path: %q", filepath.Join(t.TempDir(), "hub.db"))
		if dialect == store.Postgres {
			db = fmt.Sprintf("url: %q", storetest.PostgresURL(t))
		}
		yaml := fmt.Sprintf(slackE2EConfig, db, e2eSlackToken, e2eSlackChannel, fake.APIURL(), e2eSlackSecret)
		replicas := []string{serveConfig(t, yaml)}
		if dialect == store.Postgres {
			replicas = append(replicas, serveConfig(t, yaml))
		}
		for _, base := range replicas { // migrated and serving: Slack's 3 s count from here
			require.Eventually(t, func() bool {
				resp, err := http.Get(base + "/readyz")
				if err != nil {
					return false
				}
				resp.Body.Close()
				return resp.StatusCode == http.StatusOK
			}, 60*time.Second, 50*time.Millisecond)
		}

		postAlert(t, replicas[0], `{"fingerprint": "fp-e2e", "status": "firing", "severity": "high", "service": "checkout", "alert_type": "latency", "title": "Checkout down"}`)

		var msg slackfake.Message
		require.Eventually(t, func() bool {
			top := fake.TopLevel()
			if len(top) != 1 {
				return false
			}
			msg = top[0]
			return true
		}, 30*time.Second, 20*time.Millisecond, "the incident's message")
		require.Equal(t, e2eSlackChannel, msg.Channel)

		// The double click: at once, on different replicas.
		var wg sync.WaitGroup
		answers := make([]*slackfake.Answer, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i], errs[i] = fake.Click(replicas[i%len(replicas)]+"/slack/interactions", e2eSlackSecret,
					slackfake.User{ID: "U0ALICE01", Name: "alice.s"}, msg, slack.ActionAcknowledge)
			}()
		}
		wg.Wait()
		for i := range 2 {
			require.NoError(t, errs[i], "answered within 3 s")
			require.Equal(t, http.StatusOK, answers[i].Status, "%s", answers[i].Body)
			require.Empty(t, answers[i].Body)
		}

		// The message says who acknowledged it, in place; the thread once.
		require.Eventually(t, func() bool {
			m, _ := fake.Message(msg.TS)
			return strings.Contains(fmt.Sprint(m.Blocks), "Acknowledged by <@U0ALICE01>")
		}, 30*time.Second, 20*time.Millisecond, "chat.update with the acknowledgement")
		updated, _ := fake.Message(msg.TS)
		require.NotContains(t, fmt.Sprint(updated.Blocks), slack.ActionAcknowledge, "no Acknowledge button any more")
		require.Contains(t, fmt.Sprint(updated.Blocks), slack.ActionResolve)
		require.Eventually(t, func() bool { return len(fake.Replies(msg.TS)) >= 1 }, 30*time.Second, 20*time.Millisecond)
		// The losing click hears on its response_url, after its 200.
		require.Eventually(t, func() bool { return len(fake.Responses()) >= 1 }, 10*time.Second, 20*time.Millisecond)

		time.Sleep(500 * time.Millisecond) // a second sync (or answer) would show now
		rs := fake.Responses()
		require.Len(t, rs, 1, "the losing click alone hears of it")
		require.Equal(t, "ephemeral", rs[0].ResponseType)
		require.Contains(t, rs[0].Text, "is already acknowledged (by slack:U0ALICE01 (alice)")
		require.Len(t, fake.TopLevel(), 1, "one message")
		replies := fake.Replies(msg.TS)
		require.Len(t, replies, 1, "acknowledged once")
		require.Equal(t, ":eyes: Acknowledged by <@U0ALICE01>.", replies[0].Text)
		updates := 0
		for _, c := range fake.Calls() {
			if c.Method == "chat.update" && c.TS == msg.TS {
				updates++
			}
		}
		require.Equal(t, 1, updates, "one chat.update for the one change")

		// Silence 1h, clicked on the last replica: the critical alert that
		// joins next (processed on any replica; a severity raise notifies at
		// once when nothing holds it) notifies nobody.
		requireSilenced := func() {
			t.Helper()
			a, err := fake.Click(replicas[len(replicas)-1]+"/slack/interactions", e2eSlackSecret,
				slackfake.User{ID: "U0ALICE01", Name: "alice.s"}, updated, slack.ActionSilence)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, a.Status)
			require.Eventually(t, func() bool { return len(fake.Responses()) == 2 }, 10*time.Second, 20*time.Millisecond)
			require.Contains(t, fake.Responses()[1].Text, "Silenced incident #")
		}
		requireSilenced()
		calls := len(fake.Calls())
		postAlert(t, replicas[0], `{"fingerprint": "fp-e2e-2", "status": "firing", "severity": "critical", "service": "checkout", "alert_type": "latency", "title": "Checkout down"}`)
		require.Eventually(t, func() bool {
			var list struct {
				Incidents []incidenthub.Incident `json:"incidents"`
			}
			getJSON(t, replicas[0]+"/api/v1/incidents", &list)
			return len(list.Incidents) == 1 && list.Incidents[0].AlertCount == 2 && list.Incidents[0].Severity == incidenthub.SeverityCritical
		}, 30*time.Second, 50*time.Millisecond, "the second alert joins and raises the severity")
		time.Sleep(2 * time.Second) // the raise would be out by now
		require.Len(t, fake.Calls(), calls, "the silenced join notifies nobody")

		// The hub agrees, on every replica.
		for _, base := range replicas {
			var list struct {
				Incidents []incidenthub.Incident `json:"incidents"`
			}
			getJSON(t, base+"/api/v1/incidents", &list)
			require.Len(t, list.Incidents, 1)
			inc := list.Incidents[0]
			require.Equal(t, incidenthub.IncidentAcknowledged, inc.Status)
			require.Equal(t, "slack:U0ALICE01 (alice)", inc.AcknowledgedBy)
			var tl struct {
				Timeline []incidenthub.TimelineEntry `json:"timeline"`
			}
			getJSON(t, fmt.Sprintf("%s/api/v1/incidents/%d/timeline", base, inc.ID), &tl)
			acks := 0
			for _, e := range tl.Timeline {
				if e.Kind == incidenthub.TimelineAcknowledged {
					acks++
					require.Equal(t, "slack:U0ALICE01 (alice)", e.Actor)
				}
			}
			require.Equal(t, 1, acks)
		}
	})
}

func postAlert(t *testing.T, base, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/hooks/mon", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+sourceToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	require.NoError(t, json.NewDecoder(bytes.NewReader(b)).Decode(v))
}

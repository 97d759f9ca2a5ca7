//go:build unix

package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/connectors/slack"
	"github.com/incidenthub/incidenthub/connectors/slack/slackfake"
	"github.com/incidenthub/incidenthub/internal/store"
)

const crashSlackToken = "xoxb-crash-test-5e1f"

// A hub killed with SIGKILL after Slack stored the incident's message but
// before the hub saved its ts does not post the message again when it
// restarts: the retry finds the message by its metadata in
// conversations.history, adopts its ts, and later changes update it.
func TestSlackNoDoublePostAfterKill(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbTarget) {
		fake := slackfake.New(crashSlackToken)
		t.Cleanup(fake.Close)
		stored := make(chan slackfake.Message, 1)
		release := make(chan struct{})
		t.Cleanup(func() { close(release) }) // before fake.Close: unblock the held answer
		var held atomic.Bool
		fake.AfterStore = func(c slackfake.Call, m slackfake.Message) slackfake.Answering {
			if c.Method == "chat.postMessage" && c.ThreadTS == "" && held.CompareAndSwap(false, true) {
				stored <- m // the first one: hold the answer until the hub is dead
				<-release
				return slackfake.DropAnswer
			}
			return slackfake.SendAnswer
		}

		var b strings.Builder
		if db.path != "" {
			fmt.Fprintf(&b, "database:\n  path: %q\n", db.path)
		}
		fmt.Fprintf(&b, `ingest: {poll_interval: 100ms}
sources:
  - {name: generic, kind: generic, auth: {type: token, token: "${INCIDENTHUB_SOURCE_TOKEN}"}}
routing:
  default: [chat]
targets:
  - name: chat
    type: slack
    token: %s
    channel: C0ONCALL
    api_url: %s
    allow_private_network: true
    timeout: 30s
    update_interval: 0s
    retry: {schedule: [100ms], jitter: 0}
`, crashSlackToken, fake.APIURL())
		cfg := filepath.Join(t.TempDir(), "incidenthub.yaml")
		require.NoError(t, os.WriteFile(cfg, []byte(b.String()), 0o600))

		alert := func(h *hub, fp string) {
			body := fmt.Sprintf(`{"fingerprint": %q, "status": "firing", "severity": "high", "service": "checkout", "alert_type": "latency", "title": "Checkout down"}`, fp)
			code, _, err := post(http.DefaultClient, h, "generic", body)
			require.NoError(t, err)
			require.Equal(t, http.StatusAccepted, code)
		}

		first := startHub(t, cfg, db.url)
		alert(first, "fp-crash-1")
		var msg slackfake.Message
		select {
		case msg = <-stored:
		case <-time.After(pollTimeout):
			t.Fatalf("no chat.postMessage within %s:\n%s", pollTimeout, first.output.String())
		}
		first.kill(t) // Slack has the message; the hub never read its ts
		require.Equal(t, slack.MetadataEventType, msg.Metadata["event_type"])
		payload, _ := msg.Metadata["event_payload"].(map[string]any)
		incident := fmt.Sprint(payload["incident_id"])
		require.NotEqual(t, "<nil>", incident)

		// The dead hub's lease on the (incident, target) pair would run
		// out after 3×timeout+30s; move it into the past rather than wait.
		st, err := store.Open(context.Background(), store.Options{URL: db.url, Path: db.path})
		require.NoError(t, err)
		var syncs []store.DeliverySync
		require.NoError(t, st.DB.Find(&syncs).Error)
		require.Len(t, syncs, 1)
		require.NotNil(t, syncs[0].SendingDeliveryID, "the attempt was marked in flight before the send")
		require.Empty(t, syncs[0].Ref.V[slack.RefTS], "the ts was never saved")
		require.NoError(t, st.DB.Model(&store.DeliverySync{}).Where("id = ?", syncs[0].ID).
			Update("lease_until", time.Now().UTC().Add(-time.Minute)).Error)
		require.NoError(t, st.Close())

		second := startHub(t, cfg, db.url)
		alert(second, "fp-crash-2") // joins the incident
		eventually(t, "the second alert to join", func() bool {
			var inc struct {
				AlertCount int `json:"alert_count"`
			}
			return apiGet(t, second, "/api/v1/incidents/"+incident, &struct {
				Incident any `json:"incident"`
			}{&inc}) == http.StatusOK && inc.AlertCount == 2
		})
		// A person's change: delivered after the interrupted opening.
		req, err := http.NewRequest(http.MethodPost, second.URL+"/api/v1/incidents/"+incident+"/acknowledge", strings.NewReader(`{"note": "on it"}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+apiToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("Slack calls: %+v\nhistory calls: %v", fake.Calls(), fake.HistoryCalls())
			}
		})
		var top []slackfake.Message
		eventually(t, "a message to show the acknowledgement", func() bool {
			top = fake.TopLevel()
			for _, m := range top {
				if strings.Contains(m.Text, "acknowledged") && len(fake.Replies(m.TS)) == 1 {
					return true
				}
			}
			return false
		})
		require.Len(t, top, 1, "one message for the incident")
		require.Equal(t, msg.TS, top[0].TS)
		require.Contains(t, fmt.Sprint(top[0].Blocks), "2 firing of 2")
		posts := 0
		for _, c := range fake.Calls() {
			if c.Method == "chat.postMessage" && c.ThreadTS == "" {
				posts++
			}
		}
		require.Equal(t, 1, posts, "chat.postMessage once")
		require.NotEmpty(t, fake.HistoryCalls(), "the restarted hub looked the message up")
		for _, c := range fake.Calls() {
			if c.Method == "chat.update" {
				require.Equal(t, msg.TS, c.TS, "updates go to the adopted message")
			}
		}

		var list struct {
			Deliveries []struct {
				Event    string `json:"event"`
				Status   string `json:"status"`
				Attempts int    `json:"attempts"`
			} `json:"deliveries"`
		}
		require.Equal(t, http.StatusOK, apiGet(t, second, "/api/v1/deliveries?target=chat", &list))
		require.NotEmpty(t, list.Deliveries)
		for _, d := range list.Deliveries {
			require.Equal(t, "delivered", d.Status, "%+v", list.Deliveries)
		}
	})
}

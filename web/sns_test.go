package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/sns"
	"github.com/incidenthub/incidenthub/internal/sns/snstest"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/web"
)

const snsConfig = `
api:
  tokens:
    - {name: dashboard, token: "${VIEWER_TOKEN}", role: viewer}
sources:
  - name: aws
    kind: amazon-sns-cloudwatch
    auth: {type: sns}
    sns:
      auto_confirm: true
      topic_arns: ["` + snstest.Topic + `"]
  - name: aws-any
    kind: amazon-sns-cloudwatch
    auth: {type: sns}
`

const snsAlarm = `{"AlarmName":"checkout-cpu-high-i-0abc","NewStateValue":"ALARM","StateChangeTime":"2024-05-01T10:00:12.345+0000","AlarmArn":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-cpu-high-i-0abc","Trigger":{"MetricName":"CPUUtilization","Namespace":"AWS/EC2","Dimensions":[{"name":"InstanceId","value":"i-0abc"}]}}`

type snsEventView struct {
	Event struct {
		Status string `json:"status"`
		Note   string `json:"note"`
		Error  string `json:"error"`
		Alerts []struct {
			AlertType string `json:"alert_type"`
			Host      string `json:"host"`
		} `json:"alerts"`
	} `json:"event"`
}

// TestSNSIngest: a source with auth type sns accepts what SNS signed and
// refuses the rest with a 401 (or a 403 for another topic), dedups SNS's
// retries by MessageId, and its subscription confirmation is stored, then
// confirmed by the processor and shown with a note.
func TestSNSIngest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		srv := snstest.NewServer(t)
		getenv := func(k string) string { return testEnv[k] }
		cfg, err := config.Parse("sns.yaml", []byte(snsConfig), getenv)
		require.NoError(t, err)
		h := &hub{t: t, st: storetest.Open(t, dialect), logs: &lockedBuffer{}}
		h.log = slog.New(slog.NewTextHandler(h.logs, nil))
		h.handler = web.New(web.Deps{
			Store: h.st, Config: func() *config.Config { return cfg }, Tokens: app.Tokens(cfg, getenv), Log: h.log,
			SNS: sns.NewVerifier(sns.Options{Client: srv.Client()}),
		})
		post := func(source string, m *sns.Message) *httptest.ResponseRecorder {
			return h.post(source, snstest.Body(m), "Content-Type", "text/plain; charset=UTF-8", "x-amz-sns-message-type", m.Type)
		}
		now := time.Now()

		// The subscription confirmation: stored pending, confirmed when
		// processed, and shown with its note.
		conf := snstest.Confirmation(sns.TypeSubscriptionConfirmation, "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", now)
		snstest.Sign(conf, srv.Good, "1")
		confID, dup := requireAccepted(t, post("aws", conf))
		require.False(t, dup)
		ev := decode[snsEventView](t, h.get("/api/v1/events/"+confID, viewerToken)).Event
		require.Equal(t, "pending", ev.Status)
		require.Empty(t, srv.Confirms(), "nothing is fetched in the request path")

		p := processor.New(h.st, h.log, 1, time.Second)
		p.SNS = app.SNSSubscriptions(func() *config.Config { return cfg })
		p.SNS.Client = srv.Client()
		for {
			did, err := p.ProcessOne(context.Background())
			require.NoError(t, err)
			if !did {
				break
			}
		}
		ev = decode[snsEventView](t, h.get("/api/v1/events/"+confID, viewerToken)).Event
		require.Equal(t, "processed", ev.Status)
		require.Equal(t, "SNS subscription confirmation for topic "+snstest.Topic+"; confirmed: subscription "+snstest.Topic+":4a9c1f7e-2b3d-4e5f-8a6b-7c8d9e0f1a2b", ev.Note)
		require.Len(t, srv.Confirms(), 1)

		// A notification, and SNS's retry of it.
		n := snstest.Notification("5c2f9d3e-1a7b-5e4c-9f0d-3b2a1c0d9e8f", `ALARM: "checkout-cpu-high-i-0abc" in US East (N. Virginia)`, snsAlarm, now)
		snstest.Sign(n, srv.Good, "2")
		id, dup := requireAccepted(t, post("aws", n))
		require.False(t, dup)
		again, dup := requireAccepted(t, post("aws", n))
		require.True(t, dup)
		require.Equal(t, id, again)
		_, err = p.ProcessOne(context.Background())
		require.NoError(t, err)
		ev = decode[snsEventView](t, h.get("/api/v1/events/"+id, viewerToken)).Event
		require.Equal(t, "processed", ev.Status)
		require.Len(t, ev.Alerts, 1)
		require.Equal(t, "CPUUtilization", ev.Alerts[0].AlertType)
		require.Equal(t, "i-0abc", ev.Alerts[0].Host)

		// What SNS did not sign.
		tampered := *n
		tampered.Message = strings.Replace(n.Message, `"ALARM"`, `"OK"`, 1)
		requireError(t, post("aws", &tampered), http.StatusUnauthorized, "unauthorized", "SNS signature mismatch")
		badURL := snstest.Notification("6d3fae4f-2b8c-4f5d-8a1e-4c3b2d1e0f9a", "", snsAlarm, now)
		badURL.SigningCertURL = "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem"
		snstest.Sign(badURL, srv.Good, "2")
		requireError(t, post("aws", badURL), http.StatusUnauthorized, "unauthorized",
			`SigningCertURL "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem"`, "is not sns.<region>.amazonaws.com")
		requireError(t, h.post("aws", []byte(`{"Type":"Notification","Message":"{}"}`)), http.StatusUnauthorized, "unauthorized", "SNS Notification lacks MessageId")
		// A replay: validly signed, but sent longer ago than SNS retries.
		stale := snstest.Notification("8f51c061-4dae-4b7f-8c30-6e5d4f3a2b1c", "", snsAlarm, now.Add(-2*time.Hour))
		snstest.Sign(stale, srv.Good, "2")
		requireError(t, post("aws", stale), http.StatusUnauthorized, "unauthorized", "SNS message is too old", "a replay?")
		// The signature is inside the body: one that does not parse cannot
		// be authenticated, and unauthenticated comes first (as for tokens).
		requireError(t, h.post("aws", []byte(`not json`)), http.StatusUnauthorized, "unauthorized", "body is not an Amazon SNS message")

		// Another topic: signed, but not allowed here; any topic is allowed
		// on the source without topic_arns.
		other := snstest.Notification("7e40bf50-3c9d-4a6e-9b2f-5d4c3e2f1a0b", "", snsAlarm, now)
		other.TopicARN = "arn:aws:sns:us-east-1:210987654321:someone-else"
		snstest.Sign(other, srv.Good, "2")
		requireError(t, post("aws", other), http.StatusForbidden, "forbidden",
			"SNS topic arn:aws:sns:us-east-1:210987654321:someone-else is not in this source's sns.topic_arns")
		requireAccepted(t, post("aws-any", other))

		require.Equal(t, 1, srv.Hits(snstest.CertPath), "one certificate fetch for every message")
	})
}

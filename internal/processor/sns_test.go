package processor_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/sns"
	"github.com/incidenthub/incidenthub/internal/sns/snstest"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

const cloudwatchAlarm = `{"AlarmName":"checkout-cpu-high-i-1","NewStateValue":"ALARM","StateChangeTime":"2024-05-01T10:00:12.345+0000","AlarmArn":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-cpu-high-i-1","Trigger":{"MetricName":"CPUUtilization","Namespace":"AWS/EC2","Dimensions":[{"name":"InstanceId","value":"i-1"}]}}`

// TestSNSSubscriptionConfirmation: a SubscriptionConfirmation is stored
// pending like any event; processing it confirms the subscription (one GET
// of its SubscribeURL) and marks it processed with a note; a failed GET is
// retried later; a source without auto_confirm only records it; a
// notification of the same source is mapped as usual.
func TestSNSSubscriptionConfirmation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, dialect)
		srv := snstest.NewServer(t)
		p := processor.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), 1, time.Second)
		p.SNS = &sns.Subscriptions{Client: srv.Client(), Source: func(name string) (sns.SourceOptions, bool) {
			switch name {
			case "aws":
				return sns.SourceOptions{AutoConfirm: true, TopicARNs: []string{snstest.Topic}}, true
			case "aws-manual":
				return sns.SourceOptions{}, true
			}
			return sns.SourceOptions{}, false
		}}
		store1 := func(source string, m *sns.Message) string {
			t.Helper()
			id, _, err := st.InsertEvent(ctx, &store.Event{Source: source, Kind: "amazon-sns-cloudwatch",
				ReceivedAt: time.Now().UTC(), Body: snstest.Body(m), Headers: store.JSON[map[string]string]{V: map[string]string{}}})
			require.NoError(t, err)
			return id
		}
		drain := func() {
			t.Helper()
			for {
				did, err := p.ProcessOne(ctx)
				require.NoError(t, err)
				if !did {
					return
				}
			}
		}

		// SNS is down at first: the event stays pending, with the error
		// and a retry time, and nothing was confirmed.
		srv.SetConfirmStatus(http.StatusServiceUnavailable)
		conf := snstest.Confirmation(sns.TypeSubscriptionConfirmation, "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", time.Now())
		id := store1("aws", conf)
		drain()
		ev, err := st.GetEvent(ctx, id)
		require.NoError(t, err)
		require.Equal(t, store.EventPending, ev.Status)
		require.Equal(t, 1, ev.Attempts)
		require.Contains(t, ev.Error, "SNS answered 503 Service Unavailable")
		require.NotContains(t, ev.Error, conf.Token, "the confirmation token stays out of the error")
		require.NotNil(t, ev.RetryAt)
		require.Empty(t, ev.Note)

		// SNS is back; the retry is due.
		srv.SetConfirmStatus(0)
		require.NoError(t, st.DB.Model(&store.Event{}).Where("id = ?", id).Update("retry_at", time.Now().UTC().Add(-time.Second)).Error)
		drain()
		ev, err = st.GetEvent(ctx, id)
		require.NoError(t, err)
		require.Equal(t, store.EventProcessed, ev.Status)
		require.Equal(t, "SNS subscription confirmation for topic "+snstest.Topic+"; confirmed: subscription "+snstest.Topic+":4a9c1f7e-2b3d-4e5f-8a6b-7c8d9e0f1a2b", ev.Note)
		require.Empty(t, ev.Alerts.V)
		ok := 0
		for _, q := range srv.Confirms() {
			if q.Get("Token") == conf.Token {
				ok++
			}
		}
		require.Equal(t, 2, ok, "one failed GET, one that confirmed")

		// Without auto_confirm: recorded, not fetched.
		manual := store1("aws-manual", snstest.Confirmation(sns.TypeSubscriptionConfirmation, "2d3e4f50-6172-4839-9a0b-1c2d3e4f5a6b", time.Now()))
		unsub := store1("aws", snstest.Confirmation(sns.TypeUnsubscribeConfirmation, "47138184-6831-46b8-8f7c-afc488602d7d", time.Now()))
		note := store1("aws", snstest.Notification("5c2f9d3e-1a7b-5e4c-9f0d-3b2a1c0d9e8f", "", cloudwatchAlarm, time.Now()))
		drain()
		require.Len(t, srv.Confirms(), 2)
		ev, err = st.GetEvent(ctx, manual)
		require.NoError(t, err)
		require.Equal(t, store.EventProcessed, ev.Status)
		require.Contains(t, ev.Note, "; not confirmed: sns.auto_confirm is off for this source")
		ev, err = st.GetEvent(ctx, unsub)
		require.NoError(t, err)
		require.Equal(t, store.EventProcessed, ev.Status)
		require.Contains(t, ev.Note, "SNS unsubscribe confirmation for topic "+snstest.Topic)
		ev, err = st.GetEvent(ctx, note)
		require.NoError(t, err)
		require.Equal(t, store.EventProcessed, ev.Status)
		require.Empty(t, ev.Note)
		require.Len(t, ev.Alerts.V, 1)
		require.Equal(t, "CPUUtilization", ev.Alerts.V[0].AlertType)
		require.Equal(t, "checkout", ev.Alerts.V[0].Service)
	})
}

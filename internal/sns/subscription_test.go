package sns_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/sns"
	"github.com/incidenthub/incidenthub/internal/sns/snstest"
)

func subscriptions(srv *snstest.Server, opts map[string]sns.SourceOptions) *sns.Subscriptions {
	return &sns.Subscriptions{
		Client: srv.Client(),
		Source: func(name string) (sns.SourceOptions, bool) { o, ok := opts[name]; return o, ok },
	}
}

func TestSubscriptionConfirm(t *testing.T) {
	t.Parallel()
	srv := snstest.NewServer(t)
	subs := subscriptions(srv, map[string]sns.SourceOptions{
		"auto":    {AutoConfirm: true, TopicARNs: []string{snstest.Topic}},
		"manual":  {},
		"other":   {AutoConfirm: true, TopicARNs: []string{"arn:aws:sns:us-east-1:123456789012:other"}},
		"anytopc": {AutoConfirm: true},
	})
	ctx := context.Background()
	conf := snstest.Confirmation(sns.TypeSubscriptionConfirmation, "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", time.Now())
	body := snstest.Body(conf)

	note, handled, err := subs.Handle(ctx, "auto", body)
	require.NoError(t, err)
	require.True(t, handled)
	require.Equal(t, "SNS subscription confirmation for topic "+snstest.Topic+"; confirmed: subscription "+snstest.Topic+":4a9c1f7e-2b3d-4e5f-8a6b-7c8d9e0f1a2b", note)
	calls := srv.Confirms()
	require.Len(t, calls, 1)
	require.Equal(t, conf.Token, calls[0].Get("Token"))
	require.Equal(t, snstest.Topic, calls[0].Get("TopicArn"))

	note, handled, err = subs.Handle(ctx, "anytopc", body)
	require.NoError(t, err)
	require.True(t, handled)
	require.Contains(t, note, "; confirmed: subscription ")
	require.Len(t, srv.Confirms(), 2)

	note, handled, err = subs.Handle(ctx, "manual", body)
	require.NoError(t, err)
	require.True(t, handled)
	require.Equal(t, "SNS subscription confirmation for topic "+snstest.Topic+"; not confirmed: sns.auto_confirm is off for this source; to confirm, open the SubscribeURL in this event's body (it is valid for 3 days)", note)

	note, handled, err = subs.Handle(ctx, "other", body)
	require.NoError(t, err)
	require.True(t, handled)
	require.Equal(t, "SNS subscription confirmation for topic "+snstest.Topic+"; refused, not fetched: the topic is not in the source's sns.topic_arns", note)

	unsub := snstest.Body(snstest.Confirmation(sns.TypeUnsubscribeConfirmation, "47138184-6831-46b8-8f7c-afc488602d7d", time.Now()))
	note, handled, err = subs.Handle(ctx, "auto", unsub)
	require.NoError(t, err)
	require.True(t, handled)
	require.Contains(t, note, "SNS unsubscribe confirmation for topic "+snstest.Topic+": the subscription was deleted; the hub does not subscribe again")
	require.Len(t, srv.Confirms(), 2, "neither manual, refused nor unsubscribe confirmations fetch anything")

	// Not for Handle: notifications, other sources, bodies that are not SNS.
	for _, c := range []struct{ source, body string }{
		{"auto", string(snstest.Body(snstest.Notification("n-1", "", alarm, time.Now())))},
		{"not-sns", string(body)},
		{"auto", "not json"},
		{"auto", `{"alerts":[]}`},
	} {
		note, handled, err := subs.Handle(ctx, c.source, []byte(c.body))
		require.NoError(t, err)
		require.False(t, handled, c.body)
		require.Empty(t, note)
	}
	var none *sns.Subscriptions
	_, handled, _ = none.Handle(ctx, "auto", body)
	require.False(t, handled)
}

// TestSubscriptionRefusedURLs: a SubscribeURL that is not SNS's own
// confirmation URL for the message's topic is never fetched.
func TestSubscriptionRefusedURLs(t *testing.T) {
	t.Parallel()
	srv := snstest.NewServer(t)
	subs := subscriptions(srv, map[string]sns.SourceOptions{"auto": {AutoConfirm: true}})
	tok := "&Token=secret-token-value"
	topic := "&TopicArn=" + snstest.Topic
	cases := map[string]string{
		"http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription" + topic + tok:                                            "must start with https://",
		"https://sns.evil.com/?Action=ConfirmSubscription" + topic + tok:                                                          `host "sns.evil.com" is not sns.<region>.amazonaws.com`,
		"https://sns.us-east-1.amazonaws.com@evil.com/?Action=ConfirmSubscription" + topic + tok:                                  "must not carry user information",
		"https://sns.us-east-1.amazonaws.com:8443/?Action=ConfirmSubscription" + topic + tok:                                      "must not name a port",
		"https://sns.us-east-1.amazonaws.com/x?Action=ConfirmSubscription" + topic + tok:                                          `path "/x" is not /`,
		"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe" + topic + tok:                                                   "Action is not ConfirmSubscription",
		"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Action=Subscribe" + topic + tok:                          "Action is not ConfirmSubscription",
		"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:123456789012:other" + tok: "its TopicArn is not the message's topic",
		"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription" + topic + tok:                                           `host region eu-west-1 is not the topic's region "us-east-1"`,
		"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription" + topic:                                                 "no Token",
		"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription" + topic + tok + "#frag":                                 "must not have a fragment",
	}
	for raw, want := range cases {
		t.Run(raw, func(t *testing.T) {
			m := snstest.Confirmation(sns.TypeSubscriptionConfirmation, "c-1", time.Now())
			m.SubscribeURL = raw
			note, handled, err := subs.Handle(context.Background(), "auto", snstest.Body(m))
			require.NoError(t, err)
			require.True(t, handled)
			require.Contains(t, note, "; refused, not fetched: ")
			require.Contains(t, note, want)
			require.NotContains(t, note, "secret-token-value", "the token stays out of the note")
		})
	}
	require.Empty(t, srv.Confirms())
}

// TestSubscriptionConfirmFails: SNS refusing or unreachable is an error
// (the processor retries), without the token.
func TestSubscriptionConfirmFails(t *testing.T) {
	t.Parallel()
	srv := snstest.NewServer(t)
	subs := subscriptions(srv, map[string]sns.SourceOptions{"auto": {AutoConfirm: true}})
	conf := snstest.Confirmation(sns.TypeSubscriptionConfirmation, "c-2", time.Now())
	srv.SetConfirmStatus(http.StatusBadRequest)
	_, handled, err := subs.Handle(context.Background(), "auto", snstest.Body(conf))
	require.True(t, handled)
	require.ErrorContains(t, err, "confirm SNS subscription to "+snstest.Topic+": GET SubscribeURL on sns.us-east-1.amazonaws.com: SNS answered 400 Bad Request: <ErrorResponse>")
	require.NotContains(t, err.Error(), conf.Token)

	srv.Close()
	_, handled, err = subs.Handle(context.Background(), "auto", snstest.Body(conf))
	require.True(t, handled)
	require.ErrorContains(t, err, "GET SubscribeURL on sns.us-east-1.amazonaws.com: ")
	require.NotContains(t, err.Error(), conf.Token)
}

func TestCheckTopic(t *testing.T) {
	t.Parallel()
	body := snstest.Body(snstest.Notification("n-1", "", alarm, time.Now()))
	require.NoError(t, sns.CheckTopic(body, nil))
	require.NoError(t, sns.CheckTopic(body, []string{"arn:aws:sns:us-east-1:123456789012:x", snstest.Topic}))
	err := sns.CheckTopic(body, []string{"arn:aws:sns:us-east-1:123456789012:x"})
	require.Equal(t, incidenthub.EFORBIDDEN, incidenthub.ErrorCode(err))
	require.Equal(t, "SNS topic "+snstest.Topic+" is not in this source's sns.topic_arns", incidenthub.ErrorMessage(err))
	err = sns.CheckTopic([]byte(`{"alerts":[]}`), []string{snstest.Topic})
	require.Equal(t, incidenthub.EFORBIDDEN, incidenthub.ErrorCode(err))
	require.True(t, strings.HasPrefix(incidenthub.ErrorMessage(err), "the body names no SNS TopicArn"))
}

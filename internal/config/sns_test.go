package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSNSSource(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("sns.yaml", []byte(`sources:
  - name: aws
    kind: amazon-sns-cloudwatch
    auth: {type: sns}
    sns:
      auto_confirm: true
      topic_arns:
        - arn:aws:sns:us-east-1:123456789012:alarms
        - arn:aws-us-gov:sns:us-gov-west-1:123456789012:alarms-gov
  - name: aws-token
    kind: amazon-sns-cloudwatch
    auth: {type: token, token: t0k, query_param: token}
  - name: gen
    kind: generic
    auth: {type: none}
`), env(nil))
	require.NoError(t, err)
	aws, _ := cfg.Source("aws")
	require.Equal(t, AuthSNS, aws.Auth.Type)
	require.Equal(t, &SNS{AutoConfirm: true, TopicARNs: []string{
		"arn:aws:sns:us-east-1:123456789012:alarms", "arn:aws-us-gov:sns:us-gov-west-1:123456789012:alarms-gov"}}, aws.SNS)
	require.True(t, aws.IsSNS())
	tok, _ := cfg.Source("aws-token")
	require.True(t, tok.IsSNS(), "the kind makes it an SNS source")
	require.Nil(t, tok.SNS)
	gen, _ := cfg.Source("gen")
	require.False(t, gen.IsSNS())
	require.True(t, Secretless(AuthSNS))
	require.True(t, Secretless(AuthNone))
	require.False(t, Secretless(AuthToken))
}

// TestSNSProblems: every problem of the sns block at once, each at its
// file:line:column and key.
func TestSNSProblems(t *testing.T) {
	t.Parallel()
	_, err := Parse("sns.yaml", []byte(`sources:
  - name: a
    kind: amazon-sns-cloudwatch
    auth: {type: sns}
    sns:
      auto_confirm: true
  - name: b
    kind: amazon-sns-cloudwatch
    auth: {type: sns}
    sns:
      topic_arns:
        - arn:aws:sns:us-east-1:123456789012:alarms
        - arn:aws:sns:us-east-1:123456789012:alarms
        - arn:aws:sqs:us-east-1:123456789012:queue
        - alarms
        - arn:aws-cn:sns:cn-north-1:123456789012:alarms
  - name: c
    kind: amazon-sns-cloudwatch
    auth: {type: sns}
    sns: {auto_confirm: yes please, topics: []}
  - name: d
    kind: generic
    auth: {type: sns-signature}
`), env(nil))
	require.EqualError(t, err, `sns.yaml:6:7: sources[0].sns.auto_confirm: needs sns.topic_arns: without them the hub would confirm a subscription to any AWS account's topic that names this URL
sns.yaml:13:11: sources[1].sns.topic_arns[1]: duplicate topic "arn:aws:sns:us-east-1:123456789012:alarms"
sns.yaml:14:11: sources[1].sns.topic_arns[2]: "arn:aws:sqs:us-east-1:123456789012:queue" is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic>)
sns.yaml:15:11: sources[1].sns.topic_arns[3]: "alarms" is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic>)
sns.yaml:16:11: sources[1].sns.topic_arns[4]: "arn:aws-cn:sns:cn-north-1:123456789012:alarms" is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic>)
sns.yaml:20:11: sources[2].sns.auto_confirm: cannot unmarshal !!str `+"`yes please`"+` into bool
sns.yaml:20:37: sources[2].sns.topics: unknown key (known keys: auto_confirm, topic_arns)
sns.yaml:23:12: sources[3].auth.type: must be one of none, token, basic, hmac, sentry, pagerduty, standard-webhooks, sns (got "sns-signature")`)
}

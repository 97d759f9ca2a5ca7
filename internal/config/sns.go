package config

import (
	"fmt"
	"regexp"
)

// Secretless reports whether an auth type works without a secret of the
// hub's (none, or sns, which checks Amazon's signature): the registry has
// nothing to store, verify or rotate for it.
func Secretless(authType string) bool {
	return authType == "" || authType == AuthNone || authType == AuthSNS
}

// SNSKind is the built-in source kind whose events are Amazon SNS
// messages (CloudWatch alarms).
const SNSKind = "amazon-sns-cloudwatch"

// SNS is a source's Amazon SNS settings (sources[].sns).
type SNS struct {
	// AutoConfirm: the hub confirms a new subscription itself, by visiting
	// the SubscribeURL of SNS's SubscriptionConfirmation (only
	// https://sns.<region>.amazonaws.com/). Requires TopicARNs.
	AutoConfirm bool `yaml:"auto_confirm"`
	// TopicARNs, when set, are the only topics the source accepts; a
	// message from another topic is refused with 403.
	TopicARNs []string `yaml:"topic_arns"`
}

// IsSNS reports whether the source receives Amazon SNS messages: its kind
// is amazon-sns-cloudwatch, it verifies SNS signatures, or it has an sns
// block (a custom kind carried by SNS).
func (s *Source) IsSNS() bool {
	return s.Kind == SNSKind || s.Auth.Type == AuthSNS || s.SNS != nil
}

// topicARNRe is an SNS topic ARN in a partition whose endpoints are
// sns.<region>.amazonaws.com: arn:aws:sns:us-east-1:123456789012:alarms.
var topicARNRe = regexp.MustCompile(`^arn:aws(?:-us-gov)?:sns:[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}:[0-9]{12}:[A-Za-z0-9_-]{1,256}$`)

func (s *Source) validateSNS(d *document, p string) {
	if s.SNS == nil {
		return
	}
	seen := map[string]bool{}
	for i, arn := range s.SNS.TopicARNs {
		k := fmt.Sprintf("%s.sns.topic_arns[%d]", p, i)
		switch {
		case !topicARNRe.MatchString(arn):
			d.at(k, "%q is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic>)", arn)
		case seen[arn]:
			d.at(k, "duplicate topic %q", arn)
		}
		seen[arn] = true
	}
	if s.SNS.AutoConfirm && len(s.SNS.TopicARNs) == 0 {
		d.at(p+".sns.auto_confirm", "needs sns.topic_arns: without them the hub would confirm a subscription "+
			"to any AWS account's topic that names this URL")
	}
}

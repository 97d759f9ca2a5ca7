package app

import (
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/sns"
)

// SNSSubscriptions handles the SNS subscription messages of the SNS
// sources of the current config (cfg is read per event, so a reload
// applies).
func SNSSubscriptions(cfg func() *config.Config) *sns.Subscriptions {
	return &sns.Subscriptions{Source: func(name string) (sns.SourceOptions, bool) {
		src, ok := cfg().Source(name)
		if !ok || !src.IsSNS() {
			return sns.SourceOptions{}, false
		}
		if src.SNS == nil {
			return sns.SourceOptions{}, true
		}
		return sns.SourceOptions{AutoConfirm: src.SNS.AutoConfirm, TopicARNs: src.SNS.TopicARNs}, true
	}}
}

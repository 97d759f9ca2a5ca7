package sns

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/incidenthub/incidenthub"
)

// SourceOptions are one hub source's SNS settings (sources[].sns).
type SourceOptions struct {
	// AutoConfirm: the hub confirms a subscription itself by visiting the
	// SubscribeURL of its SubscriptionConfirmation.
	AutoConfirm bool
	// TopicARNs, when not empty, are the only topics the source accepts.
	TopicARNs []string
}

// CheckTopic refuses a body whose TopicArn is not one of allow (any topic
// passes when allow is empty): EFORBIDDEN, a 403, naming the topic.
func CheckTopic(body []byte, allow []string) error {
	if len(allow) == 0 {
		return nil
	}
	m, err := Parse(body)
	if err != nil || m.TopicARN == "" {
		return incidenthub.Errorf(incidenthub.EFORBIDDEN, "the body names no SNS TopicArn, and this source accepts only the topics in its sns.topic_arns")
	}
	if !slices.Contains(allow, m.TopicARN) {
		return incidenthub.Errorf(incidenthub.EFORBIDDEN, "SNS topic %s is not in this source's sns.topic_arns", m.TopicARN)
	}
	return nil
}

// Subscriptions handles the subscription messages SNS sends besides
// notifications. The event processor calls Handle for every stored event
// before mapping it; it is safe for concurrent use.
type Subscriptions struct {
	// Source returns the SNS settings of the named hub source; ok is false
	// for a source that is not an SNS one, whose events Handle leaves
	// alone.
	Source func(name string) (opts SourceOptions, ok bool)
	// Client visits SubscribeURLs; nil is a client with Timeout.
	Client *http.Client
	// Timeout bounds one confirmation request; 0 is DefaultFetchTimeout.
	Timeout time.Duration
}

// Handle looks at one stored event of the named source. When the body is
// an SNS SubscriptionConfirmation or UnsubscribeConfirmation, handled is
// true and note says what the hub did, for the event's record:
//
//   - a subscription confirmation is confirmed (an HTTP GET of its
//     SubscribeURL) when the source has auto_confirm and the URL is
//     https://sns.<region>.amazonaws.com/?Action=ConfirmSubscription for
//     the message's own topic and region; otherwise the note says why not,
//     and nothing is fetched;
//   - an unsubscribe confirmation is recorded only: the subscription is
//     gone, and visiting its SubscribeURL would subscribe again.
//
// A confirmation request that fails (network, SNS answering an error) is
// err, so the processor retries the event later. Anything else
// (notifications, bodies that are not SNS messages, other sources) is not
// handled: the event is mapped as usual.
func (s *Subscriptions) Handle(ctx context.Context, source string, body []byte) (note string, handled bool, err error) {
	if s == nil || s.Source == nil {
		return "", false, nil
	}
	opts, ok := s.Source(source)
	if !ok {
		return "", false, nil
	}
	m, err := Parse(body)
	if err != nil || !m.IsConfirmation() {
		return "", false, nil
	}
	topic := m.TopicARN
	if topic == "" {
		topic = "(none)"
	}
	if m.Type == TypeUnsubscribeConfirmation {
		return fmt.Sprintf("SNS unsubscribe confirmation for topic %s: the subscription was deleted; "+
			"the hub does not subscribe again (to resubscribe, open the SubscribeURL in this event's body)", topic), true, nil
	}
	what := "SNS subscription confirmation for topic " + topic
	switch {
	case len(opts.TopicARNs) > 0 && !slices.Contains(opts.TopicARNs, m.TopicARN):
		return what + "; refused, not fetched: the topic is not in the source's sns.topic_arns", true, nil
	case !opts.AutoConfirm:
		return what + "; not confirmed: sns.auto_confirm is off for this source; to confirm, open the " +
			"SubscribeURL in this event's body (it is valid for 3 days)", true, nil
	}
	u, err := CheckSubscribeURL(m.SubscribeURL, m.TopicARN)
	if err != nil {
		return what + "; refused, not fetched: " + err.Error(), true, nil
	}
	arn, err := s.confirm(ctx, u.String())
	if err != nil {
		return "", true, fmt.Errorf("confirm SNS subscription to %s: %w", m.TopicARN, err)
	}
	if arn == "" {
		return what + "; confirmed", true, nil
	}
	return what + "; confirmed: subscription " + arn, true, nil
}

// confirmResponse is the part of SNS's ConfirmSubscription answer the hub
// reads.
type confirmResponse struct {
	SubscriptionArn string `xml:"ConfirmSubscriptionResult>SubscriptionArn"`
}

// confirm visits a checked SubscribeURL and returns the subscription ARN
// SNS answers with ("" when the answer does not say).
func (s *Subscriptions) confirm(ctx context.Context, url string) (string, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultFetchTimeout
	}
	client := &http.Client{Timeout: timeout}
	if s.Client != nil {
		c := *s.Client
		client = &c
	}
	// A redirect could leave the checked host.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("GET SubscribeURL: %v", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		// Without the URL: it holds the confirmation token.
		return "", fmt.Errorf("GET SubscribeURL on %s: %v", req.URL.Host, transportError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxCertBytes))
	if err != nil {
		return "", fmt.Errorf("GET SubscribeURL on %s: read answer: %v", req.URL.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET SubscribeURL on %s: SNS answered %s: %s", req.URL.Host, resp.Status, snippet(data))
	}
	var r confirmResponse
	if err := xml.Unmarshal(data, &r); err != nil {
		return "", nil // confirmed (200); the ARN is only for the record
	}
	return strings.TrimSpace(r.SubscriptionArn), nil
}

// snippet is the start of an error answer, on one line.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// Package sns speaks the Amazon SNS side of an HTTP(S) subscription: it
// verifies the signature of every message SNS posts (Verifier, a
// verify.Verifier for auth type sns), recognises the subscription and
// unsubscribe confirmations among them, and confirms a subscription by
// visiting its SubscribeURL (Subscriptions, used by the event processor).
//
// AWS documents the messages at
// https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
// and the signature at
// https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html.
package sns

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Message types, the envelope's Type (and the x-amz-sns-message-type
// header).
const (
	TypeNotification             = "Notification"
	TypeSubscriptionConfirmation = "SubscriptionConfirmation"
	TypeUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

// Message is one message Amazon SNS posts to an HTTP(S) endpoint: a
// notification, or a subscription or unsubscribe confirmation.
type Message struct {
	Type             string
	MessageID        string // MessageId
	Token            string // confirmations only
	TopicARN         string // TopicArn
	Subject          string // notifications only; see HasSubject
	Message          string
	Timestamp        string
	SignatureVersion string
	Signature        string
	SigningCertURL   string
	SubscribeURL     string // confirmations only
	UnsubscribeURL   string // notifications only

	// HasSubject: the notification carried a Subject member (even an
	// empty one); it is signed only then.
	HasSubject bool
}

// envelopeFields are the members Parse reads; any other member is
// ignored (SNS adds MessageAttributes for raw deliveries, for example).
var envelopeFields = map[string]func(m *Message) *string{
	"Type":             func(m *Message) *string { return &m.Type },
	"MessageId":        func(m *Message) *string { return &m.MessageID },
	"Token":            func(m *Message) *string { return &m.Token },
	"TopicArn":         func(m *Message) *string { return &m.TopicARN },
	"Subject":          func(m *Message) *string { return &m.Subject },
	"Message":          func(m *Message) *string { return &m.Message },
	"Timestamp":        func(m *Message) *string { return &m.Timestamp },
	"SignatureVersion": func(m *Message) *string { return &m.SignatureVersion },
	"Signature":        func(m *Message) *string { return &m.Signature },
	"SigningCertURL":   func(m *Message) *string { return &m.SigningCertURL },
	"SubscribeURL":     func(m *Message) *string { return &m.SubscribeURL },
	"UnsubscribeURL":   func(m *Message) *string { return &m.UnsubscribeURL },
}

// Parse reads an SNS message from a request body. Member names are
// matched exactly (encoding/json would match "MESSAGE" too, and the
// mappings read the exact name: a signature checked over one member must
// not let another one through), a member given twice is an error, a
// member that is null counts as absent, and one that is not a string is
// an error.
func Parse(body []byte) (*Message, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("body is not JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("body is not a JSON object")
	}
	m := &Message{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("body is not JSON: %v", err)
		}
		key := tok.(string) // object keys are always strings
		if seen[key] {
			return nil, fmt.Errorf("member %q appears twice", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("body is not JSON: %v", err)
		}
		field, ok := envelopeFields[key]
		if !ok {
			continue
		}
		if bytes.Equal(raw, []byte("null")) {
			continue
		}
		if err := json.Unmarshal(raw, field(m)); err != nil {
			return nil, fmt.Errorf("member %q is not a string", key)
		}
		if key == "Subject" {
			m.HasSubject = true
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("body is not JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("body is not JSON: data after the object")
	}
	return m, nil
}

// IsConfirmation reports whether m is a subscription or unsubscribe
// confirmation rather than a notification.
func (m *Message) IsConfirmation() bool {
	return m.Type == TypeSubscriptionConfirmation || m.Type == TypeUnsubscribeConfirmation
}

// StringToSign is the text SNS signs for m: "Name\nvalue\n" for each
// member the message type signs, in byte order of the names. A
// notification signs Message, MessageId, Subject (only when present),
// Timestamp, TopicArn and Type; a confirmation signs Message, MessageId,
// SubscribeURL, Timestamp, Token, TopicArn and Type. An unknown Type is an
// error.
func (m *Message) StringToSign() (string, error) {
	var pairs [][2]string
	switch m.Type {
	case TypeNotification:
		pairs = append(pairs, [2]string{"Message", m.Message}, [2]string{"MessageId", m.MessageID})
		if m.HasSubject {
			pairs = append(pairs, [2]string{"Subject", m.Subject})
		}
		pairs = append(pairs, [2]string{"Timestamp", m.Timestamp}, [2]string{"TopicArn", m.TopicARN}, [2]string{"Type", m.Type})
	case TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation:
		pairs = [][2]string{
			{"Message", m.Message}, {"MessageId", m.MessageID}, {"SubscribeURL", m.SubscribeURL},
			{"Timestamp", m.Timestamp}, {"Token", m.Token}, {"TopicArn", m.TopicARN}, {"Type", m.Type},
		}
	default:
		return "", fmt.Errorf("unknown message type %q (want %s, %s or %s)", m.Type,
			TypeNotification, TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation)
	}
	var b strings.Builder
	for _, p := range pairs {
		b.WriteString(p[0])
		b.WriteByte('\n')
		b.WriteString(p[1])
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// missing names the members m's type requires that are empty.
func (m *Message) missing() []string {
	need := []struct {
		name, value string
	}{
		{"MessageId", m.MessageID}, {"TopicArn", m.TopicARN}, {"Message", m.Message},
		{"Timestamp", m.Timestamp}, {"SignatureVersion", m.SignatureVersion},
		{"Signature", m.Signature}, {"SigningCertURL", m.SigningCertURL},
	}
	if m.IsConfirmation() {
		need = append(need, struct{ name, value string }{"Token", m.Token},
			struct{ name, value string }{"SubscribeURL", m.SubscribeURL})
	}
	var out []string
	for _, n := range need {
		if n.value == "" {
			out = append(out, n.name)
		}
	}
	return out
}

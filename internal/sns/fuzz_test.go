package sns_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/sns"
	"github.com/incidenthub/incidenthub/internal/sns/snstest"
)

// fuzzNow is the receive time of every fuzzed request: fixed, so every
// process of a fuzzing run agrees on which seeds are fresh.
var fuzzNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// FuzzVerify feeds arbitrary bodies to the verifier, against the local
// SNS stand-in: it must never panic; a failure is a 401 (or a 503 when a
// certificate cannot be had), and a success is a body whose string to
// sign is one of the signed seeds' (no mutation forges a signature) and
// whose dedup key is its MessageId.
//
//	go test -run xxx -fuzz FuzzVerify -fuzztime 60s ./internal/sns/
func FuzzVerify(f *testing.F) {
	srv := snstest.NewServer(f)
	v := sns.NewVerifier(sns.Options{Client: srv.Client()})
	signed := map[string]bool{}
	for _, m := range messages(fuzzNow) {
		for _, version := range []string{"1", "2"} {
			m := *m
			snstest.Sign(&m, srv.Good, version)
			text, _ := m.StringToSign()
			signed[version+text] = true
			f.Add(snstest.Body(&m))
		}
	}
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"Type":"Notification"}`, `{"Type":"Notification","Type":"x"}`,
		`{"Type":"SubscriptionConfirmation","SigningCertURL":"https://sns.us-east-1.amazonaws.com@evil/x.pem"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := v.Verify(context.Background(), request(body, fuzzNow), nil)
		if err != nil {
			if c := incidenthub.ErrorCode(err); c != incidenthub.EUNAUTHORIZED && c != incidenthub.EUNAVAILABLE {
				t.Fatalf("error code %q: %v", c, err)
			}
			if incidenthub.ErrorMessage(err) == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		m, perr := sns.Parse(body)
		if perr != nil {
			t.Fatalf("verified a body Parse refuses: %v", perr)
		}
		text, _ := m.StringToSign()
		if !signed[m.SignatureVersion+text] {
			t.Fatalf("verified a message nobody signed: %q", text)
		}
		if res.DedupKey != m.MessageID {
			t.Fatalf("dedup key %q, MessageId %q", res.DedupKey, m.MessageID)
		}
	})
}

// FuzzStringToSign builds messages from arbitrary member values: the
// string to sign names the type's members in order, each value
// survives the trip through the JSON body SNS posts, and Parse never
// panics on what it is given.
//
//	go test -run xxx -fuzz FuzzStringToSign -fuzztime 60s ./internal/sns/
func FuzzStringToSign(f *testing.F) {
	f.Add(uint8(0), "line 1\nline 2", "id", "Subject", true, "2024-05-01T10:00:00.000Z", "arn:aws:sns:us-east-1:1:t", "", "")
	f.Add(uint8(1), "You have chosen…", "id", "", false, "ts", "arn", "tok", "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription")
	f.Add(uint8(2), `{"a":"\u0000"}`, "\"", "\\", true, "\t", "\x7f", "<", "&")
	f.Add(uint8(3), "", "", "", false, "", "", "", "")
	types := []string{sns.TypeNotification, sns.TypeSubscriptionConfirmation, sns.TypeUnsubscribeConfirmation, "Bogus"}
	f.Fuzz(func(t *testing.T, typ uint8, message, id, subject string, hasSubject bool, ts, topic, token, subscribeURL string) {
		m := &sns.Message{Type: types[int(typ)%len(types)], Message: message, MessageID: id, Subject: subject,
			HasSubject: hasSubject, Timestamp: ts, TopicARN: topic, Token: token, SubscribeURL: subscribeURL}
		text, err := m.StringToSign()
		if m.Type == "Bogus" {
			if err == nil {
				t.Fatal("an unknown type has a string to sign")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		switch {
		case m.Type == sns.TypeNotification && hasSubject:
			names = []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"}
		case m.Type == sns.TypeNotification:
			names = []string{"Message", "MessageId", "Timestamp", "TopicArn", "Type"}
		default:
			names = []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"}
		}
		if !strings.HasPrefix(text, "Message\n"+message+"\nMessageId\n"+id+"\n") || !strings.HasSuffix(text, "\nType\n"+m.Type+"\n") {
			t.Fatalf("bad frame: %q", text)
		}
		want := 0
		for _, n := range names {
			want += len(n) + 2
		}
		for _, v := range []string{message, id, ts, topic, m.Type} {
			want += len(v)
		}
		if m.Type == sns.TypeNotification && hasSubject {
			want += len(subject)
		} else if m.Type != sns.TypeNotification {
			want += len(token) + len(subscribeURL)
		}
		if len(text) != want {
			t.Fatalf("length %d, want %d: %q", len(text), want, text)
		}

		// The values as SNS posts them, read back.
		valid := true
		for _, s := range []string{message, id, subject, ts, topic, token, subscribeURL} {
			valid = valid && utf8.ValidString(s)
		}
		if !valid {
			return // JSON cannot carry invalid UTF-8
		}
		body := snstest.Body(m)
		back, err := sns.Parse(body)
		if err != nil {
			t.Fatalf("Parse(%s): %v", body, err)
		}
		if m.Type != sns.TypeNotification {
			back.HasSubject, m.HasSubject = false, false
		}
		got, err := back.StringToSign()
		if err != nil || got != text {
			t.Fatalf("after the JSON trip: %q, %v; want %q", got, err, text)
		}
		_, _ = sns.Parse([]byte(message)) // must not panic either
	})
}

package sns_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/sns"
	"github.com/incidenthub/incidenthub/internal/sns/snstest"
	"github.com/incidenthub/incidenthub/internal/verify"
)

// alarm is a CloudWatch alarm as SNS carries it in Message.
const alarm = `{"AlarmName":"checkout-cpu-high","NewStateValue":"ALARM","StateChangeTime":"2024-05-01T10:00:12.345+0000","Trigger":{"MetricName":"CPUUtilization","Namespace":"AWS/EC2"}}`

func newVerifier(srv *snstest.Server) *sns.Verifier {
	return sns.NewVerifier(sns.Options{Client: srv.Client()})
}

func request(body []byte, now time.Time) verify.Request {
	return verify.Request{Header: http.Header{}, Body: body, Now: now}
}

// requireUnauthorized checks err is a 401 whose message contains want.
func requireUnauthorized(t *testing.T, err error, want string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, incidenthub.EUNAUTHORIZED, incidenthub.ErrorCode(err), "%v", err)
	require.Contains(t, incidenthub.ErrorMessage(err), want)
}

// messages are one of each kind of message SNS sends, unsigned.
func messages(now time.Time) map[string]*sns.Message {
	sent := now.Add(-2 * time.Second)
	return map[string]*sns.Message{
		"notification":             snstest.Notification("5c2f9d3e-1a7b-5e4c-9f0d-3b2a1c0d9e8f", `ALARM: "checkout-cpu-high" in US East (N. Virginia)`, alarm, sent),
		"notification, no subject": snstest.Notification("6d3fae4f-2b8c-4f5d-8a1e-4c3b2d1e0f9a", "", alarm, sent),
		"notification, empty subj.": func() *sns.Message {
			m := snstest.Notification("7e40bf50-3c9d-4a6e-9b2f-5d4c3e2f1a0b", "", alarm, sent)
			m.HasSubject = true
			return m
		}(),
		"subscription confirmation": snstest.Confirmation(sns.TypeSubscriptionConfirmation, "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", sent),
		"unsubscribe confirmation":  snstest.Confirmation(sns.TypeUnsubscribeConfirmation, "47138184-6831-46b8-8f7c-afc488602d7d", sent),
	}
}

func TestVerifyGood(t *testing.T) {
	t.Parallel()
	srv := snstest.NewServer(t)
	v := newVerifier(srv)
	now := time.Now()
	for name, m := range messages(now) {
		for _, version := range []string{"1", "2"} {
			t.Run(name+" v"+version, func(t *testing.T) {
				m := *m
				snstest.Sign(&m, srv.Good, version)
				req := request(snstest.Body(&m), now)
				req.Header.Set("x-amz-sns-message-type", m.Type)
				res, err := v.Verify(context.Background(), req, nil)
				require.NoError(t, err)
				require.Equal(t, m.MessageID, res.DedupKey)
			})
		}
	}
}

// TestVerifyTampered changes one signed member of a signed message at a
// time: each change breaks the signature. Members SNS does not sign
// (UnsubscribeURL, SigningCertURL's choice aside) may change.
func TestVerifyTampered(t *testing.T) {
	t.Parallel()
	srv := snstest.NewServer(t)
	v := newVerifier(srv)
	now := time.Now()
	for name, orig := range messages(now) {
		for _, version := range []string{"1", "2"} {
			signed := *orig
			snstest.Sign(&signed, srv.Good, version)
			edits := map[string]func(m *sns.Message){
				"Message":   func(m *sns.Message) { m.Message = strings.Replace(m.Message, "c", "C", 1) },
				"MessageId": func(m *sns.Message) { m.MessageID = "00000000-0000-0000-0000-000000000000" },
				"Timestamp": func(m *sns.Message) { m.Timestamp = now.Add(-time.Second).UTC().Format(time.RFC3339Nano) },
				"TopicArn":  func(m *sns.Message) { m.TopicARN = "arn:aws:sns:us-east-1:123456789012:other" },
			}
			if signed.Type == sns.TypeNotification {
				edits["Subject"] = func(m *sns.Message) { m.HasSubject = !m.HasSubject }
				edits["Subject text"] = func(m *sns.Message) { m.Subject += "!"; m.HasSubject = true }
			} else {
				edits["Token"] = func(m *sns.Message) { m.Token += "0" }
				edits["SubscribeURL"] = func(m *sns.Message) { m.SubscribeURL += "0" }
				edits["Type"] = func(m *sns.Message) {
					m.Type = map[string]string{sns.TypeSubscriptionConfirmation: sns.TypeUnsubscribeConfirmation,
						sns.TypeUnsubscribeConfirmation: sns.TypeSubscriptionConfirmation}[m.Type]
				}
			}
			for field, edit := range edits {
				t.Run(fmt.Sprintf("%s v%s %s", name, version, field), func(t *testing.T) {
					m := signed
					edit(&m)
					_, err := v.Verify(context.Background(), request(snstest.Body(&m), now), nil)
					requireUnauthorized(t, err, "SNS signature mismatch")
				})
			}
			t.Run(fmt.Sprintf("%s v%s unsigned member", name, version), func(t *testing.T) {
				m := signed
				m.UnsubscribeURL = "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x"
				_, err := v.Verify(context.Background(), request(snstest.Body(&m), now), nil)
				require.NoError(t, err)
			})
			t.Run(fmt.Sprintf("%s v%s other version", name, version), func(t *testing.T) {
				m := signed
				m.SignatureVersion = map[string]string{"1": "2", "2": "1"}[version]
				_, err := v.Verify(context.Background(), request(snstest.Body(&m), now), nil)
				requireUnauthorized(t, err, "SNS signature mismatch")
			})
		}
	}
}

// TestVerifyWrongCert: a message signed with a key other than the one
// whose certificate its SigningCertURL serves.
func TestVerifyWrongCert(t *testing.T) {
	t.Parallel()
	srv := snstest.NewServer(t)
	v := newVerifier(srv)
	now := time.Now()
	other := srv.NewKey(t, 1, now.Add(-time.Hour), now.Add(time.Hour))
	m := messages(now)["notification"]
	snstest.Sign(m, other, "2") // SigningCertURL is the good certificate's
	_, err := v.Verify(context.Background(), request(snstest.Body(m), now), nil)
	requireUnauthorized(t, err, "SNS signature mismatch: the message was not signed by the key of "+snstest.CertURL)

	// The other certificate, served: now it verifies.
	srv.Serve("/SimpleNotificationService-other.pem", other.PEM)
	m.SigningCertURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-other.pem"
	snstest.Sign(m, other, "2")
	_, err = v.Verify(context.Background(), request(snstest.Body(m), now), nil)
	require.NoError(t, err)
}

func TestVerifyBadCertURL(t *testing.T) {
	t.Parallel()
	srv := snstest.NewServer(t)
	v := newVerifier(srv)
	now := time.Now()
	cases := map[string]string{
		"http://sns.us-east-1.amazonaws.com" + snstest.CertPath:                     "must start with https://",
		"HTTPS://sns.us-east-1.amazonaws.com" + snstest.CertPath:                    "must start with https://",
		"//sns.us-east-1.amazonaws.com" + snstest.CertPath:                          "must start with https://",
		"https://sns.evil.com" + snstest.CertPath:                                   `host "sns.evil.com" is not sns.<region>.amazonaws.com`,
		"https://sns.us-east-1.amazonaws.com.evil.com" + snstest.CertPath:           `host "sns.us-east-1.amazonaws.com.evil.com" is not`,
		"https://evil.com/sns.us-east-1.amazonaws.com" + snstest.CertPath:           `host "evil.com" is not`,
		"https://sns.us-east-1.amazonaws.com@evil.com" + snstest.CertPath:           "must not carry user information",
		"https://evil.com@sns.us-east-1.amazonaws.com" + snstest.CertPath:           "must not carry user information",
		"https://sns.us-east-1.amazonaws.com%2F@evil.com" + snstest.CertPath:        "must not carry user information",
		"https://sns.us-east-1.amazonaws.com:8443" + snstest.CertPath:               "must not name a port",
		"https://sns.us-east-1.amazonaws.com:443" + snstest.CertPath:                "must not name a port",
		"https://sns.us-east-1.amazonaws.com." + snstest.CertPath:                   `host "sns.us-east-1.amazonaws.com." is not`,
		"https://SNS.us-east-1.amazonaws.com" + snstest.CertPath:                    `host "SNS.us-east-1.amazonaws.com" is not`,
		"https://s3.amazonaws.com" + snstest.CertPath:                               `host "s3.amazonaws.com" is not`,
		"https://sns.amazonaws.com" + snstest.CertPath:                              `host "sns.amazonaws.com" is not`,
		"https://sns.us-east-1.amazonaws.com.cn" + snstest.CertPath:                 `is not sns.<region>.amazonaws.com`,
		"https://169.254.169.254/latest/meta-data.pem":                              `host "169.254.169.254" is not`,
		"https://sns.us-east-1.amazonaws.com\\@evil.com" + snstest.CertPath:         "contains spaces, backslashes",
		"https://sns.us-east-1.amazonaws.com/cert.txt":                              "path must be a plain /….pem file",
		"https://sns.us-east-1.amazonaws.com/":                                      "path must be a plain /….pem file",
		"https://sns.us-east-1.amazonaws.com/%2e%2e/x.pem":                          "path must be a plain /….pem file",
		"https://sns.us-east-1.amazonaws.com" + snstest.CertPath + "?x=1":           "must not have a query",
		"https://sns.us-east-1.amazonaws.com" + snstest.CertPath + "#x":             "must not have a fragment",
		" https://sns.us-east-1.amazonaws.com" + snstest.CertPath:                   "contains spaces",
		"https://sns.us-east-1.amazonaws.com" + snstest.CertPath + "\n":             "contains spaces",
		"https://sns.us-east-1.amazonaws.com/\u00e9.pem":                            "non-ASCII",
		"file:///etc/ssl/cert.pem":                                                  "must start with https://",
		"https://[::1]/x.pem":                                                       `host "[::1]" is not`,
		"https://sns.us-east-1.amazonaws.com" + snstest.CertPath + "/../../etc.pem": "path must be a plain",
	}
	for raw, want := range cases {
		t.Run(raw, func(t *testing.T) {
			m := messages(now)["notification"]
			m.SigningCertURL = raw
			snstest.Sign(m, srv.Good, "1")
			_, err := v.Verify(context.Background(), request(snstest.Body(m), now), nil)
			requireUnauthorized(t, err, want)
			require.Contains(t, incidenthub.ErrorMessage(err), "SigningCertURL")
		})
	}
	require.Zero(t, srv.Hits(snstest.CertPath), "no bad URL was fetched")

	// A good URL whose file does not exist: fetched, refused.
	m := messages(now)["notification"]
	m.SigningCertURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-missing.pem"
	snstest.Sign(m, srv.Good, "1")
	_, err := v.Verify(context.Background(), request(snstest.Body(m), now), nil)
	requireUnauthorized(t, err, "fetch signing certificate: SNS answered 404 Not Found")
}

// TestCertCache: a burst of messages signed with one certificate fetches
// it once; it is fetched again after CertTTL.
func TestCertCache(t *testing.T) {
	t.Parallel()
	srv := snstest.NewServer(t)
	srv.SetDelay(200 * time.Millisecond) // the burst overlaps the fetch
	v := sns.NewVerifier(sns.Options{Client: srv.Client(), CertTTL: 10 * time.Minute})
	now := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		m := snstest.Notification(fmt.Sprintf("msg-%02d", i), "", alarm, now)
		snstest.Sign(m, srv.Good, "2")
		wg.Go(func() {
			_, errs[i] = v.Verify(context.Background(), request(snstest.Body(m), now), nil)
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, srv.Hits(snstest.CertPath), "one fetch for the burst")

	m := snstest.Notification("later", "", alarm, now.Add(9*time.Minute))
	snstest.Sign(m, srv.Good, "2")
	_, err := v.Verify(context.Background(), request(snstest.Body(m), now.Add(9*time.Minute)), nil)
	require.NoError(t, err)
	require.Equal(t, 1, srv.Hits(snstest.CertPath), "cached")

	m = snstest.Notification("after-ttl", "", alarm, now.Add(11*time.Minute))
	snstest.Sign(m, srv.Good, "2")
	_, err = v.Verify(context.Background(), request(snstest.Body(m), now.Add(11*time.Minute)), nil)
	require.NoError(t, err)
	require.Equal(t, 2, srv.Hits(snstest.CertPath), "fetched again after the TTL")
}

// TestCertValidity: a certificate outside its validity period at the
// receive time is refused, and a cached one is not kept past its NotAfter.
func TestCertValidity(t *testing.T) {
	t.Parallel()
	srv := snstest.NewServer(t)
	v := newVerifier(srv)
	now := time.Now()
	expired := srv.NewKey(t, 1, now.Add(-48*time.Hour), now.Add(-time.Hour))
	srv.Serve("/SimpleNotificationService-expired.pem", expired.PEM)
	future := srv.NewKey(t, 1, now.Add(time.Hour), now.Add(48*time.Hour))
	srv.Serve("/SimpleNotificationService-future.pem", future.PEM)
	short := srv.NewKey(t, 1, now.Add(-time.Hour), now.Add(30*time.Minute))
	srv.Serve("/SimpleNotificationService-short.pem", short.PEM)

	for path, k := range map[string]*snstest.Key{"expired": expired, "future": future} {
		m := messages(now)["notification"]
		m.SigningCertURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-" + path + ".pem"
		snstest.Sign(m, k, "2")
		_, err := v.Verify(context.Background(), request(snstest.Body(m), now), nil)
		want := map[string]string{"expired": "expired at", "future": "is not valid before"}[path]
		requireUnauthorized(t, err, want)
	}

	// Valid now, expired 40 minutes later, though the cache TTL is a day.
	url := "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-short.pem"
	for i, at := range []time.Time{now, now.Add(40 * time.Minute)} {
		m := snstest.Notification(fmt.Sprint("short-", i), "", alarm, at)
		m.SigningCertURL = url
		snstest.Sign(m, short, "1")
		_, err := v.Verify(context.Background(), request(snstest.Body(m), at), nil)
		if i == 0 {
			require.NoError(t, err)
		} else {
			requireUnauthorized(t, err, "expired at")
		}
	}
	require.Equal(t, 2, srv.Hits("/SimpleNotificationService-short.pem"), "an expired certificate is fetched again, not served from the cache")
}

func TestVerifyRefusals(t *testing.T) {
	t.Parallel()
	srv := snstest.NewServer(t)
	v := newVerifier(srv)
	now := time.Now()
	signed := func(edit func(m *sns.Message)) []byte {
		m := messages(now)["notification"]
		edit(m)
		snstest.Sign(m, srv.Good, "2")
		return snstest.Body(m)
	}
	good := signed(func(*sns.Message) {})
	cases := []struct {
		name   string
		body   []byte
		header string
		want   string
	}{
		{"not JSON", []byte("Type=Notification"), "", "body is not an Amazon SNS message: body is not JSON"},
		{"array", []byte(`[{"Type":"Notification"}]`), "", "body is not an Amazon SNS message: body is not a JSON object"},
		{"trailing data", append(append([]byte{}, good...), "{}"...), "", "data after the object"},
		{"member twice", []byte(`{"Type":"Notification","Message":"a","Message":"b"}`), "", `member "Message" appears twice`},
		{"number member", []byte(`{"Type":"Notification","MessageId":7}`), "", `member "MessageId" is not a string`},
		{"no type", []byte(`{"Message":"x"}`), "", `unknown message type ""`},
		{"unknown type", []byte(`{"Type":"Bogus"}`), "", `unknown message type "Bogus" (want Notification, SubscriptionConfirmation or UnsubscribeConfirmation)`},
		{"lower-case type member", []byte(`{"type":"Notification"}`), "", `unknown message type ""`},
		{"missing members", []byte(`{"Type":"Notification","Message":"x"}`), "", "SNS Notification lacks MessageId, TopicArn, Timestamp, SignatureVersion, Signature, SigningCertURL"},
		{"confirmation without token", []byte(`{"Type":"SubscriptionConfirmation","Message":"x","MessageId":"1","TopicArn":"t","Timestamp":"t","SignatureVersion":"1","Signature":"s","SigningCertURL":"u","SubscribeURL":"x"}`), "", "SNS SubscriptionConfirmation lacks Token"},
		{"header mismatch", good, sns.TypeSubscriptionConfirmation, `header x-amz-sns-message-type "SubscriptionConfirmation" does not match the message Type "Notification"`},
		{"version 3", signed(func(m *sns.Message) {}), "", ""},
		{"bad timestamp", signed(func(m *sns.Message) { m.Timestamp = "yesterday" }), "", `SNS Timestamp "yesterday" is not an RFC 3339 time`},
		{"too old", signed(func(m *sns.Message) { m.Timestamp = now.Add(-2 * time.Hour).UTC().Format(time.RFC3339) }), "", "SNS message is too old"},
		{"future", signed(func(m *sns.Message) { m.Timestamp = now.Add(time.Hour).UTC().Format(time.RFC3339) }), "", "is in the future"},
		{"signature not base64", []byte(strings.Replace(string(good), `"Signature": "`, `"Signature": "*`, 1)), "", "SNS Signature is not base64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			want := tc.want
			if tc.name == "version 3" {
				body = []byte(strings.Replace(string(good), `"SignatureVersion": "2"`, `"SignatureVersion": "3"`, 1))
				want = `unsupported SNS SignatureVersion "3" (want 1 or 2)`
			}
			req := request(body, now)
			if tc.header != "" {
				req.Header.Set("x-amz-sns-message-type", tc.header)
			}
			_, err := v.Verify(context.Background(), req, nil)
			requireUnauthorized(t, err, want)
		})
	}

	// A member named in another case is not the signed one: it is ignored,
	// and the mapping reads the exact name too.
	extra := strings.Replace(string(good), `"Type": "Notification"`, `"MESSAGE": "forged", "Type": "Notification"`, 1)
	_, err := v.Verify(context.Background(), request([]byte(extra), now), nil)
	require.NoError(t, err)
}

// TestVerifyFetchFailures: the certificate cannot be had right now (SNS
// unreachable or failing): 503, so SNS retries; what it serves is not a
// certificate: 401.
func TestVerifyFetchFailures(t *testing.T) {
	t.Parallel()
	srv := snstest.NewServer(t)
	now := time.Now()
	send := func(v *sns.Verifier, path string) error {
		m := messages(now)["notification"]
		m.SigningCertURL = "https://sns.us-east-1.amazonaws.com" + path
		snstest.Sign(m, srv.Good, "2")
		_, err := v.Verify(context.Background(), request(snstest.Body(m), now), nil)
		return err
	}

	srv.Serve("/big.pem", []byte(strings.Repeat("A", sns.MaxCertBytes+1)))
	srv.Serve("/text.pem", []byte("hello"))
	v := newVerifier(srv)
	requireUnauthorized(t, send(v, "/big.pem"), "signing certificate is larger than 65536 bytes")
	requireUnauthorized(t, send(v, "/text.pem"), "signing certificate is not a PEM certificate")

	slow := sns.NewVerifier(sns.Options{Client: srv.Client(), FetchTimeout: 50 * time.Millisecond})
	srv.SetDelay(time.Second)
	err := send(slow, snstest.CertPath)
	require.Equal(t, incidenthub.EUNAVAILABLE, incidenthub.ErrorCode(err), "%v", err)
	require.Contains(t, incidenthub.ErrorMessage(err), "cannot check the SNS signature right now")
	srv.SetDelay(0)

	srv.Close()
	err = send(newVerifier(srv), snstest.CertPath)
	require.Equal(t, incidenthub.EUNAVAILABLE, incidenthub.ErrorCode(err), "%v", err)
}

func TestStringToSign(t *testing.T) {
	t.Parallel()
	n := &sns.Message{Type: sns.TypeNotification, MessageID: "id-1", TopicARN: "arn:aws:sns:us-east-1:1:t",
		Subject: "Subj", HasSubject: true, Message: "line 1\nline 2", Timestamp: "2024-05-01T10:00:00.000Z",
		UnsubscribeURL: "not signed", Token: "not signed either"}
	got, err := n.StringToSign()
	require.NoError(t, err)
	require.Equal(t, "Message\nline 1\nline 2\nMessageId\nid-1\nSubject\nSubj\nTimestamp\n2024-05-01T10:00:00.000Z\nTopicArn\narn:aws:sns:us-east-1:1:t\nType\nNotification\n", got)

	n.HasSubject = false
	got, err = n.StringToSign()
	require.NoError(t, err)
	require.Equal(t, "Message\nline 1\nline 2\nMessageId\nid-1\nTimestamp\n2024-05-01T10:00:00.000Z\nTopicArn\narn:aws:sns:us-east-1:1:t\nType\nNotification\n", got)

	c := &sns.Message{Type: sns.TypeSubscriptionConfirmation, MessageID: "id-2", TopicARN: "arn:t", Token: "tok",
		Message: "m", SubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription", Timestamp: "ts",
		Subject: "ignored", HasSubject: true}
	got, err = c.StringToSign()
	require.NoError(t, err)
	require.Equal(t, "Message\nm\nMessageId\nid-2\nSubscribeURL\nhttps://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription\nTimestamp\nts\nToken\ntok\nTopicArn\narn:t\nType\nSubscriptionConfirmation\n", got)

	_, err = (&sns.Message{Type: "notification"}).StringToSign()
	require.EqualError(t, err, `unknown message type "notification" (want Notification, SubscriptionConfirmation or UnsubscribeConfirmation)`)

	// Parse reads what StringToSign signs, escapes and all.
	m, err := sns.Parse([]byte(`{"Type":"Notification","MessageId":"id-1","TopicArn":"arn:aws:sns:us-east-1:1:t","Subject":"Subj","Message":"line 1\nline 2","Timestamp":"2024-05-01T10:00:00.000Z","UnsubscribeURL":"not signed","Token":"not signed either"}`))
	require.NoError(t, err)
	require.Equal(t, n.Message, m.Message)
	require.True(t, m.HasSubject)
	m2, err := sns.Parse([]byte(`{"Type":"Notification","Subject":null}`))
	require.NoError(t, err)
	require.False(t, m2.HasSubject, "a null Subject is no Subject")
}

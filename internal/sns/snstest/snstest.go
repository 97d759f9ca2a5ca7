// Package snstest is a local stand-in for Amazon SNS, for tests: a TLS
// server that answers for sns.<region>.amazonaws.com with certificates of
// a CA made at test time, serves signing certificates and the
// ConfirmSubscription action, and signs messages the way SNS does. Its
// Client dials the server whatever host a URL names, so the code under
// test keeps its production URL checks.
package snstest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SignatureVersion 1
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/incidenthub/incidenthub/internal/sns"
)

// Regions the server has a TLS certificate for.
var Regions = []string{"us-east-1", "eu-west-1"}

// CertPath is where the server serves the good signing certificate.
const CertPath = "/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"

// CertURL is the SigningCertURL of the good certificate in us-east-1.
const CertURL = "https://sns.us-east-1.amazonaws.com" + CertPath

// Key is a signing key with its certificate.
type Key struct {
	Priv *rsa.PrivateKey
	Cert *x509.Certificate
	PEM  []byte
}

// Server is the stand-in.
type Server struct {
	*httptest.Server
	// Good signs messages with the certificate served at CertPath.
	Good *Key

	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	pool   *x509.CertPool
	client *http.Client

	mu            sync.Mutex
	certs         map[string][]byte // path -> PEM
	hits          map[string]int
	confirms      []url.Values
	confirmStatus int
	delay         time.Duration
}

// keysPEM holds two RSA signing keys made for these tests only (openssl
// genrsa 2048). They are fixed, not generated, so that every process of a
// fuzzing run signs its seed messages with the same key, and because RSA
// key generation is slow.
//
//go:embed keys.pem
var keysPEM []byte

var rsaKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	var out []*rsa.PrivateKey
	rest := keysPEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return out
		}
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			panic(err)
		}
		out = append(out, k)
	}
})

// NewServer starts a server that stops when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{certs: map[string][]byte{}, hits: map[string]int{}}
	var err error
	s.caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Incident Hub test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &s.caKey.PublicKey, s.caKey)
	must(t, err)
	s.ca, err = x509.ParseCertificate(der)
	must(t, err)
	s.pool = x509.NewCertPool()
	s.pool.AddCert(s.ca)

	tlsKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	var names []string
	for _, r := range Regions {
		names = append(names, "sns."+r+".amazonaws.com")
	}
	tlsCert := s.issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: names[0]},
		DNSNames:    names,
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	}, &tlsKey.PublicKey)

	// Valid from long ago, so messages of a fixed date verify too.
	s.Good = s.NewKey(t, 0, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Now().Add(365*24*time.Hour))
	s.certs[CertPath] = s.Good.PEM

	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Server.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{tlsCert.Raw}, PrivateKey: tlsKey}}}
	s.Server.StartTLS()
	t.Cleanup(s.Server.Close)

	addr := s.Server.Listener.Addr().String()
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	s.client = &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, "tcp", addr)
			},
			TLSClientConfig: &tls.Config{RootCAs: s.pool},
		},
	}
	return s
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (s *Server) issue(t testing.TB, tmpl *x509.Certificate, pub crypto.PublicKey) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	must(t, err)
	tmpl.SerialNumber = serial
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.ca, pub, s.caKey)
	must(t, err)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	return cert
}

// NewKey issues a signing certificate valid from notBefore to notAfter for
// RSA key number i (0 or 1; 0 is the key of Good).
func (s *Server) NewKey(t testing.TB, i int, notBefore, notAfter time.Time) *Key {
	t.Helper()
	priv := rsaKeys()[i]
	cert := s.issue(t, &x509.Certificate{
		Subject:   pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: notBefore,
		NotAfter:  notAfter,
		KeyUsage:  x509.KeyUsageDigitalSignature,
	}, &priv.PublicKey)
	return &Key{Priv: priv, Cert: cert, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})}
}

// Serve makes the server answer path with body (a PEM file, say).
func (s *Server) Serve(path string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.certs[path] = body
}

// Client is an HTTP client that reaches this server for any host, and
// trusts its CA.
func (s *Server) Client() *http.Client { return s.client }

// Hits is how many requests path has had.
func (s *Server) Hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// Confirms returns the queries of the ConfirmSubscription requests so far.
func (s *Server) Confirms() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.confirms...)
}

// SetConfirmStatus makes ConfirmSubscription answer status (0: 200).
func (s *Server) SetConfirmStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.confirmStatus = status
}

// SetDelay makes every answer wait d first.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	body, ok := s.certs[r.URL.Path]
	status, delay := s.confirmStatus, s.delay
	if r.URL.Path == "/" {
		s.confirms = append(s.confirms, r.URL.Query())
	}
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	switch {
	case r.Method != http.MethodGet:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case ok:
		w.Header().Set("Content-Type", "application/x-x509-ca-cert")
		_, _ = w.Write(body)
	case r.URL.Path == "/" && r.URL.Query().Get("Action") == "ConfirmSubscription":
		q := r.URL.Query()
		if status != 0 && status != http.StatusOK {
			w.WriteHeader(status)
			fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>Invalid token</Message></Error></ErrorResponse>`)
			return
		}
		if q.Get("Token") == "" || q.Get("TopicArn") == "" {
			http.Error(w, "missing Token or TopicArn", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <ConfirmSubscriptionResult>
    <SubscriptionArn>%s:4a9c1f7e-2b3d-4e5f-8a6b-7c8d9e0f1a2b</SubscriptionArn>
  </ConfirmSubscriptionResult>
  <ResponseMetadata><RequestId>7f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b</RequestId></ResponseMetadata>
</ConfirmSubscriptionResponse>`, q.Get("TopicArn"))
	default:
		http.NotFound(w, r)
	}
}

// Sign signs m with k as SNS does with SignatureVersion version ("1" or
// "2"), setting its SignatureVersion, SigningCertURL (when empty: CertURL)
// and Signature.
func Sign(m *sns.Message, k *Key, version string) {
	m.SignatureVersion = version
	if m.SigningCertURL == "" {
		m.SigningCertURL = CertURL
	}
	text, err := m.StringToSign()
	if err != nil {
		panic(err)
	}
	var sig []byte
	if version == "1" {
		d := sha1.Sum([]byte(text)) //nolint:gosec // SignatureVersion 1
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.Priv, crypto.SHA1, d[:])
	} else {
		d := sha256.Sum256([]byte(text))
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.Priv, crypto.SHA256, d[:])
	}
	if err != nil {
		panic(err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
}

// Body is m as SNS posts it.
func Body(m *sns.Message) []byte {
	out := map[string]string{
		"Type": m.Type, "MessageId": m.MessageID, "TopicArn": m.TopicARN, "Message": m.Message,
		"Timestamp": m.Timestamp, "SignatureVersion": m.SignatureVersion, "Signature": m.Signature,
		"SigningCertURL": m.SigningCertURL,
	}
	if m.HasSubject {
		out["Subject"] = m.Subject
	}
	for k, v := range map[string]string{"Token": m.Token, "SubscribeURL": m.SubscribeURL, "UnsubscribeURL": m.UnsubscribeURL} {
		if v != "" {
			out[k] = v
		}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

// Topic is the topic of the messages Notification and Confirmation make.
const Topic = "arn:aws:sns:us-east-1:123456789012:incident-hub"

// Notification is a notification of message (a CloudWatch alarm, say) on
// Topic, sent at sent, not yet signed.
func Notification(id, subject, message string, sent time.Time) *sns.Message {
	return &sns.Message{
		Type: sns.TypeNotification, MessageID: id, TopicARN: Topic,
		Subject: subject, HasSubject: subject != "", Message: message,
		Timestamp:      sent.UTC().Format("2006-01-02T15:04:05.000Z"),
		UnsubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + Topic + ":0d9e5b2c",
	}
}

// Confirmation is a SubscriptionConfirmation or UnsubscribeConfirmation
// (typ) on Topic, sent at sent, not yet signed.
func Confirmation(typ, id string, sent time.Time) *sns.Message {
	token := "2336412f37fb687f5d51e6e2425dacbba1ba1cc1a9b3b6bdd1e3c5a6a6b4a2f0c9b0d4f0e8c1b3a2d5f6e7c8b9a0d1e2f3a4b5c6d7e8f9"
	return &sns.Message{
		Type: typ, MessageID: id, TopicARN: Topic, Token: token,
		Message: "You have chosen to subscribe to the topic " + Topic +
			".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
		SubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + Topic + "&Token=" + token,
		Timestamp:    sent.UTC().Format("2006-01-02T15:04:05.000Z"),
	}
}

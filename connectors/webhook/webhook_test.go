package webhook_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/webhook"
	"github.com/incidenthub/incidenthub/internal/httperr"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	secretNew = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secretOld = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
)

func notification() *incidenthub.Notification {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return &incidenthub.Notification{
		ID: "msg_0195", Event: incidenthub.EventOpened, Target: "ops", Time: at,
		Incident: incidenthub.Incident{ID: 7, CorrelationKey: "checkout/HighLatency", Status: incidenthub.IncidentOpen,
			Title: "High latency", Service: "checkout", AlertType: "HighLatency", Severity: incidenthub.SeverityHigh,
			Hosts: []string{"web-1"}, Targets: []string{"ops"}, EventCount: 1, AlertCount: 1, FiringCount: 1,
			OpenedAt: at, LastSeenAt: at, UpdatedAt: at},
		LatestAlert: &incidenthub.Alert{Source: "am", Fingerprint: "f1", Status: incidenthub.AlertFiring,
			Severity: incidenthub.SeverityHigh, Service: "checkout", AlertType: "HighLatency", Title: "High latency",
			StartsAt: at, ReceivedAt: at},
	}
}

type received struct {
	header http.Header
	body   []byte
}

func receiver(t *testing.T, status int, hdr map[string]string) (*httptest.Server, chan received) {
	ch := make(chan received, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			t.Errorf("method %s, want POST", r.Method)
		}
		b, _ := io.ReadAll(r.Body)
		ch <- received{r.Header.Clone(), b}
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// The signature verifies with the Standard Webhooks reference library,
// once per secret during a rotation.
func TestSignatureVerifiesWithStandardWebhooksLibrary(t *testing.T) {
	t.Parallel()
	srv, got := receiver(t, 204, nil)
	c, err := webhook.New(webhook.Config{URL: srv.URL + "/in", Secrets: []string{secretNew, secretOld},
		Headers: map[string]string{"X-Team": "sre"}}, srv.Client())
	require.NoError(t, err)
	retry, err := c.Notify(context.Background(), notification())
	require.NoError(t, err)
	require.False(t, retry)
	r := <-got
	require.Equal(t, "msg_0195", r.header.Get("webhook-id"))
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	require.Equal(t, "sre", r.header.Get("X-Team"))
	require.Len(t, strings.Fields(r.header.Get("webhook-signature")), 2, "one signature per secret")
	for _, s := range []string{secretNew, secretOld} {
		wh, err := standardwebhooks.NewWebhook(s)
		require.NoError(t, err)
		require.NoError(t, wh.Verify(r.body, r.header), "secret %s", s[:10])
	}
	other, err := standardwebhooks.NewWebhook("whsec_" + strings.Repeat("QUJD", 8))
	require.NoError(t, err)
	require.Error(t, other.Verify(r.body, r.header), "a wrong secret must not verify")
	tampered := append([]byte{}, r.body...)
	tampered[len(tampered)-2] ^= 1
	wh, _ := standardwebhooks.NewWebhook(secretNew)
	require.Error(t, wh.Verify(tampered, r.header), "a modified body must not verify")
}

// The spec's published example: secret, id, timestamp and payload give a
// known signature.
func TestSignSpecVector(t *testing.T) {
	t.Parallel()
	wh, err := standardwebhooks.NewWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	require.NoError(t, err)
	body := []byte(`{"test": 2432232314}`)
	want, err := wh.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), body)
	require.NoError(t, err)
	require.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", want)
	key := []byte{0x31, 0xf2, 0x90, 0xf6, 0xbf, 0x06, 0x29, 0x8a, 0xab, 0x4f, 0x08, 0xd4, 0x3c, 0x3f, 0x08, 0x2c, 0xf6, 0x48, 0xa3, 0x62, 0xda, 0x2d, 0xa4, 0xb0}
	require.Equal(t, want, webhook.Sign([][]byte{key}, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body))
}

func TestDefaultBodyGolden(t *testing.T) {
	t.Parallel()
	b, err := webhook.DefaultBody(notification())
	require.NoError(t, err)
	var pretty strings.Builder
	var v any
	require.NoError(t, json.Unmarshal(b, &v))
	enc := json.NewEncoder(&pretty)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(v))
	golden := "testdata/opened.golden.json"
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(pretty.String()), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(b))
}

func TestStatusClassification(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status int
		hdr    map[string]string
		retry  bool
		after  time.Duration
	}{
		{500, nil, true, 0},
		{503, map[string]string{"Retry-After": "120"}, true, 2 * time.Minute},
		{429, map[string]string{"Retry-After": "7"}, true, 7 * time.Second},
		// Overflowing waits are capped (they came out negative, or 290 ms).
		{429, map[string]string{"Retry-After": "9227000000"}, true, httperr.MaxRetryAfter},
		{429, map[string]string{"Retry-After": "18446744074"}, true, httperr.MaxRetryAfter},
		{503, map[string]string{"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}, true, httperr.MaxRetryAfter},
		{408, nil, true, 0},
		{400, nil, false, 0},
		{401, nil, false, 0},
		{404, nil, false, 0},
		{410, nil, false, 0},
		{302, map[string]string{"Location": "http://169.254.169.254/"}, false, 0},
	}
	for _, tc := range cases {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			t.Parallel()
			srv, _ := receiver(t, tc.status, tc.hdr)
			hc := srv.Client()
			hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			c, err := webhook.New(webhook.Config{URL: srv.URL}, hc)
			require.NoError(t, err)
			retry, err := c.Notify(context.Background(), notification())
			require.Error(t, err)
			require.Equal(t, tc.retry, retry)
			var we *webhook.Error
			require.ErrorAs(t, err, &we)
			require.Equal(t, tc.status, we.StatusCode())
			require.Equal(t, tc.after, we.RetryAfter())
		})
	}
}

func TestConnectionErrorsRetry(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
	}))
	defer srv.Close()
	hc := srv.Client()
	hc.Timeout = 50 * time.Millisecond
	c, err := webhook.New(webhook.Config{URL: srv.URL}, hc)
	require.NoError(t, err)
	retry, err := c.Notify(context.Background(), notification())
	require.Error(t, err)
	require.True(t, retry, "a timeout is retried")

	srv2 := httptest.NewServer(http.NotFoundHandler())
	srv2.Close()
	c, err = webhook.New(webhook.Config{URL: srv2.URL}, http.DefaultClient)
	require.NoError(t, err)
	retry, err = c.Notify(context.Background(), notification())
	require.Error(t, err)
	require.True(t, retry, "a refused connection is retried")
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, webhook.Config{URL: "https://x.example/h", Secrets: []string{secretNew}}.Validate())
	err := webhook.Config{URL: "https://u:p@x.example/h", Secrets: []string{"abc"}, Headers: map[string]string{"Content-Type": "x"}}.Validate()
	require.ErrorContains(t, err, "url: must not carry credentials")
	require.ErrorContains(t, err, `secrets[0]: must start with "whsec_"`)
	require.ErrorContains(t, err, "headers.Content-Type: is set by the hub")

	// A bad URL is named without its query or user info: config errors
	// reach the API (last reload error) and the audit trail.
	err = webhook.Config{URL: "ftp://bob:pw-1@x.example/h?token=tok-s3cret"}.Validate()
	require.ErrorContains(t, err, `"ftp://x.example/h?<redacted>" must be an absolute`)
	require.NotContains(t, err.Error(), "tok-s3cret")
	require.NotContains(t, err.Error(), "pw-1")
	err = webhook.Config{URL: "http://x.example/%zz?token=tok-s3cret"}.Validate()
	require.ErrorContains(t, err, "the value must be an absolute")
	require.NotContains(t, err.Error(), "tok-s3cret")
}

// Verify sends a signed registry.verify event: a receiver checking the
// signature with the Standard Webhooks library and answering 2xx passes;
// any other answer is the error.
func TestVerify(t *testing.T) {
	t.Parallel()
	wh, err := standardwebhooks.NewWebhook(secretNew)
	require.NoError(t, err)
	cases := []struct {
		name    string
		secrets []string
		status  int // what a receiver whose signature check passed answers
		wantErr string
	}{
		{"2xx", []string{secretNew}, http.StatusNoContent, ""},
		{"server error", []string{secretNew}, http.StatusInternalServerError, "500 Internal Server Error"},
		{"signed with another secret", []string{secretOld}, http.StatusNoContent, "401 Unauthorized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan received, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got <- received{r.Header.Clone(), b}
				if err := wh.Verify(b, r.Header); err != nil {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				w.WriteHeader(tc.status)
			}))
			t.Cleanup(srv.Close)
			c, err := webhook.New(webhook.Config{Name: "ops", URL: srv.URL + "/in", Secrets: tc.secrets}, srv.Client())
			require.NoError(t, err)
			err = c.Verify(context.Background())
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.wantErr)
				require.ErrorContains(t, err, "registry.verify")
			}
			r := <-got
			var body map[string]any
			require.NoError(t, json.Unmarshal(r.body, &body))
			require.Equal(t, "registry.verify", body["type"])
			require.Equal(t, "ops", body["target"])
			require.Equal(t, r.header.Get("webhook-id"), body["id"])
			require.True(t, strings.HasPrefix(body["id"].(string), "msg_"), "%v", body["id"])
			_, err = time.Parse(time.RFC3339, body["timestamp"].(string))
			require.NoError(t, err)
			require.Len(t, body, 4, "id, type, timestamp, target: %s", r.body)
		})
	}
}

// SendEvent merges the event's data into a signed body beside id, type,
// timestamp and target.
func TestSendEvent(t *testing.T) {
	t.Parallel()
	srv, got := receiver(t, http.StatusOK, nil)
	c, err := webhook.New(webhook.Config{Name: "ops", URL: srv.URL, Secrets: []string{secretNew}}, srv.Client())
	require.NoError(t, err)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	require.NoError(t, c.SendEvent(context.Background(), &incidenthub.Event{ID: "msg_1", Type: "registry.secret_rotated",
		Time: at, Target: "ops", Data: map[string]any{"actor": "alice", "entry": map[string]any{"name": "am"}}}))
	r := <-got
	wh, err := standardwebhooks.NewWebhook(secretNew)
	require.NoError(t, err)
	require.NoError(t, wh.Verify(r.body, r.header))
	require.JSONEq(t, `{"id":"msg_1","type":"registry.secret_rotated","timestamp":"2026-03-01T12:00:00Z","target":"ops",
		"actor":"alice","entry":{"name":"am"}}`, string(r.body))
}

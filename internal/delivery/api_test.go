package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/slack/slackfake"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/web"
	"log/slog"
)

// The deliveries API: list with filters, one delivery with its attempts,
// retry one, and retry every dead delivery of a target.
func TestDeliveriesAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		wh := newReceiver(t)
		var reject atomic.Bool
		reject.Store(true)
		gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if reject.Load() {
				http.Error(w, `{"error":"unknown tenant"}`, http.StatusUnprocessableEntity)
				return
			}
			wh.Config.Handler.ServeHTTP(w, r)
		}))
		defer gate.Close()
		yaml := strings.Replace(hubConfig(wh, nil, ""), wh.URL, gate.URL, 1)
		yaml += `api:
  tokens:
    - {name: v, token: viewer-token, role: viewer}
    - {name: o, token: operator-token, role: operator}
`
		h := newHub(t, dialect, yaml)
		h.start(h.eng)
		api := web.New(web.Deps{Store: h.st, Config: func() *config.Config { return h.cfg }, Tokens: h.cfg.API.Tokens,
			Log: discard(), Registry: prometheus.NewRegistry(), Deliveries: h.eng})
		call := func(method, path, token string) (int, map[string]any) {
			r := httptest.NewRequest(method, path, nil)
			r.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, r)
			var body map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
			return rec.Code, body
		}

		// The receiver answers 422: not retried, dead at once.
		// One alert only: a second alert joining would be a further change
		// (alert count), which may become its own incident.updated delivery
		// and die too, depending on when the sync runs.
		h.alert("a", "firing")
		h.drain()
		require.Eventually(t, func() bool { return len(h.deliveries(incidenthub.DeliveryDead)) == 1 }, 10*time.Second, 10*time.Millisecond)

		code, body := call("GET", "/api/v1/deliveries?target=ops&status=dead", "viewer-token")
		require.Equal(t, 200, code)
		list := body["deliveries"].([]any)
		require.Len(t, list, 1)
		d := list[0].(map[string]any)
		require.Equal(t, "incident.opened", d["event"])
		require.EqualValues(t, 422, d["last_status_code"])
		id := int64(d["id"].(float64))
		code, body = call("GET", "/api/v1/deliveries?status=delivered", "viewer-token")
		require.Equal(t, 200, code)
		require.Empty(t, body["deliveries"])
		code, body = call("GET", fmt.Sprintf("/api/v1/deliveries?incident=%d", int64(d["incident_id"].(float64))), "viewer-token")
		require.Equal(t, 200, code)
		require.Len(t, body["deliveries"], 1)
		code, _ = call("GET", "/api/v1/deliveries?status=lost", "viewer-token")
		require.Equal(t, 400, code)

		code, body = call("GET", fmt.Sprintf("/api/v1/deliveries/%d", id), "viewer-token")
		require.Equal(t, 200, code)
		atts := body["attempts"].([]any)
		require.Len(t, atts, 1)
		a := atts[0].(map[string]any)
		require.Equal(t, "POST", a["method"])
		require.Equal(t, "dead", a["outcome"])
		require.EqualValues(t, 422, a["response_status"])
		require.Contains(t, a["response_body"], "unknown tenant")
		require.Contains(t, a["request_body"], `"type":"incident.opened"`)
		raw, _ := json.Marshal(body)
		require.NotContains(t, string(raw), apiKey, "secrets never reach the attempt log")
		code, _ = call("GET", "/api/v1/deliveries/999999", "viewer-token")
		require.Equal(t, 404, code)

		// Retrying needs the operator role; after the receiver is fixed it
		// delivers, with the same idempotency id.
		code, _ = call("POST", fmt.Sprintf("/api/v1/deliveries/%d/retry", id), "viewer-token")
		require.Equal(t, 403, code)
		reject.Store(false)
		code, body = call("POST", fmt.Sprintf("/api/v1/deliveries/%d/retry", id), "operator-token")
		require.Equal(t, 202, code, "%v", body)
		require.Eventually(t, func() bool { return len(wh.got()) == 1 }, 30*time.Second, 10*time.Millisecond)
		require.Equal(t, d["message_id"], wh.got()[0].ID)
		require.Eventually(t, func() bool { return len(h.deliveries(incidenthub.DeliveryDelivered)) == 1 }, 5*time.Second, 10*time.Millisecond)
		code, _ = call("POST", fmt.Sprintf("/api/v1/deliveries/%d/retry", id), "operator-token")
		require.Equal(t, 409, code, "already delivered")

		// Bulk: the receiver rejects again; the resolve dies; retry all dead.
		reject.Store(true)
		h.alert("a", "resolved")
		h.drain()
		require.Eventually(t, func() bool { return len(h.deliveries(incidenthub.DeliveryDead)) == 1 }, 30*time.Second, 10*time.Millisecond)
		reject.Store(false)
		code, body = call("POST", "/api/v1/targets/ops/deliveries/retry", "operator-token")
		require.Equal(t, 202, code)
		require.EqualValues(t, 1, body["retried"])
		require.Eventually(t, func() bool { return len(wh.got()) == 2 }, 30*time.Second, 10*time.Millisecond)
		require.Equal(t, []string{incidenthub.EventOpened, incidenthub.EventResolved}, wh.types())
		code, _ = call("POST", "/api/v1/targets/nope/deliveries/retry", "operator-token")
		require.Equal(t, 404, code)
	})
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Verifier hands the registry a target's check: Slack's auth.test, a
// webhook's signed registry.verify event (which the receiver checks); an
// unknown target has none.
func TestEngineVerifier(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		wh := newReceiver(t)
		sl := slackfake.New(slackToken)
		defer sl.Close()
		h := newHub(t, dialect, hubConfig(wh, sl, ""))
		v := h.eng.Verifier("chat")
		require.NotNil(t, v)
		require.NoError(t, v.Verify(context.Background()))
		require.Nil(t, h.eng.Verifier("nope"))
		require.Equal(t, incidenthub.ENOTFOUND, incidenthub.ErrorCode(h.eng.Verify(context.Background(), "nope")))
		v = h.eng.Verifier("ops")
		require.NotNil(t, v)
		require.NoError(t, v.Verify(context.Background()))
		require.Equal(t, []string{"registry.verify"}, wh.types(), "the receiver got a signed registry.verify event")
		require.Empty(t, sl.Calls(), "verify posts nothing")
	})
}

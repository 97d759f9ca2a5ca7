package web_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/storetest"
)

const duplicateConfig = `
sources:
  - {name: signed, kind: generic, auth: {type: hmac, secret: "${HMAC_SECRET}", header: X-Hub-Signature-256, prefix: "sha256="}}
  - {name: signed-off, kind: generic, auth: {type: hmac, secret: "${HMAC_SECRET}", header: X-Sig, duplicate_window: 0s}}
  - name: slack-style
    kind: generic
    auth:
      type: hmac
      secret: "${HMAC_SECRET}"
      header: X-Slack-Signature
      prefix: "v0="
      timestamp_header: X-Slack-Request-Timestamp
      signed_content: "v0:{timestamp}:{body}"
`

// An HMAC signs the body only, so the same signed request sent again is a
// replay (or the sender's retry): within the source's duplicate_window it
// answers 202 with the first event's id and "duplicate": true, and nothing
// new is stored. Before, it was stored as a new event.
func TestIngestSignedReplayIsDuplicate(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newHub(t, dialect, duplicateConfig, testEnv)
		ctx := context.Background()
		// No "id": the generic kind has no dedup key of its own for it.
		body := []byte(`{"status":"firing","alert_type":"disk_full","host":"db-1"}`)
		sig := "sha256=" + hexMAC(hmacSecret, body)

		first, dup := requireAccepted(t, h.post("signed", body, "X-Hub-Signature-256", sig))
		require.False(t, dup)
		again, dup := requireAccepted(t, h.post("signed", body, "X-Hub-Signature-256", sig))
		require.True(t, dup, "the same signed request again is a duplicate")
		require.Equal(t, first, again)
		respelled, dup := requireAccepted(t, h.post("signed", body, "X-Hub-Signature-256", sig[:7]+strings.ToUpper(sig[7:])))
		require.True(t, dup, "another spelling of the same signature is the same request")
		require.Equal(t, first, respelled)
		require.Equal(t, int64(1), countEvents(t, h.st), "nothing new is stored")
		ev, err := h.st.GetEvent(ctx, first)
		require.NoError(t, err)
		require.Equal(t, 2, ev.Duplicates)
		require.True(t, strings.HasPrefix(*ev.DedupKey, "signed:"), *ev.DedupKey)

		other := []byte(`{"status":"resolved","alert_type":"disk_full","host":"db-1"}`)
		_, dup = requireAccepted(t, h.post("signed", other, "X-Hub-Signature-256", "sha256="+hexMAC(hmacSecret, other)))
		require.False(t, dup, "other content is another event")

		// Past the window (10m by default) the same content is a new event,
		// and the earlier one gives up its key.
		require.NoError(t, h.st.DB.Exec("UPDATE events SET received_at = ? WHERE id = ?", time.Now().UTC().Add(-11*time.Minute), first).Error)
		later, dup := requireAccepted(t, h.post("signed", body, "X-Hub-Signature-256", sig))
		require.False(t, dup, "outside the window the same body is a new event")
		require.NotEqual(t, first, later)
		ev, err = h.st.GetEvent(ctx, first)
		require.NoError(t, err)
		require.Nil(t, ev.DedupKey)
		require.Equal(t, 2, ev.Duplicates, "the earlier event keeps its count")
		_, dup = requireAccepted(t, h.post("signed", body, "X-Hub-Signature-256", sig))
		require.True(t, dup, "and the new one is the original from now on")

		// duplicate_window: 0s turns it off.
		offSig := hexMAC(hmacSecret, body)
		a, dup := requireAccepted(t, h.post("signed-off", body, "X-Sig", offSig))
		require.False(t, dup)
		b, dup := requireAccepted(t, h.post("signed-off", body, "X-Sig", offSig))
		require.False(t, dup)
		require.NotEqual(t, a, b)
		require.Equal(t, int64(5), countEvents(t, h.st))
	})
}

// A vendor that signs a timestamp (Slack's scheme): a replay inside the
// tolerance is a duplicate, one after it is refused, and the sender's own
// new request (a fresh timestamp, signed anew) is a new event.
func TestIngestTimestampedHMAC(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newHub(t, dialect, duplicateConfig, testEnv)
		body := []byte(`{"status":"firing","alert_type":"queue_depth"}`)
		headers := func(at time.Time) []string {
			ts := strconv.FormatInt(at.Unix(), 10)
			return []string{"X-Slack-Request-Timestamp", ts, "X-Slack-Signature", "v0=" + hexMAC(hmacSecret, []byte("v0:"+ts+":"), body)}
		}
		now := time.Now()
		captured := headers(now.Add(-time.Minute))
		first, dup := requireAccepted(t, h.post("slack-style", body, captured...))
		require.False(t, dup)
		again, dup := requireAccepted(t, h.post("slack-style", body, captured...))
		require.True(t, dup, "a replay inside the tolerance is a duplicate")
		require.Equal(t, first, again)

		rec := h.post("slack-style", body, headers(now.Add(-6*time.Minute))...)
		requireError(t, rec, 401, "unauthorized", "stale timestamp", "X-Slack-Request-Timestamp", "5m0s tolerance")
		forged := []string{"X-Slack-Request-Timestamp", strconv.FormatInt(now.Unix(), 10), "X-Slack-Signature", captured[3]}
		requireError(t, h.post("slack-style", body, forged...), 401, "unauthorized", "signature mismatch")

		fresh, dup := requireAccepted(t, h.post("slack-style", body, headers(now)...))
		require.False(t, dup, "the sender's new request, signed anew, is a new event")
		require.NotEqual(t, first, fresh)
		ev, err := h.st.GetEvent(context.Background(), first)
		require.NoError(t, err)
		require.NotEmpty(t, ev.Headers.V["X-Slack-Request-Timestamp"], "the timestamp is kept")
		require.Equal(t, "<redacted>", ev.Headers.V["X-Slack-Signature"])
		require.Equal(t, int64(2), countEvents(t, h.st))
	})
}

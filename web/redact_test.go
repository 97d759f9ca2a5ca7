package web_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// An event's headers are redacted on the way in (by name, the header the
// token is read from, the token by value) and again on the way out, so an
// event stored by an older version shows no more than a new one.
func TestEventHeadersRedacted(t *testing.T) {
	t.Parallel()
	const token = `src-tok-8d2f"e/7a+c=9b`
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		u := newUIHubWithStore(t, storetest.Open(t, dialect), `
sources:
  - {name: app, kind: generic, auth: {type: token, token: '`+token+`', header: Api-Key}}
`, map[string]string{"INCIDENTHUB_API_TOKEN": adminToken})
		h := u.hub
		body := []byte(`{"fingerprint": "f1", "status": "firing", "title": "t"}`)
		rec := h.post("app", body, "Api-Key", token, "X-Relay", "Bearer "+token, "X-Note", "plain")
		id, _ := requireAccepted(t, rec)
		requireError(t, h.post("app", body, "Api-Key", "wrong"), http.StatusUnauthorized, "unauthorized", "invalid token")

		// As an older version stored it: every header in clear.
		old, _, err := h.st.InsertEvent(context.Background(), &store.Event{Source: "app", Kind: "generic", ReceivedAt: time.Now().UTC(),
			Headers: store.JSON[map[string]string]{V: map[string]string{"Api-Key": token, "X-Relay": "Bearer " + token, "X-Note": "plain"}},
			Body:    body})
		require.NoError(t, err)

		for _, id := range []string{id, old} {
			rec := h.get("/api/v1/events/"+id, adminToken)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			ev := decode[eventView](t, rec).Event
			require.Equal(t, "<redacted>", ev.Headers["Api-Key"], "the header the token is read from")
			require.Equal(t, "Bearer <redacted>", ev.Headers["X-Relay"], "the token by value")
			require.Equal(t, "plain", ev.Headers["X-Note"])
		}
		var stored store.Event
		require.NoError(t, h.st.DB.Where("id = ?", id).First(&stored).Error)
		require.Equal(t, map[string]string{"Api-Key": "<redacted>", "X-Relay": "Bearer <redacted>", "X-Note": "plain",
			"Content-Type": "application/json"}, stored.Headers.V, "stored redacted")

		b := u.browser(t)
		b.signIn(adminToken, "/ui/")
		page := b.get("/ui/events/" + old)
		require.Equal(t, http.StatusOK, page.StatusCode, page.Body)
		require.Contains(t, page.Body, "Bearer &lt;redacted&gt;")
		b.requireNoSecrets(token, "src-tok-8d2f&#34;e/7a+c=9b")
	})
}

package delivery_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

// A target that answers with bytes that are not text (a NUL, invalid
// UTF-8, a long body of multi-byte characters that the attempt log cuts
// mid-character) still gets its attempt logged and its delivery an
// outcome: the answer is stored repaired, not refused by the database.
func TestAttemptLogKeepsUnreadableAnswers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		answer := "bad\x00tenant \xff\xfe " + strings.Repeat("é", 40000)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Reason", "caf\xe9")
			w.WriteHeader(http.StatusUnprocessableEntity) // not retried: dead at once
			_, _ = w.Write([]byte(answer))
		}))
		defer srv.Close()
		h := newHub(t, dialect, hubConfig(&receiver{Server: srv}, nil, ""))
		h.start(h.eng)
		h.alert("a", "firing")
		h.drain()
		require.Eventually(t, func() bool { return len(h.deliveries(incidenthub.DeliveryDead)) == 1 }, 20*time.Second, 10*time.Millisecond,
			"the delivery reaches its outcome")
		d := h.deliveries(incidenthub.DeliveryDead)[0]
		got, attempts, err := h.st.GetDelivery(context.Background(), d.ID)
		require.NoError(t, err)
		require.Equal(t, 1, got.Attempts)
		require.Len(t, attempts, 1)
		a := attempts[0]
		require.Equal(t, http.StatusUnprocessableEntity, a.ResponseStatus)
		require.True(t, utf8.ValidString(a.ResponseBody))
		require.NotContains(t, a.ResponseBody, "\x00")
		require.True(t, strings.HasPrefix(a.ResponseBody, "bad"+incidenthub.Replacement+"tenant "), "%.40q", a.ResponseBody)
		require.Contains(t, a.ResponseBody, "…[truncated]")
		for _, v := range a.ResponseHeaders["X-Reason"] {
			require.True(t, utf8.ValidString(v), "%q", v)
		}
		require.True(t, utf8.ValidString(got.LastError))
	})
}

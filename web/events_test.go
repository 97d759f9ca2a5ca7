package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
)

type eventItem struct {
	ID              string     `json:"id"`
	Source          string     `json:"source"`
	Kind            string     `json:"kind"`
	ReceivedAt      time.Time  `json:"received_at"`
	Status          string     `json:"status"`
	Error           string     `json:"error"`
	Attempts        int        `json:"attempts"`
	AlertCount      int        `json:"alert_count"`
	RemoteAddr      string     `json:"remote_addr"`
	ContentType     string     `json:"content_type"`
	Size            int64      `json:"size"`
	Duplicates      int        `json:"duplicates"`
	LastDuplicateAt *time.Time `json:"last_duplicate_at"`
	ProcessedAt     *time.Time `json:"processed_at"`
	Body            any        `json:"body"`
	Headers         any        `json:"headers"`
}

type eventListBody struct {
	Events     []eventItem `json:"events"`
	NextCursor *string     `json:"next_cursor"`
}

func (h *hub) listEvents(t *testing.T, query string) eventListBody {
	t.Helper()
	rec := h.get("/api/v1/events"+query, viewerToken)
	require.Equal(t, http.StatusOK, rec.Code, "GET /api/v1/events%s: %s", query, rec.Body)
	return decode[eventListBody](t, rec)
}

func eventIDs(list []eventItem) []string {
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.ID
	}
	return out
}

// TestAPIListEvents: what GET /api/v1/events answers for each filter, with
// events that were processed, unmapped, failed, left pending and repeated.
func TestAPIListEvents(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newHub(t, dialect, baseConfig, testEnv)
		auth := []string{"Authorization", "Bearer " + sourceToken}
		multiBody := testdata(t, "alertmanager-multi.json")

		multi, _ := requireAccepted(t, h.post("am", multiBody, auth...))
		generic, _ := requireAccepted(t, h.post("gen", testdata(t, "generic-single.json")))
		unmapped, _ := requireAccepted(t, h.post("am", []byte(`{"receiver": "ops"}`), auth...))
		unmappedGen, _ := requireAccepted(t, h.post("gen", []byte(`{"no": "alerts"}`)))
		failed, _ := requireAccepted(t, h.post("gen2", []byte(`{"id": "f-1", "status": "firing", "title": "t"}`)))
		h.drain()
		// A failed event is one whose processing kept failing inside the
		// hub (a database error, say): set it as the processor would.
		require.NoError(t, h.st.DB.Model(&store.Event{}).Where("id = ?", failed).
			Updates(map[string]any{"status": store.EventFailed, "error": "internal error", "attempts": 5}).Error)
		pending, _ := requireAccepted(t, h.post("gen", []byte(`{"id": "p-1", "status": "firing", "title": "later"}`), "Idempotency-Key", "k-1"))
		// The sender repeats two deliveries: 2 and 1 duplicates.
		for range 2 {
			again, dup := requireAccepted(t, h.post("am", multiBody, auth...))
			require.True(t, dup)
			require.Equal(t, multi, again)
		}
		again, dup := requireAccepted(t, h.post("gen", []byte(`{"id": "p-1"}`), "Idempotency-Key", "k-1"))
		require.True(t, dup)
		require.Equal(t, pending, again)

		all := h.listEvents(t, "")
		require.Nil(t, all.NextCursor)
		require.Equal(t, []string{pending, failed, unmappedGen, unmapped, generic, multi}, eventIDs(all.Events), "newest first")
		byID := map[string]eventItem{}
		for _, e := range all.Events {
			byID[e.ID] = e
			require.Nil(t, e.Body, "the list has no bodies")
			require.Nil(t, e.Headers, "the list has no headers")
			require.Equal(t, "192.0.2.1", e.RemoteAddr)
			require.Equal(t, "application/json", e.ContentType)
			require.WithinDuration(t, time.Now(), e.ReceivedAt, time.Minute)
		}
		m := byID[multi]
		require.Equal(t, "am", m.Source)
		require.Equal(t, "alertmanager", m.Kind)
		require.Equal(t, store.EventProcessed, m.Status)
		require.Equal(t, 1, m.Attempts)
		require.Equal(t, 3, m.AlertCount, "alertmanager-multi.json holds three alerts")
		require.EqualValues(t, len(multiBody), m.Size)
		require.Equal(t, 2, m.Duplicates)
		require.NotNil(t, m.LastDuplicateAt)
		require.NotNil(t, m.ProcessedAt)
		require.Equal(t, 1, byID[generic].AlertCount)
		require.Zero(t, byID[generic].Duplicates)
		require.Nil(t, byID[generic].LastDuplicateAt)
		require.Equal(t, store.EventUnmapped, byID[unmapped].Status)
		require.NotEmpty(t, byID[unmapped].Error, "an unmapped event says why")
		require.Zero(t, byID[unmapped].AlertCount)
		require.Equal(t, store.EventFailed, byID[failed].Status)
		require.Equal(t, "internal error", byID[failed].Error)
		require.Equal(t, store.EventPending, byID[pending].Status)
		require.Zero(t, byID[pending].Attempts)
		require.Equal(t, 1, byID[pending].Duplicates)

		// The single event says the same about duplicates.
		rec := h.get("/api/v1/events/"+multi, viewerToken)
		require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
		one := decode[struct{ Event eventItem }](t, rec)
		require.Equal(t, 2, one.Event.Duplicates)
		require.Equal(t, m.LastDuplicateAt.UTC(), one.Event.LastDuplicateAt.UTC())

		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"?source=am", []string{unmapped, multi}},
			{"?source=gen", []string{pending, unmappedGen, generic}},
			{"?source=gone", []string{}},
			{"?status=processed", []string{generic, multi}},
			{"?status=pending", []string{pending}},
			{"?status=unmapped", []string{unmappedGen, unmapped}},
			{"?status=failed", []string{failed}},
			{"?status=duplicate", []string{pending, multi}},
			{"?status=duplicate&source=am", []string{multi}},
			{"?status=unmapped&source=gen", []string{unmappedGen}},
			{"?kind=alertmanager", []string{unmapped, multi}},
			{"?kind=generic&status=processed", []string{generic}},
			{"?source=gen&kind=alertmanager", []string{}},
			{"?since=" + url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)), []string{pending, failed, unmappedGen, unmapped, generic, multi}},
			{"?since=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)), []string{}},
			{"?until=" + url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)), []string{}},
			{"?until=" + url.QueryEscape(byID[generic].ReceivedAt.Format(time.RFC3339Nano)), []string{multi}},
			{"?since=" + url.QueryEscape(byID[generic].ReceivedAt.Format(time.RFC3339Nano)) +
				"&until=" + url.QueryEscape(byID[unmappedGen].ReceivedAt.Format(time.RFC3339Nano)), []string{unmapped, generic}},
		} {
			got := h.listEvents(t, tc.query)
			require.Equal(t, tc.want, eventIDs(got.Events), "GET /api/v1/events%s", tc.query)
			require.NotNil(t, got.Events, "an empty list is [], not null")
		}

		// A viewer may list; without a token nobody may.
		requireError(t, h.get("/api/v1/events", ""), http.StatusUnauthorized, incidenthub.EUNAUTHORIZED)
	})
}

// TestAPIListEventsPaging walks the list a few events at a time while new
// events keep arriving (and some are processed): the pages together hold
// every event that was there when the walk began, each once, in order.
func TestAPIListEventsPaging(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dialect string) {
		t.Parallel()
		h := newHub(t, dialect, baseConfig, testEnv)
		seq := 0
		post := func(source string) {
			seq++
			_, dup := requireAccepted(t, h.post(source, fmt.Appendf(nil, `{"id": "e-%d", "status": "firing", "service": "web", "alert_type": "disk_full", "title": "disk %d", "host": "web-%d"}`, seq, seq, seq%3)))
			require.False(t, dup)
		}
		for i := range 23 {
			post([]string{"gen", "gen", "gen2"}[i%3])
		}
		// stored lists the ids in the database now, newest first, straight
		// from the table.
		stored := func(where string, args ...any) []string {
			var ids []string
			require.NoError(t, h.st.DB.Model(&store.Event{}).Where(where, args...).Order("id DESC").Pluck("id", &ids).Error)
			return ids
		}

		for _, tc := range []struct {
			query string
			where string
			args  []any
		}{
			{"?limit=4", "1 = 1", nil},
			{"?limit=5&source=gen", "source = ?", []any{"gen"}},
			{"?limit=1&status=pending&source=gen2", "status = ? AND source = ?", []any{store.EventPending, "gen2"}},
		} {
			before := stored(tc.where, tc.args...)
			require.NotEmpty(t, before)
			var walked []string
			query := tc.query
			for pages := 0; ; pages++ {
				require.Less(t, pages, 60, "the walk ends")
				page := h.listEvents(t, query)
				require.LessOrEqual(t, len(page.Events), 5)
				walked = append(walked, eventIDs(page.Events)...)
				// New events arrive between pages, to both sources.
				post("gen")
				post("gen2")
				if page.NextCursor == nil {
					break
				}
				require.Equal(t, page.Events[len(page.Events)-1].ID, *page.NextCursor)
				query = tc.query + "&cursor=" + *page.NextCursor
			}
			require.Equal(t, before, walked, "%s: every event once, newest first, none of the newer ones", tc.query)
		}

		// Processing between two pages of status=pending takes the rest out
		// of that list; the same cursor with status=processed then finds
		// exactly the events older than it.
		first := h.listEvents(t, "?limit=10&status=pending")
		require.Len(t, first.Events, 10)
		require.NotNil(t, first.NextCursor)
		cursor := *first.NextCursor
		h.drain()
		require.Empty(t, h.listEvents(t, "?status=pending&cursor="+cursor).Events)
		rest := h.listEvents(t, "?limit=500&status=processed&cursor="+cursor)
		require.Equal(t, stored("id < ?", cursor), eventIDs(rest.Events))
	})
}

// TestAPIListEventsBadParams: each bad parameter is a 400 whose message
// names it.
func TestAPIListEventsBadParams(t *testing.T) {
	t.Parallel()
	h := newHub(t, store.SQLite, baseConfig, testEnv)
	for _, tc := range []struct{ query, word string }{
		{"?status=mapped", "status"},
		{"?status=PROCESSED", "status"},
		{"?since=yesterday", "since"},
		{"?since=2026-03-01", "since"},
		{"?until=1767225600", "until"},
		{"?since=2026-03-01T12:00:00Z&until=2026-03-01T12:00:00Z", "since"},
		{"?since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z", "since"},
		{"?limit=0", "limit"},
		{"?limit=501", "limit"},
		{"?limit=ten", "limit"},
		{"?cursor=42", "cursor"},
		{"?cursor=" + url.QueryEscape("' OR 1=1 --"), "cursor"},
	} {
		rec := h.get("/api/v1/events"+tc.query, viewerToken)
		body := requireError(t, rec, http.StatusBadRequest, incidenthub.EINVALID, tc.word)
		require.True(t, strings.HasPrefix(body.Error.Message, tc.word), "%s: %q names %s first", tc.query, body.Error.Message, tc.word)
	}
	// A source or kind nobody sends is no error: just no events.
	require.Empty(t, h.listEvents(t, "?source=nope&kind=nope").Events)
}

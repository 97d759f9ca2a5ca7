package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
)

// eventSummary is one item of GET /api/v1/events: the event without its
// body, headers and alerts (GET /api/v1/events/{id} has those).
type eventSummary struct {
	ID              string     `json:"id"`
	Source          string     `json:"source"`
	Kind            string     `json:"kind"`
	ReceivedAt      time.Time  `json:"received_at"`
	Status          string     `json:"status"`
	Error           string     `json:"error,omitempty"`
	Attempts        int        `json:"attempts"`
	AlertCount      int        `json:"alert_count"`
	RemoteAddr      string     `json:"remote_addr"`
	ContentType     string     `json:"content_type"`
	Size            int64      `json:"size"`
	Duplicates      int        `json:"duplicates"`
	LastDuplicateAt *time.Time `json:"last_duplicate_at,omitempty"`
	ProcessedAt     *time.Time `json:"processed_at,omitempty"`
}

func summaryView(e *store.EventSummary) eventSummary {
	return eventSummary{
		ID: e.ID, Source: e.Source, Kind: e.Kind, ReceivedAt: e.ReceivedAt, Status: e.Status, Error: e.Error,
		Attempts: e.Attempts, AlertCount: e.AlertCount, RemoteAddr: e.RemoteAddr, ContentType: e.ContentType,
		Size: e.Size, Duplicates: e.Duplicates, LastDuplicateAt: e.LastDuplicateAt, ProcessedAt: e.ProcessedAt,
	}
}

type eventList struct {
	Events     []eventSummary `json:"events"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// eventFilter reads the query of GET /api/v1/events (and the Events
// screen): source, status, kind, since, until, limit and cursor. Each bad
// value is a 400 that names its parameter.
func eventFilter(c *gin.Context) (store.EventFilter, error) {
	f := store.EventFilter{Source: c.Query("source"), Status: c.Query("status"), Kind: c.Query("kind")}
	if f.Status != "" && !slices.Contains(store.EventStatuses, f.Status) {
		return f, incidenthub.Errorf(incidenthub.EINVALID, "status must be %s (got %q)", strings.Join(store.EventStatuses, ", "), f.Status)
	}
	var err error
	if f.Since, err = timeParam(c, "since"); err != nil {
		return f, err
	}
	if f.Until, err = timeParam(c, "until"); err != nil {
		return f, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, incidenthub.Errorf(incidenthub.EINVALID, "since (%s) must be before until (%s)", c.Query("since"), c.Query("until"))
	}
	if f.Limit, err = intParam(c, "limit", 50, 1, 500); err != nil {
		return f, err
	}
	if v := c.Query("cursor"); v != "" {
		// Event ids are UUIDv7s; the cursor is the last id of a page.
		id, err := uuid.Parse(v)
		if err != nil {
			return f, incidenthub.Errorf(incidenthub.EINVALID, "cursor %q is not a cursor returned by this API", v)
		}
		f.After = id.String()
	}
	return f, nil
}

// timeParam parses an optional RFC 3339 time; the zero time when absent.
func timeParam(c *gin.Context, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, incidenthub.Errorf(incidenthub.EINVALID, "%s must be an RFC 3339 time such as 2026-03-01T12:00:00Z (got %q)", name, v)
	}
	return t, nil
}

// listEvents answers received events newest first, one page at a time.
func (s *server) listEvents(c *gin.Context) {
	f, err := eventFilter(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	list, next, err := s.Store.ListEvents(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := eventList{Events: make([]eventSummary, len(list)), NextCursor: next}
	for i := range list {
		out.Events[i] = summaryView(&list[i])
	}
	c.JSON(http.StatusOK, out)
}

// eventBody is how GET /api/v1/events/{id} shows a stored body, always as
// valid UTF-8 JSON (RFC 8259 §8.1): the JSON document itself, or a JSON
// string of a body that is not JSON. json.Valid accepts invalid UTF-8
// inside strings, so a body that is not valid UTF-8 is shown with each
// invalid sequence as U+FFFD (still the same JSON document: such bytes can
// only be inside its strings) and b64 is the exact body, base64-encoded;
// b64 is "" for a valid UTF-8 body.
func eventBody(raw []byte) (body json.RawMessage, b64 string) {
	text := raw
	if !utf8.Valid(raw) {
		text = bytes.ToValidUTF8(raw, []byte(incidenthub.Replacement))
		b64 = base64.StdEncoding.EncodeToString(raw)
	}
	if json.Valid(text) {
		return text, b64
	}
	s, _ := json.Marshal(string(text)) // a string never fails to encode
	return s, b64
}

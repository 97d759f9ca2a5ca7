package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
)

type incidentList struct {
	Incidents  []incidenthub.Incident `json:"incidents"`
	NextCursor string                 `json:"next_cursor,omitempty"`
}

func (s *server) listIncidents(c *gin.Context) {
	f, err := incidentFilter(c.Query)
	if err != nil {
		s.fail(c, err)
		return
	}
	if f.Limit, err = intParam(c, "limit", 50, 1, 500); err != nil {
		s.fail(c, err)
		return
	}
	list, next, err := s.Store.ListIncidents(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, incidentList{Incidents: list, NextCursor: next})
}

// incidentFilter reads the incident list's filters (shared by the API and
// the web UI) from query parameters: status, service, key, severity,
// source, target, q, order and cursor.
func incidentFilter(query func(string) string) (store.IncidentFilter, error) {
	f := store.IncidentFilter{
		Status: query("status"), Service: query("service"), Key: query("key"), Severity: query("severity"),
		Source: query("source"), Target: query("target"), Text: query("q"), Order: query("order"),
		Cursor: query("cursor"),
	}
	if f.Status != "" && !incidenthub.IncidentStatus(f.Status).Valid() {
		return f, incidenthub.Errorf(incidenthub.EINVALID, "status must be open, acknowledged or resolved (got %q)", f.Status)
	}
	if f.Severity != "" && !incidenthub.Severity(f.Severity).Valid() {
		return f, incidenthub.Errorf(incidenthub.EINVALID, "severity must be critical, high, warning or info (got %q)", f.Severity)
	}
	if !store.ValidOrder(f.Order) {
		return f, incidenthub.Errorf(incidenthub.EINVALID, "order must be %s or %s (got %q)", store.OrderOpened, store.OrderActivity, f.Order)
	}
	if len(f.Text) > 200 {
		return f, incidenthub.Errorf(incidenthub.EINVALID, "q is longer than 200 characters")
	}
	return f, nil
}

// pageParams reads limit (def when absent, at most max) and the opaque
// cursor a previous page returned.
func pageParams(c *gin.Context, def, max int) (limit int, cursor int64, err error) {
	if limit, err = intParam(c, "limit", def, 1, max); err != nil {
		return 0, 0, err
	}
	if v := c.Query("cursor"); v != "" {
		if cursor, err = strconv.ParseInt(v, 10, 64); err != nil || cursor <= 0 {
			return 0, 0, incidenthub.Errorf(incidenthub.EINVALID, "cursor %q is not a cursor returned by this API", v)
		}
	}
	return limit, cursor, nil
}

// nextCursor renders a store's next-page id; "" on the last page.
func nextCursor(next int64) string {
	if next <= 0 {
		return ""
	}
	return strconv.FormatInt(next, 10)
}

func intParam(c *gin.Context, name string, def, min, max int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, incidenthub.Errorf(incidenthub.EINVALID, "%s must be a whole number from %d to %d (got %q)", name, min, max, v)
	}
	return n, nil
}

// boolParam parses an optional true/false query parameter; nil when absent.
func boolParam(c *gin.Context, name string) (*bool, error) {
	v := c.Query(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, incidenthub.Errorf(incidenthub.EINVALID, "%s must be true or false (got %q)", name, v)
	}
	return &b, nil
}

func idParam(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, incidenthub.Errorf(incidenthub.EINVALID, "incident id %q is not a positive integer", c.Param("id"))
	}
	return id, nil
}

func (s *server) getIncident(c *gin.Context) {
	id, err := idParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	inc, alerts, err := s.Store.GetIncident(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	// What each outbound target holds for it: remote ids and links.
	targets, err := s.Store.IncidentTargets(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"incident": inc, "alerts": alerts, "targets": targets})
}

type eventView struct {
	ID          string              `json:"id"`
	Source      string              `json:"source"`
	Kind        string              `json:"kind"`
	ReceivedAt  time.Time           `json:"received_at"`
	RemoteAddr  string              `json:"remote_addr"`
	ContentType string              `json:"content_type"`
	Headers     map[string]string   `json:"headers"`
	Body        json.RawMessage     `json:"body"`
	BodyBase64  string              `json:"body_base64,omitempty"` // the exact body when not valid UTF-8 (eventBody)
	Status      string              `json:"status"`
	Error       string              `json:"error,omitempty"`
	Note        string              `json:"note,omitempty"`
	Attempts    int                 `json:"attempts"`
	Alerts      []incidenthub.Alert `json:"alerts"`
	// Warnings: what normalization worked around, e.g. an unreadable
	// starts_at; empty for none.
	Warnings    []incidenthub.Warning `json:"warnings"`
	ProcessedAt *time.Time            `json:"processed_at,omitempty"`
	// Repeats of this event that were acknowledged but not stored again.
	Duplicates      int        `json:"duplicates"`
	LastDuplicateAt *time.Time `json:"last_duplicate_at,omitempty"`
	// BodyPurgedAt: retention blanked the body and headers at this time
	// (retention.event_bodies); body is then null and headers empty.
	BodyPurgedAt *time.Time `json:"body_purged_at,omitempty"`
}

func (s *server) getEvent(c *gin.Context) {
	ev, err := s.Store.GetEvent(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	body, body64 := eventBody(ev.Body)
	if ev.BodyPurgedAt != nil {
		body, body64 = json.RawMessage("null"), ""
	}
	alerts := ev.Alerts.V
	if alerts == nil {
		alerts = []incidenthub.Alert{}
	}
	warnings := ev.Warnings.V
	if warnings == nil {
		warnings = []incidenthub.Warning{}
	}
	c.JSON(http.StatusOK, gin.H{"event": eventView{
		ID: ev.ID, Source: ev.Source, Kind: ev.Kind, ReceivedAt: ev.ReceivedAt, RemoteAddr: ev.RemoteAddr,
		ContentType: ev.ContentType, Headers: s.shownHeaders(c.Request.Context(), ev), Body: body, BodyBase64: body64, Status: ev.Status, Error: ev.Error,
		Note: ev.Note, Attempts: ev.Attempts, Alerts: alerts, Warnings: warnings, ProcessedAt: ev.ProcessedAt,
		Duplicates: ev.Duplicates, LastDuplicateAt: ev.LastDuplicateAt, BodyPurgedAt: ev.BodyPurgedAt,
	}})
}

package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/silence"
)

// maxSilenceBody bounds a silence request's JSON body.
const maxSilenceBody = 64 << 10

// silenceBody is POST /api/v1/silences. Matchers are objects
// ({"name","op","value"}) or amtool-style strings ("service=checkout").
// Times are RFC 3339; duration is a Go duration ("2h", "90m"). The author
// is the API token's name, never a field.
type silenceBody struct {
	Matchers []json.RawMessage `json:"matchers"`
	Expr     string            `json:"expr"`
	StartsAt string            `json:"starts_at"`
	EndsAt   string            `json:"ends_at"`
	Duration string            `json:"duration"`
	Comment  string            `json:"comment"`
}

// extendBody is POST /api/v1/silences/{id}/extend: one of the two.
type extendBody struct {
	EndsAt   string `json:"ends_at"`
	ExtendBy string `json:"extend_by"`
}

// queryBody is POST /api/v1/silences/query.
type queryBody struct {
	Alert *incidenthub.Alert `json:"alert"`
	At    string             `json:"at"`
}

// readJSON decodes a required JSON object body strictly into v; problems
// name the field (400).
func readJSON(c *gin.Context, v any, example string) error {
	data, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxSilenceBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return incidenthub.Errorf(incidenthub.ETOOLARGE, "body is larger than %d bytes", maxSilenceBody)
		}
		return incidenthub.Errorf(incidenthub.EINVALID, "read body: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return incidenthub.Errorf(incidenthub.EINVALID, "a JSON body is required, e.g. %s", example)
	}
	if ct := c.ContentType(); ct != "" && ct != "application/json" {
		return incidenthub.Errorf(incidenthub.EUNSUPPORTED, "content type must be application/json (got %q)", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return incidenthub.Errorf(incidenthub.EINVALID, "%s: must be a JSON %s", te.Field, jsonKind(te.Type.Kind().String()))
		case errors.As(err, &se):
			return incidenthub.Errorf(incidenthub.EINVALID, "body is not valid JSON (at byte %d): %v", se.Offset, err)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return incidenthub.Errorf(incidenthub.EINVALID, "body is not valid JSON: it ends early")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.TrimPrefix(err.Error(), "json: unknown field ")
			if f == `"created_by"` {
				return incidenthub.Errorf(incidenthub.EINVALID, "created_by: the author is the API token's name and cannot be set")
			}
			return incidenthub.Errorf(incidenthub.EINVALID, "unknown field %s (e.g. %s)", f, example)
		}
		return incidenthub.Errorf(incidenthub.EINVALID, "body must be a JSON object, e.g. %s: %v", example, err)
	}
	if dec.More() {
		return incidenthub.Errorf(incidenthub.EINVALID, "body holds more than one JSON value")
	}
	return nil
}

func jsonKind(k string) string {
	switch k {
	case "slice":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	}
	return k
}

// parseTime reads an optional RFC 3339 time of field; zero when empty.
func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, incidenthub.Errorf(incidenthub.EINVALID, "%s: %q is not an RFC 3339 time (e.g. 2026-12-01T14:00:00Z)", field, v)
	}
	return t, nil
}

// parseDuration reads an optional duration of field ("2h", "90m", "1h30m").
func parseDuration(field, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, incidenthub.Errorf(incidenthub.EINVALID, "%s: %q is not a positive duration (e.g. 2h, 90m, 1h30m)", field, v)
	}
	return d, nil
}

// newSilence turns the request into silence.New by actor.
func (b *silenceBody) newSilence(actor string) (silence.New, error) {
	n := silence.New{Expr: b.Expr, Comment: b.Comment, CreatedBy: actor}
	for i, raw := range b.Matchers {
		var m silence.Matcher
		var text string
		switch {
		case json.Unmarshal(raw, &text) == nil:
			pm, err := silence.ParseMatcher(text)
			if err != nil {
				return n, incidenthub.Errorf(incidenthub.EINVALID, "matchers[%d]: %v", i, err)
			}
			m = pm
		default:
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&m); err != nil {
				return n, incidenthub.Errorf(incidenthub.EINVALID, `matchers[%d]: want {"name": …, "op": "=", "value": …} or "name=value": %v`, i, err)
			}
		}
		n.Matchers = append(n.Matchers, m)
	}
	var err error
	if n.StartsAt, err = parseTime("starts_at", b.StartsAt); err != nil {
		return n, err
	}
	if n.EndsAt, err = parseTime("ends_at", b.EndsAt); err != nil {
		return n, err
	}
	if n.Duration, err = parseDuration("duration", b.Duration); err != nil {
		return n, err
	}
	if !n.EndsAt.IsZero() && n.Duration > 0 {
		return n, incidenthub.Errorf(incidenthub.EINVALID, "duration: give ends_at or duration, not both")
	}
	return n, nil
}

const silenceExample = `{"matchers": ["service=checkout", "alertname=~\"5xx.*\""], "duration": "2h", "comment": "deploy CHG-42"}`

func (s *server) createSilence(c *gin.Context) {
	var b silenceBody
	if err := readJSON(c, &b, silenceExample); err != nil {
		s.fail(c, err)
		return
	}
	n, err := b.newSilence(c.GetString("actor"))
	if err != nil {
		s.fail(c, err)
		return
	}
	sil, err := silence.Create(c.Request.Context(), s.Store.DB, n)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/silences/"+sil.ID)
	c.JSON(http.StatusCreated, gin.H{"silence": sil})
}

type silenceList struct {
	Silences   []silence.Silence `json:"silences"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

func (s *server) listSilences(c *gin.Context) {
	f := silence.Filter{State: silence.State(c.Query("state")), Cursor: c.Query("cursor")}
	var err error
	if f.Limit, err = intParam(c, "limit", 100, 1, 1000); err != nil {
		s.fail(c, err)
		return
	}
	list, next, err := silence.List(c.Request.Context(), s.Store.DB, f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, silenceList{Silences: list, NextCursor: next})
}

func (s *server) getSilence(c *gin.Context) {
	sil, err := silence.Get(c.Request.Context(), s.Store.DB, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"silence": sil})
}

func (s *server) expireSilence(c *gin.Context) {
	sil, err := silence.Expire(c.Request.Context(), s.Store.DB, c.Param("id"), c.GetString("actor"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"silence": sil})
}

func (s *server) extendSilence(c *gin.Context) {
	var b extendBody
	if err := readJSON(c, &b, `{"extend_by": "1h"} or {"ends_at": "2026-12-01T18:00:00Z"}`); err != nil {
		s.fail(c, err)
		return
	}
	end, err := parseTime("ends_at", b.EndsAt)
	if err != nil {
		s.fail(c, err)
		return
	}
	by, err := parseDuration("extend_by", b.ExtendBy)
	if err != nil {
		s.fail(c, err)
		return
	}
	var sil silence.Silence
	switch {
	case end.IsZero() == (by == 0):
		s.fail(c, incidenthub.Errorf(incidenthub.EINVALID, "ends_at: give ends_at or extend_by (one of them)"))
		return
	case by > 0:
		sil, err = silence.ExtendBy(c.Request.Context(), s.Store.DB, c.Param("id"), c.GetString("actor"), by)
	default:
		sil, err = silence.Extend(c.Request.Context(), s.Store.DB, c.Param("id"), c.GetString("actor"), end)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"silence": sil})
}

func (s *server) querySilences(c *gin.Context) {
	var b queryBody
	if err := readJSON(c, &b, `{"alert": {"service": "checkout", "labels": {"alertname": "5xx-rate"}}}`); err != nil {
		s.fail(c, err)
		return
	}
	if b.Alert == nil {
		s.fail(c, incidenthub.Errorf(incidenthub.EINVALID, `alert: is required, e.g. {"alert": {"service": "checkout", "labels": {"alertname": "5xx-rate"}}}`))
		return
	}
	at, err := parseTime("at", b.At)
	if err != nil {
		s.fail(c, err)
		return
	}
	list, err := silence.Query(c.Request.Context(), s.Store.DB, *b.Alert, at)
	if err != nil {
		s.fail(c, fmt.Errorf("query silences: %w", err))
		return
	}
	if list == nil {
		list = []silence.Silence{}
	}
	c.JSON(http.StatusOK, silenceList{Silences: list})
}

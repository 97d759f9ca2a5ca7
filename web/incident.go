package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/audit"
)

// maxActionBody bounds a manual action's JSON body.
const maxActionBody = 64 << 10

// actionBody is the optional body of acknowledge, resolve and reopen, and
// the body of merge and split.
type actionBody struct {
	Note        string `json:"note"`
	From        int64  `json:"from"`        // merge: the incident merged into this one
	Fingerprint string `json:"fingerprint"` // split: the alert to split out
	Source      string `json:"source"`      // split: its source, when fingerprints collide
}

// readAction decodes the request body strictly; an empty body is allowed.
func readAction(c *gin.Context, allowed ...string) (actionBody, error) {
	var b actionBody
	data, err := io.ReadAll(io.LimitReader(c.Request.Body, maxActionBody+1))
	if err != nil {
		return b, incidenthub.Errorf(incidenthub.EINVALID, "read body: %v", err)
	}
	if len(data) > maxActionBody {
		return b, incidenthub.Errorf(incidenthub.ETOOLARGE, "body is larger than %d bytes", maxActionBody)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return b, nil
	}
	if ct := c.ContentType(); ct != "" && ct != "application/json" {
		return b, incidenthub.Errorf(incidenthub.EUNSUPPORTED, "content type must be application/json (got %q)", ct)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return b, incidenthub.Errorf(incidenthub.EINVALID, "body must be a JSON object: %v", err)
	}
	for k := range raw {
		if k != "note" && !contains(allowed, k) {
			known := append([]string{"note"}, allowed...)
			return b, incidenthub.Errorf(incidenthub.EINVALID, "unknown field %q (known: %s)", k, strings.Join(known, ", "))
		}
	}
	if err := json.Unmarshal(data, &b); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return b, incidenthub.Errorf(incidenthub.EINVALID, "field %q must be a JSON %s", te.Field, te.Type.Kind())
		}
		return b, incidenthub.Errorf(incidenthub.EINVALID, "invalid body: %v", err)
	}
	if len(b.Note) > 2000 {
		return b, incidenthub.Errorf(incidenthub.EINVALID, `"note" is longer than 2000 characters`)
	}
	return b, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// act runs fn with runAction, then answers with the incident with id
// show.
func (s *server) act(c *gin.Context, name string, fn func(tx *gorm.DB, act correlation.Action) ([]correlation.Change, error), show func([]correlation.Change) int64, status int) {
	changes, err := s.runAction(c.Request.Context(), c.GetString("actor"), name, fn)
	if err != nil {
		s.fail(c, err)
		return
	}
	inc, alerts, err := s.Store.GetIncident(c.Request.Context(), show(changes))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(status, gin.H{"incident": inc, "alerts": alerts})
}

// runAction runs a manual incident action fn by actor in one transaction
// with the notifier and the audit record (action "incident.<name>"). The
// API and the web UI both act through it.
func (s *server) runAction(ctx context.Context, actor, name string, fn func(tx *gorm.DB, act correlation.Action) ([]correlation.Change, error)) ([]correlation.Change, error) {
	var changes []correlation.Change
	err := s.Store.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		act := correlation.Action{Actor: actor}
		changes, err = fn(tx, act)
		if err != nil {
			return err
		}
		for _, ch := range changes {
			if err := audit.Record(tx, audit.Entry{
				Actor: act.Actor, Action: "incident." + name, EntityType: "incident",
				Entity: strconv.FormatInt(ch.IncidentID, 10),
				After:  map[string]any{"outcome": ch.Outcome, "key": ch.Key}, Detail: ch.Reason,
			}); err != nil {
				return err
			}
		}
		for _, ch := range changes {
			if ch.Notify && s.Notifier != nil {
				if err := s.Notifier.IncidentChanged(tx, ch); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		correlation.LogChanges(ctx, s.Log, changes)
	}
	return changes, err
}

func first(changes []correlation.Change) int64 { return changes[0].IncidentID }

// simpleAction serves acknowledge, resolve and reopen.
func (s *server) simpleAction(c *gin.Context, name string, do func(*gorm.DB, int64, correlation.Action) (correlation.Change, error)) {
	id, err := idParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	body, err := readAction(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.act(c, name, func(tx *gorm.DB, act correlation.Action) ([]correlation.Change, error) {
		act.Note = body.Note
		ch, err := do(tx, id, act)
		return []correlation.Change{ch}, err
	}, first, http.StatusOK)
}

func (s *server) acknowledgeIncident(c *gin.Context) {
	s.simpleAction(c, "acknowledge", correlation.Acknowledge)
}
func (s *server) resolveIncident(c *gin.Context) { s.simpleAction(c, "resolve", correlation.Resolve) }
func (s *server) reopenIncident(c *gin.Context)  { s.simpleAction(c, "reopen", correlation.Reopen) }

// mergeIncident merges body.from into the incident in the path.
func (s *server) mergeIncident(c *gin.Context) {
	id, err := idParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	body, err := readAction(c, "from")
	if err != nil {
		s.fail(c, err)
		return
	}
	if body.From <= 0 {
		s.fail(c, incidenthub.Errorf(incidenthub.EINVALID, `"from" is required: the id of the incident to merge into incident %d`, id))
		return
	}
	s.act(c, "merge", func(tx *gorm.DB, act correlation.Action) ([]correlation.Change, error) {
		act.Note = body.Note
		return correlation.Merge(tx, id, body.From, act)
	}, first, http.StatusOK)
}

// splitIncident moves body.fingerprint out into a new incident and answers
// 201 with the new incident.
func (s *server) splitIncident(c *gin.Context) {
	id, err := idParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	body, err := readAction(c, "fingerprint", "source")
	if err != nil {
		s.fail(c, err)
		return
	}
	s.act(c, "split", func(tx *gorm.DB, act correlation.Action) ([]correlation.Change, error) {
		act.Note = body.Note
		return correlation.SplitAlert(tx, id, body.Source, body.Fingerprint, act)
	}, first, http.StatusCreated)
}

type timelineList struct {
	Timeline   []incidenthub.TimelineEntry `json:"timeline"`
	NextCursor string                      `json:"next_cursor,omitempty"`
}

// incidentTimeline lists an incident's timeline, oldest first.
func (s *server) incidentTimeline(c *gin.Context) {
	id, err := idParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	limit, after, err := pageParams(c, 100, 1000)
	if err != nil {
		s.fail(c, err)
		return
	}
	entries, next, err := s.Store.Timeline(c.Request.Context(), id, after, limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, timelineList{Timeline: entries, NextCursor: nextCursor(next)})
}

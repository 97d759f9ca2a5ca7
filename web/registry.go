package web

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/registry"
)

// needRegistry answers 503 when the hub runs without a registry.
func (s *server) needRegistry(c *gin.Context) {
	if s.Webhooks == nil {
		s.fail(c, incidenthub.Errorf(incidenthub.EUNAVAILABLE, "the webhook registry is not running on this hub"))
		return
	}
	c.Next()
}

type registryList struct {
	Entries    []registry.Entry `json:"entries"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

func directionParam(c *gin.Context) (string, error) {
	d := c.Query("direction")
	if d != "" && d != registry.Inbound && d != registry.Outbound {
		return "", incidenthub.Errorf(incidenthub.EINVALID, "direction must be inbound or outbound (got %q)", d)
	}
	return d, nil
}

// listRegistry: GET /api/v1/registry?direction=&owner=&stale=&rotation_overdue=&failing=&limit=&cursor=
func (s *server) listRegistry(c *gin.Context) {
	var (
		f   registry.ListFilter
		err error
	)
	if f.Direction, err = directionParam(c); err != nil {
		s.fail(c, err)
		return
	}
	f.Owner = c.Query("owner")
	for name, dst := range map[string]**bool{"stale": &f.Stale, "rotation_overdue": &f.RotationOverdue, "failing": &f.Failing} {
		if *dst, err = boolParam(c, name); err != nil {
			s.fail(c, err)
			return
		}
	}
	limit, err := intParam(c, "limit", 100, 1, 500)
	if err != nil {
		s.fail(c, err)
		return
	}
	list, err := s.Webhooks.List(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	// Entries are sorted by direction, then name; the cursor is the last
	// one returned.
	if cur := c.Query("cursor"); cur != "" {
		i := 0
		for i < len(list) && list[i].Direction+"/"+list[i].Name <= cur {
			i++
		}
		list = list[i:]
	}
	out := registryList{Entries: list}
	if len(list) > limit {
		out.Entries = list[:limit]
		last := out.Entries[limit-1]
		out.NextCursor = last.Direction + "/" + last.Name
	}
	c.JSON(http.StatusOK, out)
}

func (s *server) getRegistryEntry(c *gin.Context) {
	dir, err := directionParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	e, err := s.Webhooks.Get(c.Request.Context(), dir, c.Param("name"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"entry": e})
}

// bindOptional decodes an optional JSON body into v, strictly.
func bindOptional(c *gin.Context, v any) error {
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, 1<<20))
	if err != nil {
		return incidenthub.Errorf(incidenthub.EINVALID, "read body: %v", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return incidenthub.Errorf(incidenthub.EINVALID, "body: %v", err)
	}
	return nil
}

// secretResponse shows a secret its one time, and keeps it out of caches.
func secretResponse(c *gin.Context, status int, e registry.Entry, secret string) {
	c.Header("Cache-Control", "no-store")
	out := gin.H{"entry": e}
	if secret != "" {
		out["secret"] = secret
		out["notice"] = "this secret is shown once and never again: store it now"
	}
	c.JSON(status, out)
}

func (s *server) rotateRegistryEntry(c *gin.Context) {
	dir, err := directionParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var body struct {
		Overlap string `json:"overlap"`
		// Secret, when set, is the new secret a vendor issued (Sentry,
		// PagerDuty): stored instead of a generated one, never echoed.
		Secret *string `json:"secret"`
	}
	if err := bindOptional(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	var overlap *time.Duration
	if body.Overlap != "" {
		d, err := time.ParseDuration(body.Overlap)
		if err != nil || d < 0 {
			s.fail(c, incidenthub.Errorf(incidenthub.EINVALID, "overlap %q is not a duration (e.g. 1h, 24h; 0s for none)", body.Overlap))
			return
		}
		overlap = &d
	}
	var (
		e      registry.Entry
		secret string
	)
	if body.Secret != nil {
		e, err = s.Webhooks.RotateTo(c.Request.Context(), c.GetString("actor"), dir, c.Param("name"), *body.Secret, overlap)
	} else {
		e, secret, err = s.Webhooks.Rotate(c.Request.Context(), c.GetString("actor"), dir, c.Param("name"), overlap)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	secretResponse(c, http.StatusOK, e, secret)
}

func (s *server) revokeRegistryEntry(c *gin.Context) {
	dir, err := directionParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var body struct {
		PreviousOnly bool `json:"previous_only"`
	}
	if err := bindOptional(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	e, secret, err := s.Webhooks.Revoke(c.Request.Context(), c.GetString("actor"), dir, c.Param("name"), body.PreviousOnly)
	if err != nil {
		s.fail(c, err)
		return
	}
	secretResponse(c, http.StatusOK, e, secret)
}

func (s *server) revealRegistryEntry(c *gin.Context) {
	dir, err := directionParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	e, secret, err := s.Webhooks.Reveal(c.Request.Context(), c.GetString("actor"), dir, c.Param("name"))
	if err != nil {
		s.fail(c, err)
		return
	}
	secretResponse(c, http.StatusOK, e, secret)
}

func (s *server) verifyRegistryEntry(c *gin.Context) {
	dir, err := directionParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	e, v, err := s.Webhooks.Verify(c.Request.Context(), c.GetString("actor"), dir, c.Param("name"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"entry": e, "verification": v})
}

type createEntryRequest struct {
	Name      string `json:"name"`
	Direction string `json:"direction"`
	registry.Fields
}

func (s *server) createRegistryEntry(c *gin.Context) {
	var req createEntryRequest
	if err := bindOptional(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	e, secret, err := s.Webhooks.Create(c.Request.Context(), c.GetString("actor"), req.Direction, req.Name, req.Fields)
	if err != nil {
		s.fail(c, err)
		return
	}
	secretResponse(c, http.StatusCreated, e, secret)
}

func (s *server) updateRegistryEntry(c *gin.Context) {
	dir, err := directionParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var f registry.Fields
	if err := bindOptional(c, &f); err != nil {
		s.fail(c, err)
		return
	}
	e, err := s.Webhooks.Update(c.Request.Context(), c.GetString("actor"), dir, c.Param("name"), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"entry": e})
}

func (s *server) deleteRegistryEntry(c *gin.Context) {
	dir, err := directionParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.Webhooks.Delete(c.Request.Context(), c.GetString("actor"), dir, c.Param("name")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type auditList struct {
	Records    []audit.Entry `json:"records"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// listAudit: GET /api/v1/audit?actor=&action=&entity_type=&entity=&since=&until=&limit=&cursor=
func (s *server) listAudit(c *gin.Context) {
	f := audit.Filter{Actor: c.Query("actor"), Action: c.Query("action"), EntityType: c.Query("entity_type"), Entity: c.Query("entity")}
	var err error
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := c.Query(name); v != "" {
			if *dst, err = time.Parse(time.RFC3339, v); err != nil {
				s.fail(c, incidenthub.Errorf(incidenthub.EINVALID, "%s %q is not an RFC 3339 time (e.g. 2026-03-01T12:00:00Z)", name, v))
				return
			}
		}
	}
	if f.Limit, f.BeforeID, err = pageParams(c, 100, 1000); err != nil {
		s.fail(c, err)
		return
	}
	list, next, err := audit.List(c.Request.Context(), s.Store.DB, f)
	if err != nil {
		s.fail(c, err)
		return
	}
	if list == nil {
		list = []audit.Entry{}
	}
	c.JSON(http.StatusOK, auditList{Records: list, NextCursor: nextCursor(next)})
}

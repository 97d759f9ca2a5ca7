package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
)

// replayEvent puts one unmapped or failed event back to pending, to be
// mapped and correlated again with the current mappings. A processed
// event needs ?force=true: its alerts then reach correlation a second time.
func (s *server) replayEvent(c *gin.Context) {
	force, err := boolParam(c, "force")
	if err != nil {
		s.fail(c, err)
		return
	}
	ev, err := s.Store.GetEvent(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	ev, err = s.Store.ReplayEvent(c.Request.Context(), ev.ID, s.currentKind(ev.Source), force != nil && *force)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.Log.Info("event replayed", "event_id", ev.ID, "source", ev.Source, "kind", ev.Kind, "force", force, "actor", c.GetString("actor"))
	s.Accepted()
	c.JSON(http.StatusAccepted, gin.H{"event_id": ev.ID, "status": ev.Status, "kind": ev.Kind})
}

// replaySource puts every event of a source with ?status= (unmapped, the
// default, or failed) back to pending and says how many.
func (s *server) replaySource(c *gin.Context) {
	name := c.Param("name")
	if _, ok := s.Config().Source(name); !ok {
		s.fail(c, incidenthub.Errorf(incidenthub.ENOTFOUND, "unknown source %q", name))
		return
	}
	status := c.DefaultQuery("status", store.EventUnmapped)
	n, err := s.Store.ReplaySource(c.Request.Context(), name, status, s.currentKind(name))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.Log.Info("events replayed", "source", name, "status", status, "queued", n, "actor", c.GetString("actor"))
	if n > 0 {
		s.Accepted()
	}
	c.JSON(http.StatusAccepted, gin.H{"source": name, "status": status, "queued": n})
}

// currentKind is the kind the source has now (it may have been pointed at
// a fixed mapping); "" keeps the event's own when the source is gone.
func (s *server) currentKind(source string) string {
	if src, ok := s.Config().Source(source); ok {
		return src.Kind
	}
	return ""
}

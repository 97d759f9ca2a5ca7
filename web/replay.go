package web

import (
	"context"
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
	ev, err := s.replay(c.Request.Context(), c.Param("id"), force != nil && *force, c.GetString("actor"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"event_id": ev.ID, "status": ev.Status, "kind": ev.Kind})
}

// replaySource puts every event of a source with ?status= (unmapped, the
// default, or failed) back to pending and says how many.
func (s *server) replaySource(c *gin.Context) {
	name, status := c.Param("name"), c.DefaultQuery("status", store.EventUnmapped)
	n, err := s.replayAll(c.Request.Context(), name, status, c.GetString("actor"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"source": name, "status": status, "queued": n})
}

// replay puts event id back to pending with its source's current kind and
// wakes the processor: the API and the UI both call it.
func (s *server) replay(ctx context.Context, id string, force bool, actor string) (*store.Event, error) {
	ev, err := s.Store.GetEvent(ctx, id)
	if err != nil {
		return nil, err
	}
	ev, err = s.Store.ReplayEvent(ctx, ev.ID, s.currentKind(ev.Source), force)
	if err != nil {
		return nil, err
	}
	s.Log.InfoContext(ctx, "event replayed", "event_id", ev.ID, "source", ev.Source, "kind", ev.Kind, "force", force, "actor", actor)
	s.Accepted()
	return ev, nil
}

// replayAll puts every event of a configured source with status (unmapped
// or failed) back to pending and says how many: the API and the UI both
// call it.
func (s *server) replayAll(ctx context.Context, source, status, actor string) (int64, error) {
	if _, ok := s.Config().Source(source); !ok {
		return 0, incidenthub.Errorf(incidenthub.ENOTFOUND, "unknown source %q", source)
	}
	n, err := s.Store.ReplaySource(ctx, source, status, s.currentKind(source))
	if err != nil {
		return 0, err
	}
	s.Log.InfoContext(ctx, "events replayed", "source", source, "status", status, "queued", n, "actor", actor)
	if n > 0 {
		s.Accepted()
	}
	return n, nil
}

// currentKind is the kind the source has now (it may have been pointed at
// a fixed mapping); "" keeps the event's own when the source is gone.
func (s *server) currentKind(source string) string {
	if src, ok := s.Config().Source(source); ok {
		return src.Kind
	}
	return ""
}

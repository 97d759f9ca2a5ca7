package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/store"
)

// Deliveries retries outbound deliveries and reports each target's circuit
// breaker; the delivery engine implements it.
type Deliveries interface {
	Retry(ctx context.Context, id int64) (*incidenthub.Delivery, error)
	RetryDead(ctx context.Context, target string) (int, error)
	// TargetState is each target's breaker: closed, open or disabled.
	TargetState() map[string]string
}

var deliveryStatuses = map[string]bool{incidenthub.DeliveryPending: true, incidenthub.DeliveryRetrying: true,
	incidenthub.DeliveryDelivered: true, incidenthub.DeliveryDead: true}

type deliveryList struct {
	Deliveries []incidenthub.Delivery `json:"deliveries"`
	NextCursor string                 `json:"next_cursor,omitempty"`
}

// deliveryFilter reads the target, status and page parameters that
// GET /api/v1/deliveries and the Deliveries screen share.
func deliveryFilter(c *gin.Context) (store.DeliveryFilter, error) {
	f := store.DeliveryFilter{Target: c.Query("target"), Status: c.Query("status")}
	if f.Status != "" && !deliveryStatuses[f.Status] {
		return f, incidenthub.Errorf(incidenthub.EINVALID, "status must be pending, retrying, delivered or dead (got %q)", f.Status)
	}
	var err error
	f.Limit, f.After, err = pageParams(c, 50, 500)
	return f, err
}

func (s *server) listDeliveries(c *gin.Context) {
	f, err := deliveryFilter(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if v := c.Query("incident"); v != "" {
		if f.IncidentID, err = strconv.ParseInt(v, 10, 64); err != nil || f.IncidentID <= 0 {
			s.fail(c, incidenthub.Errorf(incidenthub.EINVALID, "incident %q is not a positive integer", v))
			return
		}
	}
	list, next, err := s.Store.ListDeliveries(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, deliveryList{Deliveries: list, NextCursor: nextCursor(next)})
}

func deliveryID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, incidenthub.Errorf(incidenthub.EINVALID, "delivery id %q is not a positive integer", c.Param("id"))
	}
	return id, nil
}

func (s *server) getDelivery(c *gin.Context) {
	id, err := deliveryID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	d, attempts, err := s.Store.GetDelivery(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"delivery": d, "attempts": attempts})
}

func (s *server) retryDelivery(c *gin.Context) {
	id, err := deliveryID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if s.Deliveries == nil {
		s.fail(c, incidenthub.Errorf(incidenthub.EUNAVAILABLE, "outbound delivery is not running"))
		return
	}
	d, err := s.Deliveries.Retry(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"delivery": d})
}

func (s *server) retryDeadDeliveries(c *gin.Context) {
	if s.Deliveries == nil {
		s.fail(c, incidenthub.Errorf(incidenthub.EUNAVAILABLE, "outbound delivery is not running"))
		return
	}
	n, err := s.Deliveries.RetryDead(c.Request.Context(), c.Param("target"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"target": c.Param("target"), "retried": n})
}

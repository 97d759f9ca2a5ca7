package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
)

// Targets checks outbound targets; the delivery engine implements it.
type Targets interface {
	// Verify checks the target's credentials and settings against its
	// API without side effects. It returns an *incidenthub.Error when the
	// target cannot be verified (unknown, or its type has no check), and
	// any other error (secrets removed) when the check failed.
	Verify(ctx context.Context, target string) error
}

type verifyResult struct {
	Target string `json:"target"`
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
}

// verifyTarget answers 200 with ok or the check's error: a failed check
// is a finding, not a failed request.
func (s *server) verifyTarget(c *gin.Context) {
	if s.Targets == nil {
		s.fail(c, incidenthub.Errorf(incidenthub.EUNAVAILABLE, "outbound delivery is not running"))
		return
	}
	name := c.Param("target")
	err := s.Targets.Verify(c.Request.Context(), name)
	var he *incidenthub.Error
	if errors.As(err, &he) {
		s.fail(c, err)
		return
	}
	res := verifyResult{Target: name, OK: err == nil}
	if err != nil {
		res.Error = err.Error()
	}
	c.JSON(http.StatusOK, res)
}

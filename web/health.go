package web

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
)

// readyCheck is one line of /readyz's answer.
type readyCheck struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// readyz answers 200 {"status":"ready","database":…} when the store
// answers, every migration is applied and every stored registry secret
// decrypts with this hub's keys. Otherwise it answers 503 with the usual
// error object plus "status":"unready" and "checks", one per check, each
// failing registry entry named ("registry inbound/am").
func (s *server) readyz(c *gin.Context) {
	ctx := c.Request.Context()
	checks := []readyCheck{{Name: "database", OK: true}, {Name: "migrations", OK: true}}
	if err := s.Store.Ping(ctx); err != nil {
		checks[0] = readyCheck{Name: "database", Error: "store unreachable"}
		checks[1] = readyCheck{Name: "migrations", Error: "not checked: the store is unreachable"}
	} else {
		if err := s.Store.Ready(ctx); err != nil {
			checks[1] = readyCheck{Name: "migrations", Error: err.Error()}
		}
		if s.Webhooks != nil {
			problems, err := s.Webhooks.CheckSecrets(ctx)
			if err != nil {
				checks = append(checks, readyCheck{Name: "registry", Error: err.Error()})
			}
			for _, p := range problems {
				checks = append(checks, readyCheck{Name: "registry " + p.Direction + "/" + p.Name, Error: p.Error})
			}
		}
	}
	var failed []string
	for _, ch := range checks {
		if !ch.OK {
			failed = append(failed, ch.Name+": "+ch.Error)
		}
	}
	if len(failed) == 0 {
		c.JSON(http.StatusOK, gin.H{"status": "ready", "database": s.Store.Dialect})
		return
	}
	var body struct {
		errorBody
		Status string       `json:"status"`
		Checks []readyCheck `json:"checks"`
	}
	body.Error.Code = incidenthub.EUNAVAILABLE
	body.Error.Message = strings.Join(failed, "; ")
	body.Error.RequestID = c.GetString("request_id")
	body.Status, body.Checks = "unready", checks
	c.Header("Retry-After", "5")
	c.AbortWithStatusJSON(http.StatusServiceUnavailable, body)
}

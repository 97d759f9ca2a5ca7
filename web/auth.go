package web

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/verify"
)

var roleRank = map[string]int{config.RoleViewer: 1, config.RoleOperator: 2, config.RoleAdmin: 3}

// authenticate resolves the bearer token to a named actor with a role.
func (s *server) authenticate(c *gin.Context) {
	tokens := s.tokens()
	if len(tokens) == 0 {
		s.fail(c, incidenthub.Errorf(incidenthub.EUNAUTHORIZED, "no API tokens are configured: set INCIDENTHUB_API_TOKEN or api.tokens"))
		return
	}
	got, ok := verify.Credentials(c.GetHeader("Authorization"), "Bearer")
	if !ok || got == "" {
		s.fail(c, incidenthub.Errorf(incidenthub.EUNAUTHORIZED, `missing "Authorization: Bearer <token>" header`))
		return
	}
	for _, t := range tokens {
		if verify.EqualSecret(strings.TrimSpace(got), t.Token.Value()) {
			c.Set("actor", t.Name)
			c.Set("role", t.Role)
			c.Next()
			return
		}
	}
	s.fail(c, incidenthub.Errorf(incidenthub.EUNAUTHORIZED, "invalid API token"))
}

// require lets the request through only for role or a more privileged one.
func (s *server) require(role string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if roleRank[c.GetString("role")] < roleRank[role] {
			s.fail(c, incidenthub.Errorf(incidenthub.EFORBIDDEN, "this action needs the %s role; token %q has %s", role, c.GetString("actor"), c.GetString("role")))
			return
		}
		c.Next()
	}
}

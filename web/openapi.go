package web

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openapiYAML is the OpenAPI document of the whole HTTP surface. The tests
// check it against the route table and real responses.
//
//go:embed openapi.yaml
var openapiYAML []byte

// openapi serves the document without auth, so tools can fetch it.
func (s *server) openapi(c *gin.Context) {
	c.Data(http.StatusOK, "application/yaml", openapiYAML)
}

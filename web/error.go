package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
)

// statuses maps every error code to its one HTTP status.
var statuses = map[string]int{
	incidenthub.EINVALID:       http.StatusBadRequest,
	incidenthub.EUNAUTHORIZED:  http.StatusUnauthorized,
	incidenthub.EFORBIDDEN:     http.StatusForbidden,
	incidenthub.ENOTFOUND:      http.StatusNotFound,
	incidenthub.ENOTALLOWED:    http.StatusMethodNotAllowed,
	incidenthub.ECONFLICT:      http.StatusConflict,
	incidenthub.ETOOLARGE:      http.StatusRequestEntityTooLarge,
	incidenthub.EUNSUPPORTED:   http.StatusUnsupportedMediaType,
	incidenthub.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	incidenthub.ERATELIMITED:   http.StatusTooManyRequests,
	incidenthub.EHEADERSTOOBIG: http.StatusRequestHeaderFieldsTooLarge,
	incidenthub.EUNAVAILABLE:   http.StatusServiceUnavailable,
	incidenthub.EINTERNAL:      http.StatusInternalServerError,
}

type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id,omitempty"`
	} `json:"error"`
}

// fail writes err as {"error": {"code", "message"}} with its status. An
// error that is not an *incidenthub.Error is logged and shown only as
// "internal error" with the request id.
func (s *server) fail(c *gin.Context, err error) {
	code := incidenthub.ErrorCode(err)
	status, ok := statuses[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusInternalServerError {
		s.Log.Error("internal error", "err", err, "path", c.Request.URL.Path, "request_id", c.GetString("request_id"))
	}
	if status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "5")
	}
	var body errorBody
	body.Error.Code = code
	body.Error.Message = incidenthub.ErrorMessage(err)
	body.Error.RequestID = c.GetString("request_id")
	c.AbortWithStatusJSON(status, body)
}

package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/web"
)

// loadOpenAPI fetches the document the way a tool would, without a token,
// and validates it.
func loadOpenAPI(t *testing.T, h http.Handler) *openapi3.T {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.yaml", nil))
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
	require.Equal(t, "application/yaml", rec.Header().Get("Content-Type"))
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	return doc
}

// bareHandler is the handler without a store: enough for the route table
// and the document.
func bareHandler() http.Handler {
	return web.New(web.Deps{
		Config: func() *config.Config { return &config.Config{} },
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

type operation struct {
	method, path string // path in OpenAPI form: /incidents/{id}
	op           *openapi3.Operation
}

func operations(doc *openapi3.T) []operation {
	var out []operation
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out = append(out, operation{method, path, op})
		}
	}
	slices.SortFunc(out, func(a, b operation) int { return strings.Compare(a.path+" "+a.method, b.path+" "+b.method) })
	return out
}

var ginParam = regexp.MustCompile(`:([^/]+)`)

// TestOpenAPIDocument: the served document is the embedded file, valid
// OpenAPI, and says who may call each operation.
func TestOpenAPIDocument(t *testing.T) {
	doc := loadOpenAPI(t, bareHandler())
	require.Equal(t, "3.0.3", doc.OpenAPI)

	// Every code of the status table is in the error code enum, and no other.
	codes := doc.Components.Schemas["ErrorCode"].Value.Enum
	require.ElementsMatch(t, []any{incidenthub.EINVALID, incidenthub.EUNAUTHORIZED, incidenthub.EFORBIDDEN,
		incidenthub.ENOTFOUND, incidenthub.ENOTALLOWED, incidenthub.ECONFLICT, incidenthub.ETOOLARGE,
		incidenthub.EUNSUPPORTED, incidenthub.EUNPROCESSABLE, incidenthub.ERATELIMITED, incidenthub.EHEADERSTOOBIG,
		incidenthub.EUNAVAILABLE, incidenthub.EINTERNAL}, codes)

	public := map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true, "/hooks/{source}": true, "/api/v1/openapi.yaml": true,
		"/slack/interactions": true}
	for _, o := range operations(doc) {
		name := o.method + " " + o.path
		require.NotEmpty(t, o.op.OperationID, name)
		role, hasRole := o.op.Extensions["x-required-role"]
		if public[o.path] {
			require.NotNil(t, o.op.Security, "%s must say security: []", name)
			require.Empty(t, *o.op.Security, name)
			require.False(t, hasRole, "%s needs no token, so no role", name)
			continue
		}
		require.True(t, strings.HasPrefix(o.path, "/api/v1/"), name)
		require.Nil(t, o.op.Security, "%s inherits the bearer scheme", name)
		require.Contains(t, []any{config.RoleViewer, config.RoleOperator, config.RoleAdmin}, role, name)
		require.NotNil(t, o.op.Responses.Status(http.StatusUnauthorized), "%s documents 401", name)
		require.NotNil(t, o.op.Responses.Status(http.StatusForbidden), "%s documents 403", name)
	}
}

// uiRoute reports whether a route belongs to the web UI: HTML pages under
// /ui/ and the redirects to them, which are not part of the JSON API and
// so not in the OpenAPI document (the README's "Web UI" lists them).
func uiRoute(method, path string) bool {
	return path == "/ui" || strings.HasPrefix(path, "/ui/") || (method == http.MethodGet && path == "/")
}

// TestOpenAPICoversRoutes: the document's operations are exactly gin's
// route table less the web UI's routes, so an API route added or removed
// without the document fails.
func TestOpenAPICoversRoutes(t *testing.T) {
	h := bareHandler()
	doc := loadOpenAPI(t, h)
	var routes, documented []string
	for _, r := range h.(*gin.Engine).Routes() {
		if uiRoute(r.Method, r.Path) {
			continue
		}
		routes = append(routes, r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}"))
	}
	for _, o := range operations(doc) {
		documented = append(documented, o.method+" "+o.path)
	}
	slices.Sort(routes)
	slices.Sort(documented)
	require.Equal(t, routes, documented, "web/openapi.yaml and web/routes.go disagree")
}

// TestOpenAPIRoles: each operation's x-required-role is what the route
// enforces: the role below it gets 403, the role itself does not.
func TestOpenAPIRoles(t *testing.T) {
	h := newRegistryHub(t, store.SQLite)
	doc := loadOpenAPI(t, h.handler)
	tokens := map[string]string{config.RoleViewer: viewerToken, config.RoleOperator: operatorToken, config.RoleAdmin: adminToken}
	below := map[string]string{config.RoleOperator: config.RoleViewer, config.RoleAdmin: config.RoleOperator}
	for _, o := range operations(doc) {
		role, ok := o.op.Extensions["x-required-role"].(string)
		if !ok {
			continue
		}
		// Names that exist nowhere: the call must not change anything.
		target := strings.NewReplacer("{id}", "999999", "{name}", "no-such-name", "{target}", "no-such-target").Replace(o.path)
		if lesser, ok := below[role]; ok {
			rec := h.send(o.method, target, tokens[lesser], "")
			requireError(t, rec, http.StatusForbidden, incidenthub.EFORBIDDEN, role)
		}
		rec := h.send(o.method, target, tokens[role], "")
		require.NotEqual(t, http.StatusForbidden, rec.Code, "%s %s with a %s token: %s", o.method, o.path, role, rec.Body)
		require.NotEqual(t, http.StatusUnauthorized, rec.Code, "%s %s: %s", o.method, o.path, rec.Body)
	}
}

// validator checks real responses against the document.
type validator struct {
	t   *testing.T
	doc *openapi3.T
}

// check validates rec, the answer to method on the operation at path (in
// OpenAPI form), and requires status.
func (v validator) check(method, path string, req *http.Request, rec *httptest.ResponseRecorder, status int) {
	t := v.t
	t.Helper()
	require.Equal(t, status, rec.Code, "%s %s: %s", method, path, rec.Body)
	item := v.doc.Paths.Value(path)
	require.NotNil(t, item, "%s is not in the document", path)
	op := item.GetOperation(method)
	require.NotNil(t, op, "%s %s is not in the document", method, path)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req,
			Route:   &routers.Route{Spec: v.doc, Path: path, PathItem: item, Method: method, Operation: op},
		},
		Status:  rec.Code,
		Header:  rec.Header(),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(rec.Body.Bytes())
	require.NoError(t, openapi3filter.ValidateResponse(context.Background(), in), "%s %s answered %d: %s", method, path, rec.Code, rec.Body)
}

// TestOpenAPIResponses: real answers of a hub with an incident, a delivery
// and the registry match the document's schemas (which forbid undocumented
// fields), on both stores.
func TestOpenAPIResponses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dialect string) {
		h := newRegistryHub(t, dialect)
		v := validator{t: t, doc: loadOpenAPI(t, h.handler)}
		call := func(method, target, token, body, path string, status int) *httptest.ResponseRecorder {
			t.Helper()
			r := httptest.NewRequest(method, target, strings.NewReader(body))
			r.RemoteAddr = "192.0.2.1:40000"
			if token != "" {
				r.Header.Set("Authorization", "Bearer "+token)
			}
			if body != "" {
				r.Header.Set("Content-Type", "application/json")
			}
			rec := h.do(r)
			v.check(method, path, r, rec, status)
			return rec
		}

		// Inbound, then an incident out of it.
		hook := call(http.MethodPost, "/hooks/gen", "", string(testdata(t, "generic-single.json")), "/hooks/{source}", http.StatusAccepted)
		eventID, _ := requireAccepted(t, hook)
		call(http.MethodPost, "/hooks/nope", "", "{}", "/hooks/{source}", http.StatusNotFound)
		h.drain()
		list := decode[incidentList](t, call(http.MethodGet, "/api/v1/incidents", viewerToken, "", "/api/v1/incidents", http.StatusOK))
		require.Len(t, list.Incidents, 1)
		id := strconv.FormatInt(list.Incidents[0].ID, 10)
		call(http.MethodGet, "/api/v1/incidents?order=activity&status=open&source=gen&q=%23"+id+"&limit=1", viewerToken, "", "/api/v1/incidents", http.StatusOK)
		call(http.MethodGet, "/api/v1/incidents?order=activity&cursor=12", viewerToken, "", "/api/v1/incidents", http.StatusBadRequest)

		call(http.MethodGet, "/api/v1/incidents/"+id, viewerToken, "", "/api/v1/incidents/{id}", http.StatusOK)
		call(http.MethodGet, "/api/v1/events/"+eventID, viewerToken, "", "/api/v1/events/{id}", http.StatusOK)
		// An event with a normalization warning.
		hook = call(http.MethodPost, "/hooks/gen", "", `{"status": "firing", "alert_type": "disk_full", "starts_at": "yesterday"}`, "/hooks/{source}", http.StatusAccepted)
		warnedID, _ := requireAccepted(t, hook)
		h.drain()
		ev := decode[struct {
			Event struct {
				Warnings []incidenthub.Warning `json:"warnings"`
			} `json:"event"`
		}](t, call(http.MethodGet, "/api/v1/events/"+warnedID, viewerToken, "", "/api/v1/events/{id}", http.StatusOK))
		require.Equal(t, []incidenthub.Warning{{Field: "starts_at", Path: "starts_at", Value: "yesterday",
			Message: `invalid timestamp "yesterday" (want RFC 3339, epoch seconds or milliseconds, or a common date format)`}}, ev.Event.Warnings)
		// A repeat, an unmapped event, and the list of them.
		call(http.MethodPost, "/hooks/gen", "", string(testdata(t, "generic-single.json")), "/hooks/{source}", http.StatusAccepted)
		call(http.MethodPost, "/hooks/gen", "", `{"id": "no-alert-type", "status": "firing"}`, "/hooks/{source}", http.StatusAccepted)
		h.drain()
		call(http.MethodGet, "/api/v1/events/"+eventID, viewerToken, "", "/api/v1/events/{id}", http.StatusOK)
		page := decode[eventListBody](t, call(http.MethodGet, "/api/v1/events?limit=1", viewerToken, "", "/api/v1/events", http.StatusOK))
		require.NotNil(t, page.NextCursor)
		call(http.MethodGet, "/api/v1/events?cursor="+*page.NextCursor, viewerToken, "", "/api/v1/events", http.StatusOK)
		call(http.MethodGet, "/api/v1/events?status=duplicate&source=gen", viewerToken, "", "/api/v1/events", http.StatusOK)
		call(http.MethodGet, "/api/v1/events?status=unmapped&since=2020-01-01T00:00:00Z", viewerToken, "", "/api/v1/events", http.StatusOK)
		call(http.MethodGet, "/api/v1/events?status=mapped", viewerToken, "", "/api/v1/events", http.StatusBadRequest)
		call(http.MethodPost, "/api/v1/incidents/"+id+"/acknowledge", operatorToken, `{"note": "on it"}`, "/api/v1/incidents/{id}/acknowledge", http.StatusOK)
		call(http.MethodGet, "/api/v1/incidents/"+id+"/timeline?limit=1", viewerToken, "", "/api/v1/incidents/{id}/timeline", http.StatusOK)

		// Errors.
		call(http.MethodGet, "/api/v1/incidents/999999", viewerToken, "", "/api/v1/incidents/{id}", http.StatusNotFound)
		call(http.MethodGet, "/api/v1/incidents/x", viewerToken, "", "/api/v1/incidents/{id}", http.StatusBadRequest)
		call(http.MethodGet, "/api/v1/incidents", "", "", "/api/v1/incidents", http.StatusUnauthorized)
		call(http.MethodPost, "/api/v1/incidents/"+id+"/resolve", viewerToken, "", "/api/v1/incidents/{id}/resolve", http.StatusForbidden)
		call(http.MethodPost, "/api/v1/incidents/"+id+"/acknowledge", operatorToken, "", "/api/v1/incidents/{id}/acknowledge", http.StatusConflict)
		rec := call(http.MethodPost, "/api/v1/deliveries/1/retry", operatorToken, "", "/api/v1/deliveries/{id}/retry", http.StatusServiceUnavailable)
		require.Equal(t, "5", rec.Header().Get("Retry-After"))

		// A delivery with one attempt.
		now := time.Now().UTC()
		d := store.Delivery{IncidentID: list.Incidents[0].ID, Target: "ops-hook", TargetType: "webhook",
			Event: incidenthub.EventOpened, MessageID: "msg-1", Status: incidenthub.DeliveryRetrying, Attempts: 1,
			LastError: "HTTP 502", LastStatusCode: 502, NextAttemptAt: &now, WindowStart: now, CreatedAt: now, UpdatedAt: now}
		require.NoError(t, h.st.DB.Create(&d).Error)
		require.NoError(t, h.st.DB.Create(&store.DeliveryAttempt{DeliveryID: d.ID, Attempt: 1, StartedAt: now,
			Method: http.MethodPost, URL: "https://hooks.example.org/in",
			RequestHeaders: store.JSON[map[string][]string]{V: map[string][]string{"Webhook-Signature": {"<redacted>"}}},
			RequestBody:    `{"type":"incident.opened"}`, ResponseStatus: 502,
			ResponseHeaders: store.JSON[map[string][]string]{V: map[string][]string{"Content-Type": {"text/plain"}}},
			ResponseBody:    "bad gateway", LatencyMS: 12, Error: "HTTP 502", Outcome: "retry", NextAttemptAt: &now}).Error)
		did := strconv.FormatInt(d.ID, 10)
		call(http.MethodGet, "/api/v1/deliveries?incident="+id, viewerToken, "", "/api/v1/deliveries", http.StatusOK)
		call(http.MethodGet, "/api/v1/deliveries/"+did, viewerToken, "", "/api/v1/deliveries/{id}", http.StatusOK)
		call(http.MethodGet, "/api/v1/deliveries/999999", viewerToken, "", "/api/v1/deliveries/{id}", http.StatusNotFound)

		// The registry and the audit trail.
		call(http.MethodGet, "/api/v1/registry?limit=1", viewerToken, "", "/api/v1/registry", http.StatusOK)
		call(http.MethodGet, "/api/v1/registry/am", viewerToken, "", "/api/v1/registry/{name}", http.StatusOK)
		call(http.MethodPost, "/api/v1/registry/am/rotate", adminToken, `{"overlap": "1h"}`, "/api/v1/registry/{name}/rotate", http.StatusOK)
		call(http.MethodPost, "/api/v1/registry", adminToken, `{"name": "ci", "direction": "inbound", "kind": "generic", "auth_method": "token", "owner": {"name": "ci", "contact": "#ci"}}`,
			"/api/v1/registry", http.StatusCreated)
		call(http.MethodDelete, "/api/v1/registry/ci", adminToken, "", "/api/v1/registry/{name}", http.StatusNoContent)
		call(http.MethodGet, "/api/v1/audit", viewerToken, "", "/api/v1/audit", http.StatusOK)

		// Config, health.
		call(http.MethodGet, "/api/v1/config", viewerToken, "", "/api/v1/config", http.StatusOK)
		call(http.MethodGet, "/healthz", "", "", "/healthz", http.StatusOK)
		call(http.MethodGet, "/readyz", "", "", "/readyz", http.StatusOK)
		call(http.MethodGet, "/metrics", "", "", "/metrics", http.StatusOK)
	})
}

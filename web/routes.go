package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub/internal/config"
)

// routes lists the whole HTTP surface.
func (s *server) routes() {
	r := s.engine
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", s.metrics)

	r.POST("/hooks/:source", s.ingest)
	// Slack's button clicks and slash commands, signed by Slack (slack.go).
	r.POST("/slack/interactions", s.slackInteractions)

	r.GET("/api/v1/openapi.yaml", s.openapi) // no auth: web/openapi.yaml

	api := r.Group("/api/v1", s.authenticate)
	viewer := api.Group("", s.require(config.RoleViewer))
	viewer.GET("/incidents", s.listIncidents)
	viewer.GET("/incidents/:id", s.getIncident)
	viewer.GET("/events", s.listEvents)
	viewer.GET("/events/:id", s.getEvent)
	viewer.GET("/config", s.getConfig)
	viewer.POST("/rules/test", s.testRules)

	operator := api.Group("", s.require(config.RoleOperator))
	operator.POST("/events/:id/replay", s.replayEvent)
	operator.POST("/sources/:name/replay", s.replaySource)
	viewer.GET("/deliveries", s.listDeliveries)
	viewer.GET("/deliveries/:id", s.getDelivery)
	operator.POST("/deliveries/:id/retry", s.retryDelivery)
	operator.POST("/targets/:target/deliveries/retry", s.retryDeadDeliveries)
	operator.POST("/targets/:target/verify", s.verifyTarget)

	// The webhook registry and the audit trail (registry.go).
	viewer.GET("/audit", s.listAudit)
	reg := api.Group("/registry", s.needRegistry)
	reg.GET("", s.require(config.RoleViewer), s.listRegistry)
	reg.GET("/:name", s.require(config.RoleViewer), s.getRegistryEntry)
	reg.POST("/:name/verify", s.require(config.RoleOperator), s.verifyRegistryEntry)
	reg.POST("", s.require(config.RoleAdmin), s.createRegistryEntry)
	reg.PATCH("/:name", s.require(config.RoleAdmin), s.updateRegistryEntry)
	reg.DELETE("/:name", s.require(config.RoleAdmin), s.deleteRegistryEntry)
	reg.POST("/:name/rotate", s.require(config.RoleAdmin), s.rotateRegistryEntry)
	reg.POST("/:name/revoke", s.require(config.RoleAdmin), s.revokeRegistryEntry)
	reg.POST("/:name/reveal", s.require(config.RoleAdmin), s.revealRegistryEntry)

	// Incident lifecycle (incident.go).
	viewer.GET("/incidents/:id/timeline", s.incidentTimeline)
	operator.POST("/incidents/:id/acknowledge", s.acknowledgeIncident)
	operator.POST("/incidents/:id/resolve", s.resolveIncident)
	operator.POST("/incidents/:id/reopen", s.reopenIncident)
	operator.POST("/incidents/:id/merge", s.mergeIncident)
	operator.POST("/incidents/:id/split", s.splitIncident)

	// Runtime silences (silences.go).
	viewer.GET("/silences", s.listSilences)
	viewer.GET("/silences/:id", s.getSilence)
	viewer.POST("/silences/query", s.querySilences)
	operator.POST("/silences", s.createSilence)
	operator.DELETE("/silences/:id", s.expireSilence)
	operator.POST("/silences/:id/extend", s.extendSilence)

	// The web UI (ui*.go): HTML pages under /ui/, signed in with a session
	// cookie. Not in openapi.yaml: it is not part of the JSON API.
	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/ui/") })
	r.GET("/ui", func(c *gin.Context) { c.Redirect(http.StatusFound, "/ui/") })
	ui := r.Group("/ui", uiHeaders, s.markTrustedProxy)
	ui.GET("/static/*file", s.uiStatic)
	ui.GET("/sign-in", s.signInPage)
	ui.POST("/sign-in", s.signIn)
	pages := ui.Group("", s.uiAuth) // signed in, any role
	pages.POST("/sign-out", s.uiCSRF, s.signOut)
	pages.GET("/", s.incidentsPage)
	pages.GET("/incidents", s.incidentsPage)
	pages.GET("/incidents/live", s.incidentsLive) // the list's live region (htmx polls it)
	pages.GET("/incidents/:id", s.incidentPage)
	act := pages.Group("", s.uiCSRF, s.uiRequire(config.RoleOperator)) // state changes
	act.POST("/incidents/:id/acknowledge", s.uiAcknowledge)
	act.POST("/incidents/:id/resolve", s.uiResolve)
	act.POST("/incidents/:id/reopen", s.uiReopen)
	act.POST("/incidents/:id/merge", s.uiMerge)
	act.POST("/incidents/:id/split", s.uiSplit)
	// Events and Deliveries (ui_events.go, ui_deliveries.go).
	pages.GET("/events", s.eventsPage)
	pages.GET("/events/:id", s.eventPage)
	pages.GET("/events/:id/live", s.eventLive) // the status region (htmx polls it while pending)
	act.POST("/events/:id/replay", s.uiReplayEvent)
	act.POST("/sources/:name/replay", s.uiReplaySource)
	pages.GET("/deliveries", s.deliveriesPage)
	pages.GET("/deliveries/:id", s.deliveryPage)
	pages.GET("/deliveries/:id/live", s.deliveryLive) // below the heading (htmx polls it while in flight)
	act.POST("/deliveries/:id/retry", s.uiRetryDelivery)
	act.POST("/targets/:target/deliveries/retry", s.uiRetryDead)
	// Silences (ui_silences.go).
	pages.GET("/silences", s.silencesPage)
	act.POST("/silences", s.uiCreateSilence)
	act.POST("/silences/:id/expire", s.uiExpireSilence)
	act.POST("/silences/:id/extend", s.uiExtendSilence)

	// Registry, Audit trail, Rules playground (ui_registry.go, ui_audit.go,
	// ui_playground.go).
	pages.GET("/registry", s.registryPage)
	pages.GET("/registry.csv", s.registryCSV)
	pages.GET("/registry/:direction/:name", s.registryEntryPage)
	act.POST("/registry/:direction/:name/verify", s.uiVerifyEntry)
	admin := pages.Group("", s.uiCSRF, s.uiRequire(config.RoleAdmin))
	admin.POST("/registry/:direction/:name/rotate", s.uiRotateEntry)
	admin.POST("/registry/:direction/:name/revoke", s.uiRevokePrevious)
	admin.POST("/registry/:direction/:name/reveal", s.uiRevealEntry)
	pages.GET("/registry/:direction/:name/secret", s.uiRequire(config.RoleAdmin), s.revealPage) // reveal-once
	pages.GET("/audit", s.auditPage)
	pages.GET("/rules", s.playgroundPage)
	pages.GET("/rules/recent", s.playgroundRecentEvents)
	pages.POST("/rules", playgroundForm, s.uiCSRF, s.playgroundPage) // a dry run: changes nothing
}

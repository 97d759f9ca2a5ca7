package web

import "github.com/incidenthub/incidenthub/internal/config"

// routes lists the whole HTTP surface.
func (s *server) routes() {
	r := s.engine
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", s.metrics)

	r.POST("/hooks/:source", s.ingest)

	api := r.Group("/api/v1", s.authenticate)
	viewer := api.Group("", s.require(config.RoleViewer))
	viewer.GET("/incidents", s.listIncidents)
	viewer.GET("/incidents/:id", s.getIncident)
	viewer.GET("/events/:id", s.getEvent)
	viewer.GET("/incidents/:id/timeline", s.incidentTimeline)
	operator := api.Group("", s.require(config.RoleOperator))
	operator.POST("/incidents/:id/acknowledge", s.acknowledgeIncident)
	operator.POST("/incidents/:id/resolve", s.resolveIncident)
	operator.POST("/incidents/:id/reopen", s.reopenIncident)
	operator.POST("/incidents/:id/merge", s.mergeIncident)
	operator.POST("/incidents/:id/split", s.splitIncident)
}

// Package web is the hub's HTTP surface: inbound webhooks at
// /hooks/{source}, the JSON API under /api/v1, health and metrics, and the
// web UI under /ui/.
package web

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/correlation"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/logging"
	"github.com/incidenthub/incidenthub/internal/registry"
	"github.com/incidenthub/incidenthub/internal/sns"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/verify"
	"github.com/incidenthub/incidenthub/rules"
)

// Deps is what the HTTP layer needs from the rest of the hub.
type Deps struct {
	Store *store.Store
	// Config returns the active configuration (it may be swapped by reload).
	Config func() *config.Config
	// Tokens are the API bearer tokens (config tokens plus the environment's).
	Tokens []config.APIToken
	// CurrentTokens, when set, replaces Tokens: the tokens in force now,
	// read for each request (a config reload may change them).
	CurrentTokens func() []config.APIToken
	// Accepted is called after an event is durably stored (wakes the processor).
	Accepted func()
	// Notifier hears the incident changes manual actions make, inside their
	// transaction; nil drops them.
	Notifier correlation.Notifier
	Log      *slog.Logger
	Registry *prometheus.Registry
	// Rules returns the active routing rules (POST /api/v1/rules/test);
	// nil, or a nil result, answers 503.
	Rules func() *rules.Engine
	// ConfigStatus describes the active configuration (GET /api/v1/config);
	// nil reports only the config file.
	ConfigStatus func() ConfigStatus
	// Deliveries retries outbound deliveries; nil answers 503.
	Deliveries Deliveries
	// Targets verifies outbound targets; nil answers 503.
	Targets Targets
	// Webhooks is the webhook registry: rotated inbound secrets, auth
	// failure tracking, and the /api/v1/registry routes (nil: not running).
	Webhooks *registry.Registry
	// SNS verifies Amazon SNS signatures (auth type sns); nil is the
	// production verifier. Keep one: it caches signing certificates.
	SNS verify.Verifier
	// SlackMembers checks channel membership for slack.channel_members;
	// nil grants channel members nothing.
	SlackMembers SlackMembers
}

type server struct {
	Deps
	engine  *gin.Engine
	inbound *prometheus.CounterVec
	// received counts stored (not duplicate) events by source.
	received *prometheus.CounterVec

	ui             *uiTemplates   // the web UI's parsed templates (ui.go)
	limits         sourceLimits   // inbound rate limits per source (ratelimit.go)
	trustedProxies proxyPrefixSet // the active config's trusted_proxies, parsed (reload.go)
	slackHTTP      *http.Client   // answers on Slack's response_urls (slack.go)
}

var ginMode sync.Once

// New returns the hub's HTTP handler.
func New(d Deps) http.Handler {
	ginMode.Do(func() { gin.SetMode(gin.ReleaseMode) })
	if d.Accepted == nil {
		d.Accepted = func() {}
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	if d.SNS == nil {
		d.SNS = sns.NewVerifier(sns.Options{})
	}
	s := &server{Deps: d, engine: gin.New(), slackHTTP: slackHTTPClient()}
	s.inbound = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "incidenthub_inbound_requests_total",
		Help: "Inbound webhook requests by source and HTTP status.",
	}, []string{"source", "code"})
	s.received = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "incidenthub_events_received_total",
		Help: "Inbound events stored by this process (a duplicate is not counted), by source.",
	}, []string{"source"})
	d.Registry.MustRegister(s.inbound, s.received)
	for _, src := range d.Config().Sources {
		s.received.WithLabelValues(src.Name) // 0 from the start
	}

	e := s.engine
	e.HandleMethodNotAllowed = true
	// Handlers pass c.Request.Context(), never c, to anything that may keep
	// the context after the handler returns (database drivers do): gin
	// recycles *gin.Context for the next request.
	cfg := d.Config()
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		// Validated at config load; an error here is a bug.
		panic(err)
	}
	ui, err := loadUITemplates()
	if err != nil {
		// The templates are embedded and parsed by every test; an error
		// here is a bug.
		panic(err)
	}
	s.ui = ui
	e.Use(s.requestID, s.logRequests, s.recover, s.limitHeaders)
	e.NoRoute(func(c *gin.Context) {
		if strings.HasPrefix(c.Request.URL.Path, "/ui/") {
			uiHeaders(c)
			s.uiNotFound(c)
			return
		}
		s.fail(c, incidenthub.Errorf(incidenthub.ENOTFOUND, "no route for %s %s", c.Request.Method, c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		s.fail(c, incidenthub.Errorf(incidenthub.ENOTALLOWED, "method %s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
	s.routes()
	return e
}

func (s *server) requestID(c *gin.Context) {
	id := requestIDFor(c.GetHeader("X-Request-Id"))
	c.Set("request_id", id)
	// Lines logged with the request's context carry the id too.
	c.Request = c.Request.WithContext(logging.WithRequestID(c.Request.Context(), id))
	c.Header("X-Request-Id", id)
	c.Next()
}

// logRequests logs method, path (never the query: it may hold a token),
// status and latency.
func (s *server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	level := slog.LevelDebug
	if c.Writer.Status() >= 500 {
		level = slog.LevelWarn
	}
	s.Log.Log(c, level, "http request",
		"method", c.Request.Method, "path", c.Request.URL.Path, "status", c.Writer.Status(),
		"duration", time.Since(start), "request_id", c.GetString("request_id"))
}

func (s *server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.Log.Error("panic in handler", "panic", r, "path", c.Request.URL.Path, "request_id", c.GetString("request_id"))
			s.fail(c, incidenthub.Errorf(incidenthub.EINTERNAL, "internal error"))
		}
	}()
	c.Next()
}

func (s *server) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

func (s *server) metrics(c *gin.Context) {
	promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}).ServeHTTP(c.Writer, c.Request)
}

package web

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/config"
)

// sourceLimits holds one token bucket per source (its rate_limit), in
// this process. A reload that changes a source's limit starts it a fresh
// bucket; one that keeps it keeps the bucket.
type sourceLimits struct {
	mu sync.Mutex
	m  map[string]*sourceLimit
}

type sourceLimit struct {
	perSecond float64
	burst     int
	lim       *rate.Limiter
}

// allow takes a token for source name under the given limit. When none is
// left it reports how long until one is.
func (l *sourceLimits) allow(name string, perSecond float64, burst int, now time.Time) (bool, time.Duration) {
	if perSecond <= 0 {
		return true, 0
	}
	l.mu.Lock()
	sl := l.m[name]
	if sl == nil || sl.perSecond != perSecond || sl.burst != burst {
		if l.m == nil {
			l.m = map[string]*sourceLimit{}
		}
		sl = &sourceLimit{perSecond: perSecond, burst: burst, lim: rate.NewLimiter(rate.Limit(perSecond), burst)}
		l.m[name] = sl
	}
	l.mu.Unlock()
	r := sl.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second // burst < 1: cannot happen with a valid config
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // the request is refused, so it takes no token
		return false, d
	}
	return true, 0
}

// rateLimit refuses a request of src over its rate_limit: 429 with
// Retry-After (whole seconds, rounded up) and the JSON error.
func (s *server) rateLimit(c *gin.Context, cfg *config.Config, src *config.Source, now time.Time) error {
	perSecond, burst := cfg.RateLimit(src)
	ok, wait := s.limits.allow(src.Name, perSecond, burst, now)
	if ok {
		return nil
	}
	secs := int64(math.Ceil(wait.Seconds()))
	c.Header("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	return incidenthub.Errorf(incidenthub.ERATELIMITED,
		"source %q is over its rate limit of %s requests per second (burst %d): retry after %d s; raise sources[].rate_limit if this rate is expected",
		src.Name, strconv.FormatFloat(perSecond, 'f', -1, 64), burst, max(secs, 1))
}

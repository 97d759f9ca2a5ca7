package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub/internal/config"
)

// What a config reload changes in the HTTP layer: the API tokens and
// trusted_proxies are read for each request from the active config, so a
// token removed by a reload is refused from the next request on.

// tokens returns the API tokens in force: Deps.CurrentTokens when set,
// else the fixed Deps.Tokens.
func (s *server) tokens() []config.APIToken {
	if s.CurrentTokens != nil {
		return s.CurrentTokens()
	}
	return s.Tokens
}

// proxyCache is trusted_proxies parsed, for one config.
type proxyCache struct {
	cfg      *config.Config
	prefixes []netip.Prefix
}

// proxies is a server's trusted_proxies cache (the config it was parsed
// from changes only on reload).
type proxyPrefixSet struct{ p atomic.Pointer[proxyCache] }

// trusted returns the active config's trusted_proxies, parsed.
func (s *server) trusted() []netip.Prefix {
	cfg := s.Config()
	if c := s.trustedProxies.p.Load(); c != nil && c.cfg == cfg {
		return c.prefixes
	}
	c := &proxyCache{cfg: cfg, prefixes: parseProxies(cfg.TrustedProxies)}
	s.trustedProxies.p.Store(c)
	return c.prefixes
}

// clientIP is gin's Context.ClientIP with the active config's
// trusted_proxies (gin's own list is fixed when the engine is built): the
// TCP peer, or, when the peer is a trusted proxy (or a unix socket), the
// right-most address of X-Forwarded-For (then X-Real-IP) that is not one.
func (s *server) clientIP(c *gin.Context) string {
	prefixes := s.trusted()
	isTrusted := func(ip netip.Addr) bool {
		ip = ip.Unmap()
		for _, p := range prefixes {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}
	trusted := false
	if la, ok := c.Request.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && strings.HasPrefix(la.Network(), "unix") {
		trusted = true
	}
	var remote string
	if !trusted {
		host, _, err := net.SplitHostPort(strings.TrimSpace(c.Request.RemoteAddr))
		if err != nil {
			host = strings.TrimSpace(c.Request.RemoteAddr)
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return ""
		}
		remote = ip.Unmap().String()
		trusted = isTrusted(ip)
	}
	if !trusted {
		return remote
	}
	for _, h := range []string{"X-Forwarded-For", "X-Real-IP"} {
		items := strings.Split(strings.Join(c.Request.Header.Values(h), ","), ",")
		for i := len(items) - 1; i >= 0; i-- {
			s := strings.TrimSpace(items[i])
			ip, err := netip.ParseAddr(s)
			if err != nil {
				break
			}
			if i == 0 || !isTrusted(ip) {
				return s
			}
		}
	}
	return remote
}

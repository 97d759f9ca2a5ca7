package web

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
)

// MaxHeaderBytes is the most a request's head may take: the request line
// and every header field as sent (name, ": ", value, CRLF). A larger one
// is refused with 431 and the hub's JSON error naming this limit. 64 KiB
// is several times what common proxies pass (nginx: 4 × 8 KiB buffers)
// and far beyond any monitoring tool's headers.
const MaxHeaderBytes = 64 << 10

// serverMaxHeaderBytes is the http.Server's own MaxHeaderBytes: how much
// of a head net/http reads (plus its 4 KiB slack) before refusing the
// request itself, before any handler runs. Far above MaxHeaderBytes, so
// the middleware answers every head it can see whole; bounded, so one
// connection's head costs at most about 1 MiB of memory. Beyond it,
// Listener rewrites net/http's plain-text 431 into the same JSON error.
const serverMaxHeaderBytes = 1 << 20

// The HTTP server's timeouts: a client must send its whole head within
// ReadHeaderTimeout (slowloris) and its whole request within ReadTimeout;
// an answer must be written within WriteTimeout; an idle keep-alive
// connection is closed after IdleTimeout.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 60 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 120 * time.Second
)

// NewServer returns the http.Server that serves h, with the hub's
// timeouts and header limit. Serve it on Listener(ln).
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    serverMaxHeaderBytes,
	}
}

// headerLimitMessage is the 431's message; size is the head's size when
// known.
func headerLimitMessage(size int) string {
	what := "the request line and header fields are"
	if size > 0 {
		what = fmt.Sprintf("%s %d bytes,", what, size)
	}
	return fmt.Sprintf("%s over the hub's %d-byte limit (%d KiB): send large data in the body, not in headers", what, MaxHeaderBytes, MaxHeaderBytes>>10)
}

// limitHeaders refuses a request whose head is over MaxHeaderBytes.
func (s *server) limitHeaders(c *gin.Context) {
	if n := headerSize(c.Request); n > MaxHeaderBytes {
		s.fail(c, incidenthub.Errorf(incidenthub.EHEADERSTOOBIG, "%s", headerLimitMessage(n)))
		return
	}
	c.Next()
}

// headerSize is the size of r's head as the client sent it (give or take
// whitespace around values): request line, Host and every header field.
func headerSize(r *http.Request) int {
	n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2
	if r.Host != "" {
		n += len("Host: ") + len(r.Host) + 2
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n
}

// Listener wraps ln so that net/http's own refusal of a head over
// serverMaxHeaderBytes goes out as the hub's JSON error. net/http writes
// that refusal — a fixed plain-text "431 Request Header Fields Too Large"
// — straight to the connection in one Write before any handler runs, and
// has no hook to change it (net/http server.go, conn.serve); so the
// connection recognises exactly those bytes and writes the JSON answer
// in their place. Every other write passes through untouched. Should a
// future Go change the text, the plain answer goes out as before
// (TestHugeHeaderJSON431 would say so).
func Listener(ln net.Listener) net.Listener { return headerLimitListener{ln} }

// netHTTP431 is what net/http writes (errTooLarge in conn.serve).
const netHTTP431 = "HTTP/1.1 431 Request Header Fields Too Large\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" +
	"431 Request Header Fields Too Large"

// json431 replaces it.
var json431 = func() []byte {
	body := fmt.Sprintf(`{"error":{"code":%q,"message":%q}}`, incidenthub.EHEADERSTOOBIG, headerLimitMessage(0))
	return fmt.Appendf(nil, "HTTP/1.1 431 Request Header Fields Too Large\r\n"+
		"Content-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
}()

type headerLimitListener struct{ net.Listener }

func (l headerLimitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return headerLimitConn{c}, nil
}

type headerLimitConn struct{ net.Conn }

func (c headerLimitConn) Write(b []byte) (int, error) {
	if len(b) == len(netHTTP431) && string(b) == netHTTP431 {
		if _, err := c.Conn.Write(json431); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// CloseWrite keeps the half-close net/http does after the 431 (so the
// client can read the answer before the connection resets).
func (c headerLimitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

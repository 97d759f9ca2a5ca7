package web_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/web"
)

// serveReal serves h the way `incidenthub serve` does: web.NewServer on
// web.Listener, over real TCP.
func serveReal(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config = web.NewServer(h)
	srv.Listener = web.Listener(srv.Listener)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// rawRequest sends head (the request line and headers, without the final
// CRLF) over a fresh connection and reads the answer while still sending,
// as a client would that has not finished writing when the server answers.
func rawRequest(t *testing.T, addr, head string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(60*time.Second)))
	go func() { _, _ = io.WriteString(conn, head+"\r\n\r\n") }() // errors once the server hangs up
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

func require431(t *testing.T, resp *http.Response, body []byte, words ...string) {
	t.Helper()
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode, "body: %s", body)
	require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	var eb struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &eb), "body: %s", body)
	require.Equal(t, incidenthub.EHEADERSTOOBIG, eb.Error.Code)
	for _, w := range append(words, fmt.Sprint(web.MaxHeaderBytes)) {
		require.Contains(t, eb.Error.Message, w)
	}
}

// A 10 MB header is past what net/http reads at all: it answers before
// any handler, and the hub's listener turns that plain-text 431 into the
// JSON error naming the limit.
func TestHugeHeaderJSON431(t *testing.T) {
	t.Parallel()
	srv := serveReal(t, bareHandler())
	huge := "POST /hooks/x HTTP/1.1\r\nHost: hub\r\nX-Big: " + strings.Repeat("a", 10<<20)
	resp, body := rawRequest(t, srv.Listener.Addr().String(), huge)
	require431(t, resp, body, "over the hub's")
	require.True(t, resp.Close, "the server hangs up after it")
}

// Between web.MaxHeaderBytes and net/http's own limit the middleware
// answers, with the request id and the head's size; at the limit the
// request goes through. A single header or many small ones count alike.
func TestLargeHeaderJSON431(t *testing.T) {
	t.Parallel()
	srv := serveReal(t, bareHandler())
	send := func(h http.Header) (*http.Response, []byte) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/healthz", nil)
		require.NoError(t, err)
		req.Header = h
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, body
	}

	resp, body := send(http.Header{"X-Big": {strings.Repeat("a", 200<<10)}})
	require431(t, resp, body, "bytes, over")
	require.NotEmpty(t, resp.Header.Get("X-Request-Id"))
	require.Contains(t, string(body), resp.Header.Get("X-Request-Id"))

	many := http.Header{}
	for i := range 2000 {
		many.Set(fmt.Sprintf("X-H%d", i), strings.Repeat("b", 40))
	}
	resp, body = send(many)
	require431(t, resp, body)

	// Comfortably under the limit (Go's client adds a few headers of its own).
	resp, body = send(http.Header{"X-Big": {strings.Repeat("a", web.MaxHeaderBytes-1024)}})
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
}

// The server the hub runs has every timeout set: a client cannot hold a
// connection open by sending its head, its body or reading its answer
// slowly.
func TestServerTimeouts(t *testing.T) {
	t.Parallel()
	s := web.NewServer(http.NotFoundHandler())
	require.Equal(t, 10*time.Second, s.ReadHeaderTimeout)
	require.Equal(t, 60*time.Second, s.ReadTimeout)
	require.Equal(t, 60*time.Second, s.WriteTimeout)
	require.Equal(t, 120*time.Second, s.IdleTimeout)
	require.Greater(t, s.MaxHeaderBytes, web.MaxHeaderBytes, "net/http's own limit lies beyond the middleware's")
	require.LessOrEqual(t, s.MaxHeaderBytes, 1<<20)
}

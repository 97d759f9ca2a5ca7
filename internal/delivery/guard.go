package delivery

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/redact"
)

// RefusedError is the SSRF guard refusing an address.
type RefusedError struct {
	Target string
	Addr   netip.Addr
	Kind   string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("ssrf guard: refusing to connect to %s (%s address) for target %q; set allow_private_network: true on the target or add the address to delivery.ssrf_allowlist",
		e.Addr, e.Kind, e.Target)
}

// Refused marks the error as a refusal, which connectors do not retry.
func (e *RefusedError) Refused() bool { return true }

var (
	sharedCGNAT = netip.MustParsePrefix("100.64.0.0/10")
	benchmark   = netip.MustParsePrefix("198.18.0.0/15")
	reserved    = netip.MustParsePrefix("240.0.0.0/4")
	nat64       = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// restricted names why an address is not public, or "" when it is.
func restricted(a netip.Addr) string {
	a = a.Unmap()
	// IPv6 addresses that carry an IPv4 address (NAT64, 6to4) are judged
	// by the IPv4 address they reach.
	if b := a.As16(); nat64.Contains(a) {
		if why := restricted(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})); why != "" {
			return why + " (via NAT64)"
		}
	} else if sixToFour.Contains(a) {
		if why := restricted(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})); why != "" {
			return why + " (via 6to4)"
		}
	}
	switch {
	case a == netip.MustParseAddr("169.254.169.254") || a == netip.MustParseAddr("fd00:ec2::254"):
		return "cloud metadata"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast():
		return "link-local"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsMulticast() || a.IsInterfaceLocalMulticast():
		return "multicast"
	case sharedCGNAT.Contains(a):
		return "shared (carrier-grade NAT)"
	case a.Is4() && a.As4()[0] == 0:
		return "this-network"
	case benchmark.Contains(a):
		return "benchmarking"
	case reserved.Contains(a):
		return "reserved"
	}
	return ""
}

// guard checks each connection's resolved address at dial time, so a DNS
// answer cannot swap a public name for a private address after a check.
func guard(target string, allowAll bool, allow []netip.Prefix) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if allowAll {
			return nil
		}
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		a, err := netip.ParseAddr(host)
		if err != nil {
			return err
		}
		a = a.Unmap()
		kind := restricted(a)
		if kind == "" {
			return nil
		}
		for _, p := range allow {
			if p.Contains(a) {
				return nil
			}
		}
		return &RefusedError{Target: target, Addr: a, Kind: kind}
	}
}

// maxLoggedBody caps each body kept in the attempt log.
const maxLoggedBody = 16 << 10

// HTTPClient returns the client a target's connector sends with: the
// target's timeout, the SSRF guard, no redirects, no environment proxy,
// and every exchange recorded for the attempt log.
func HTTPClient(t *config.Target, d config.Delivery) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second,
		Control: guard(t.Name, t.AllowPrivateNetwork, d.AllowedPrefixes)}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would hide the real destination from the guard
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport:     &recording{base: tr, redact: t.Redactor(), public: t.PublicQueryParams},
		Timeout:       t.Timeout.Std(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// exchange is one HTTP request and its response, redacted.
type exchange struct {
	start      time.Time
	method     string
	url        string
	reqHeader  http.Header
	reqBody    string
	status     int
	respHeader http.Header
	respBody   string
	latency    time.Duration
	err        string
}

// recorder collects the exchanges of one attempt.
type recorder struct {
	mu  sync.Mutex
	exs []*exchange
}

func (r *recorder) add(e *exchange) {
	r.mu.Lock()
	r.exs = append(r.exs, e)
	r.mu.Unlock()
}

func (r *recorder) list() []*exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*exchange(nil), r.exs...)
}

type recorderKey struct{}

func withRecorder(ctx context.Context, r *recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, r)
}

// recording is a RoundTripper that logs each exchange to the context's
// recorder.
type recording struct {
	base   http.RoundTripper
	redact *redact.Redactor
	public []string // the target's public_query_params
}

func (t *recording) RoundTrip(req *http.Request) (*http.Response, error) {
	rec, _ := req.Context().Value(recorderKey{}).(*recorder)
	if rec == nil {
		return t.base.RoundTrip(req)
	}
	ex := &exchange{start: time.Now().UTC(), method: req.Method, url: t.redact.String(redact.URLOf(req.URL, t.public)),
		reqHeader: t.redact.Header(req.Header)}
	if req.GetBody != nil {
		if b, err := req.GetBody(); err == nil {
			body, _ := io.ReadAll(io.LimitReader(b, maxLoggedBody+1))
			b.Close()
			ex.reqBody = t.redact.Bytes(capBody(body))
		}
	}
	defer rec.add(ex)
	resp, err := t.base.RoundTrip(req)
	ex.latency = time.Since(ex.start)
	if err != nil {
		ex.err = t.redact.String(err.Error())
		return nil, err
	}
	ex.status = resp.StatusCode
	ex.respHeader = t.redact.Header(resp.Header)
	head, rerr := io.ReadAll(io.LimitReader(resp.Body, maxLoggedBody+1))
	ex.respBody = t.redact.Bytes(capBody(head))
	if rerr != nil {
		ex.err = t.redact.String(rerr.Error())
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	return resp, nil
}

func capBody(b []byte) []byte {
	if len(b) > maxLoggedBody {
		return append(b[:maxLoggedBody:maxLoggedBody], []byte("…[truncated]")...)
	}
	return b
}

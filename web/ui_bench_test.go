package web_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/internal/storetest"
	"github.com/incidenthub/incidenthub/web"
)

// BenchmarkIncidentListPage measures the server time of the Incidents
// page (GET /ui/, the whole handler: session lookup, counts per tab, the
// page of 50 by newest activity, target states, rendering) with 10,000
// incidents in the database, each with a member alert and two targets
// with a delivery. Target: under 100 ms.
//
//	go test ./web -run x -bench IncidentListPage -benchtime 100x -count 5
func BenchmarkIncidentListPage(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			st := storetest.Open(b, dialect)
			seedIncidents(b, st, 10000)
			cfg, err := config.Parse("bench.yaml", []byte(`
api:
  tokens: [{name: bench, token: bench-token-0c41, role: operator}]
sources:
  - {name: am, kind: alertmanager, auth: {type: none}}
targets:
  - {name: ops-hook, type: webhook, url: "https://hooks.example.org/x"}
  - {name: chat, type: webhook, url: "https://hooks.example.org/y"}
`), func(string) string { return "" })
			if err != nil {
				b.Fatal(err)
			}
			h := web.New(web.Deps{Store: st, Config: func() *config.Config { return cfg },
				Tokens: cfg.API.Tokens, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			cookie := benchSignIn(b, h, "bench-token-0c41")
			for _, bc := range []struct{ name, query, want string }{
				{"open", "", "data-count=\"open\">500<"},
				{"resolved", "?status=resolved", "data-count=\"resolved\">9000<"},
				{"resolved-page-20", "", ""}, // filled below: a cursor deep into the tab
				{"filtered", "?status=resolved&service=svc-08&severity=critical&source=am&target=chat&q=latency", "incident-row"},
			} {
				if bc.name == "resolved-page-20" {
					bc.query = deepCursor(b, h, cookie, 20)
				}
				b.Run(bc.name, func(b *testing.B) {
					req := httptest.NewRequest(http.MethodGet, "/ui/"+bc.query, nil)
					req.AddCookie(cookie)
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), bc.want) {
							b.Fatalf("status %d, want %q in the page: %.2000s", rec.Code, bc.want, rec.Body)
						}
					}
				})
			}
		})
	}
}

// benchSignIn signs in through the form and returns the session cookie.
func benchSignIn(b *testing.B, h http.Handler, token string) *http.Cookie {
	b.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/sign-in", nil))
	m := csrfInput.FindStringSubmatch(rec.Body.String())
	if m == nil {
		b.Fatalf("no sign-in form: %s", rec.Body)
	}
	form := url.Values{"token": {token}, "csrf": {m[1]}}
	req := httptest.NewRequest(http.MethodPost, "/ui/sign-in", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "incidenthub_session" {
			return c
		}
	}
	b.Fatalf("sign-in failed: %d %s", rec.Code, rec.Body)
	return nil
}

var nextLink = regexp.MustCompile(`href="/ui/(\?[^"]*cursor=[^"]+)" rel="next"`)

// deepCursor follows the resolved tab's "Older" link n times.
func deepCursor(b *testing.B, h http.Handler, cookie *http.Cookie, n int) string {
	b.Helper()
	q := "?status=resolved"
	for range n {
		req := httptest.NewRequest(http.MethodGet, "/ui/"+q, nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		m := nextLink.FindStringSubmatch(rec.Body.String())
		if m == nil {
			b.Fatalf("no next page after %s", q)
		}
		q = strings.ReplaceAll(m[1], "&amp;", "&")
	}
	return q
}

// seedIncidents inserts n incidents the way correlation leaves them: 5%
// open, 5% acknowledged, the rest resolved, over 40 services, each with one
// member alert and two routed targets that each got a delivery.
func seedIncidents(b *testing.B, st *store.Store, n int) {
	b.Helper()
	now := time.Now().UTC()
	sev := []string{"critical", "high", "warning", "info"}
	kinds := []string{"latency", "errors", "saturation", "disk"}
	incs := make([]store.Incident, n)
	for i := range incs {
		status := incidenthub.IncidentResolved
		switch {
		case i%20 == 0:
			status = incidenthub.IncidentOpen
		case i%20 == 1:
			status = incidenthub.IncidentAcknowledged
		}
		at := now.Add(-time.Duration(n-i) * time.Minute)
		svc := fmt.Sprintf("svc-%02d", i%40)
		kind := kinds[i%len(kinds)]
		inc := store.Incident{CorrelationKey: fmt.Sprintf("%s/%s/%d", svc, kind, i), Status: string(status),
			Title: fmt.Sprintf("High %s on %s", kind, svc), Service: svc, AlertType: kind, Severity: sev[i%len(sev)],
			Hosts: store.JSON[[]string]{V: []string{fmt.Sprintf("node-%d", i%100)}}, Targets: store.JSON[[]string]{V: []string{"ops-hook", "chat"}},
			EventCount: 2, AlertCount: 1, FiringCount: 1, OpenedAt: at, LastSeenAt: at, CreatedAt: at, UpdatedAt: at.Add(30 * time.Second),
			ResolvePolicy: "all", FlapTimes: store.JSON[[]time.Time]{V: []time.Time{}}}
		if status == incidenthub.IncidentResolved {
			inc.FiringCount, inc.ResolvedAt = 0, &inc.UpdatedAt
		}
		if status == incidenthub.IncidentAcknowledged {
			inc.AcknowledgedAt, inc.AcknowledgedBy = &inc.UpdatedAt, "alice"
		}
		incs[i] = inc
	}
	if err := st.DB.CreateInBatches(&incs, 500).Error; err != nil {
		b.Fatal(err)
	}
	var alerts []store.IncidentAlert
	var syncs []store.DeliverySync
	var dels []store.Delivery
	for _, inc := range incs {
		alerts = append(alerts, store.IncidentAlert{IncidentID: inc.ID, Fingerprint: fmt.Sprintf("fp-%d", inc.ID), Source: "am",
			Status: "firing", Severity: inc.Severity, Title: inc.Title, Host: inc.Hosts.V[0], EventCount: 2,
			FirstSeenAt: inc.OpenedAt, LastSeenAt: inc.LastSeenAt, LastEventAt: inc.LastSeenAt})
		for _, target := range inc.Targets.V {
			syncs = append(syncs, store.DeliverySync{IncidentID: inc.ID, Target: target, CreatedAt: inc.OpenedAt, UpdatedAt: inc.UpdatedAt,
				Ref: store.JSON[map[string]string]{V: map[string]string{}}})
			dels = append(dels, store.Delivery{IncidentID: inc.ID, Target: target, TargetType: "webhook", Event: incidenthub.EventOpened,
				MessageID: fmt.Sprintf("msg-%d-%s", inc.ID, target), Status: incidenthub.DeliveryDelivered, Attempts: 1,
				State: store.JSON[incidenthub.Incident]{V: inc.Domain()}, WindowStart: inc.OpenedAt, CreatedAt: inc.OpenedAt,
				UpdatedAt: inc.UpdatedAt, DeliveredAt: &inc.UpdatedAt})
		}
	}
	for _, err := range []error{
		st.DB.CreateInBatches(&alerts, 500).Error, st.DB.CreateInBatches(&syncs, 500).Error, st.DB.CreateInBatches(&dels, 500).Error,
	} {
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := st.DB.Exec("ANALYZE").Error; err != nil { // fresh statistics, as a running database has
		b.Fatal(err)
	}
}

// Package stormtest fires an alert storm at running hubs over HTTP and
// checks what correlation made of it: the storm test of issue 3, shared by
// the in-process test (internal/app) and the two-process test
// (cmd/incidenthub).
//
// The storm: Alerts firing alerts across Keys correlation keys
// ("svc-NN/HighErrorRate") from three sources of different kinds
// (alertmanager, grafana, generic), posted as batches concurrently and
// spread over every hub; then all of them resolve; then a key fires again
// inside the reopen window (the same incident reopens) and another outside
// it (a new incident).
package stormtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/incidenthub/incidenthub"
)

// Sources is the config snippet declaring the storm's three sources, all
// authenticated by ${INCIDENTHUB_SOURCE_TOKEN}.
const Sources = `sources:
  - name: am
    kind: alertmanager
    auth: {type: token, token: "${INCIDENTHUB_SOURCE_TOKEN}"}
  - name: graf
    kind: grafana
    auth: {type: token, token: "${INCIDENTHUB_SOURCE_TOKEN}"}
  - name: gen
    kind: generic
    auth: {type: token, token: "${INCIDENTHUB_SOURCE_TOKEN}"}
`

// Options describe the storm and the hubs.
type Options struct {
	URLs        []string // hubs to spread the storm over
	SourceToken string
	APIToken    string
	Alerts      int           // default 10,000
	Keys        int           // default 20
	Batch       int           // alerts per payload; default 100
	Senders     int           // concurrent posters; default 8
	Reopen      time.Duration // the hubs' correlation.reopen_window
	Timeout     time.Duration // for each phase to be processed; default 3m
}

var sources = []string{"am", "graf", "gen"}

type alert struct {
	i                     int
	service, key, source  string
	fingerprint, severity string
}

var severities = []string{"warning", "critical", "info", "high"}

func (o *Options) defaults() {
	if o.Alerts == 0 {
		o.Alerts = 10000
	}
	if o.Keys == 0 {
		o.Keys = 20
	}
	if o.Batch == 0 {
		o.Batch = 100
	}
	if o.Senders == 0 {
		o.Senders = 8
	}
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Minute
	}
}

func service(k int) string { return fmt.Sprintf("svc-%02d", k) }

// Key is the correlation key of storm key number k.
func Key(k int) string { return service(k) + "/HighErrorRate" }

type payload struct {
	source string
	body   []byte
}

// payloads renders the alerts in batches per source, in the source's own
// format. start and end are the source's times.
func payloads(o Options, status string, start, end time.Time, only func(alert) bool) []payload {
	bySource := map[string][]alert{}
	for i := range o.Alerts {
		a := alert{i: i, service: service(i % o.Keys), key: Key(i % o.Keys), source: sources[(i/o.Keys)%len(sources)],
			fingerprint: fmt.Sprintf("storm-%05d", i), severity: severities[(i/o.Keys)%len(severities)]}
		if only == nil || only(a) {
			bySource[a.source] = append(bySource[a.source], a)
		}
	}
	var out []payload
	for _, src := range sources {
		list := bySource[src]
		for len(list) > 0 {
			n := min(o.Batch, len(list))
			out = append(out, payload{src, render(src, status, start, end, list[:n])})
			list = list[n:]
		}
	}
	return out
}

func render(source, status string, start, end time.Time, alerts []alert) []byte {
	var items []map[string]any
	for _, a := range alerts {
		sev := a.severity
		host := fmt.Sprintf("node-%03d", a.i%250)
		switch source {
		case "gen":
			m := map[string]any{"fingerprint": a.fingerprint, "status": status, "service": a.service,
				"alert_type": "HighErrorRate", "severity": sev, "host": host, "starts_at": start.Format(time.RFC3339Nano),
				"title": "High error rate on " + a.service}
			if status == "resolved" {
				m["ends_at"] = end.Format(time.RFC3339Nano)
			}
			items = append(items, m)
		default: // alertmanager and grafana share the shape
			endsAt := "0001-01-01T00:00:00Z"
			if status == "resolved" {
				endsAt = end.Format(time.RFC3339Nano)
			}
			items = append(items, map[string]any{
				"status": status, "fingerprint": a.fingerprint,
				"labels": map[string]string{"alertname": "HighErrorRate", "service": a.service, "severity": sev,
					"instance": host},
				"annotations": map[string]string{"summary": "High error rate on " + a.service},
				"startsAt":    start.Format(time.RFC3339Nano), "endsAt": endsAt,
			})
		}
	}
	body := map[string]any{"alerts": items}
	if source != "gen" {
		body["version"], body["status"] = "4", status
	}
	b, _ := json.Marshal(body)
	return b
}

// post sends every payload, spread over the hubs, from Senders goroutines
// that start together.
func post(ctx context.Context, o Options, list []payload) error {
	client := &http.Client{Timeout: 60 * time.Second}
	work := make(chan int)
	errs := make(chan error, len(list))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range o.Senders {
		wg.Go(func() {
			<-start
			for i := range work {
				p := list[i]
				u := o.URLs[i%len(o.URLs)] + "/hooks/" + p.source
				if err := postOne(ctx, client, u, o.SourceToken, p.body); err != nil {
					errs <- err
				}
			}
		})
	}
	close(start)
	for i := range list {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs
}

func postOne(ctx context.Context, client *http.Client, u, token string, body []byte) error {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("POST %s: %w", u, err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusAccepted:
			return nil
		case resp.StatusCode == http.StatusServiceUnavailable && attempt < 5:
			time.Sleep(time.Second) // as a sender honouring Retry-After would
			continue
		}
		return fmt.Errorf("POST %s: %d %s", u, resp.StatusCode, data)
	}
}

// Incidents pages through every incident on the hub at base.
func Incidents(ctx context.Context, base, token string) ([]incidenthub.Incident, error) {
	var all []incidenthub.Incident
	cursor := ""
	for {
		q := url.Values{"limit": {"500"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Incidents  []incidenthub.Incident `json:"incidents"`
			NextCursor string                 `json:"next_cursor"`
		}
		if err := getJSON(ctx, base+"/api/v1/incidents?"+q.Encode(), token, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Incidents...)
		if page.NextCursor == "" {
			return all, nil
		}
		cursor = page.NextCursor
	}
}

func getJSON(ctx context.Context, u, token string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}

// summary describes the hub's incidents for failure messages.
func summary(list []incidenthub.Incident) string {
	byStatus := map[incidenthub.IncidentStatus]int{}
	alerts, firing := 0, 0
	for _, inc := range list {
		byStatus[inc.Status]++
		alerts += inc.AlertCount
		firing += inc.FiringCount
	}
	return fmt.Sprintf("%d incidents %v, %d alerts, %d firing", len(list), byStatus, alerts, firing)
}

// waitFor polls the first hub until cond holds for its incidents.
func waitFor(t *testing.T, o Options, what string, cond func([]incidenthub.Incident) bool) []incidenthub.Incident {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(o.Timeout)
	var last []incidenthub.Incident
	for {
		list, err := Incidents(ctx, o.URLs[0], o.APIToken)
		if err != nil {
			t.Fatalf("list incidents: %v", err)
		}
		last = list
		if cond(list) {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; have %s", o.Timeout, what, summary(last))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Run fires the storm and checks every phase.
func Run(t *testing.T, o Options) {
	t.Helper()
	o.defaults()
	ctx := context.Background()
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	end := start.Add(30 * time.Minute)

	// Phase 1: the storm fires.
	began := time.Now()
	if err := post(ctx, o, payloads(o, "firing", start, end, nil)); err != nil {
		t.Fatalf("fire the storm: %v", err)
	}
	accepted := time.Since(began)
	list := waitFor(t, o, fmt.Sprintf("%d alerts in incidents", o.Alerts), func(l []incidenthub.Incident) bool {
		n := 0
		for _, inc := range l {
			n += inc.AlertCount
		}
		return n >= o.Alerts
	})
	t.Logf("storm: %d alerts accepted in %s, correlated in %s", o.Alerts, accepted.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	if len(list) != o.Keys {
		t.Fatalf("want exactly %d incidents, got %s", o.Keys, summary(list))
	}
	byKey := map[string]incidenthub.Incident{}
	for _, inc := range list {
		if _, dup := byKey[inc.CorrelationKey]; dup {
			t.Fatalf("two incidents for key %s", inc.CorrelationKey)
		}
		byKey[inc.CorrelationKey] = inc
		want := o.Alerts / o.Keys
		if inc.Status != incidenthub.IncidentOpen || inc.AlertCount != want || inc.FiringCount != want || inc.EventCount != want {
			t.Fatalf("incident %d (%s): status %s, %d alerts, %d firing, %d events; want open with %d of each",
				inc.ID, inc.CorrelationKey, inc.Status, inc.AlertCount, inc.FiringCount, inc.EventCount, want)
		}
		if inc.Severity != incidenthub.SeverityCritical {
			t.Fatalf("incident %d: severity %s, want the highest seen (critical)", inc.ID, inc.Severity)
		}
	}
	for k := range o.Keys {
		if _, ok := byKey[Key(k)]; !ok {
			t.Fatalf("no incident for key %s", Key(k))
		}
	}

	// Phase 2: everything resolves.
	began = time.Now()
	if err := post(ctx, o, payloads(o, "resolved", start, end, nil)); err != nil {
		t.Fatalf("resolve the storm: %v", err)
	}
	list = waitFor(t, o, "every incident to resolve", func(l []incidenthub.Incident) bool {
		for _, inc := range l {
			if inc.Status != incidenthub.IncidentResolved {
				return false
			}
		}
		return true
	})
	t.Logf("storm: %d resolves correlated in %s", o.Alerts, time.Since(began).Round(time.Millisecond))
	if len(list) != o.Keys {
		t.Fatalf("want exactly %d incidents after resolving, got %s", o.Keys, summary(list))
	}
	for _, inc := range list {
		if inc.ID != byKey[inc.CorrelationKey].ID || inc.FiringCount != 0 || inc.ResolvedAt == nil {
			t.Fatalf("incident %d (%s) after resolving: %+v", inc.ID, inc.CorrelationKey, inc)
		}
	}

	// Phase 3: the key that resolved last fires again inside the reopen
	// window: the same incident reopens (a flap). The key that resolved
	// first fires again once the window has passed: a new incident.
	sort.Slice(list, func(i, j int) bool { return list[i].ResolvedAt.Before(*list[j].ResolvedAt) })
	first, last := list[0], list[len(list)-1]
	refire := time.Now().UTC()
	one := func(key string) func(alert) bool {
		seen := false
		return func(a alert) bool {
			if a.key != key || seen {
				return false
			}
			seen = true
			return true
		}
	}
	if err := post(ctx, o, payloads(o, "firing", refire, refire, one(last.CorrelationKey))); err != nil {
		t.Fatalf("flap: %v", err)
	}
	waitFor(t, o, "the flapping incident to reopen", func(l []incidenthub.Incident) bool {
		for _, inc := range l {
			if inc.ID == last.ID && inc.Status == incidenthub.IncidentOpen {
				return true
			}
		}
		return false
	})
	if wait := time.Until(first.ResolvedAt.Add(o.Reopen + 500*time.Millisecond)); wait > 0 {
		time.Sleep(wait)
	}
	refire = time.Now().UTC()
	if err := post(ctx, o, payloads(o, "firing", refire, refire, one(first.CorrelationKey))); err != nil {
		t.Fatalf("fire after the window: %v", err)
	}
	list = waitFor(t, o, "a new incident after the reopen window", func(l []incidenthub.Incident) bool {
		return len(l) == o.Keys+1
	})
	for _, inc := range list {
		switch {
		case inc.ID == last.ID:
			if inc.Status != incidenthub.IncidentOpen || inc.FlapCount != 1 || inc.FiringCount != 1 {
				t.Fatalf("reopened incident: %+v", inc)
			}
		case inc.CorrelationKey == first.CorrelationKey && inc.ID != first.ID:
			if inc.Status != incidenthub.IncidentOpen || inc.AlertCount != 1 {
				t.Fatalf("new incident after the window: %+v", inc)
			}
		case inc.Status != incidenthub.IncidentResolved:
			t.Fatalf("incident %d (%s) should still be resolved: %+v", inc.ID, inc.CorrelationKey, inc)
		}
	}
}

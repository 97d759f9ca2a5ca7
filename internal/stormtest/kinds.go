package stormtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/google/uuid"

	"github.com/incidenthub/incidenthub"
)

// KindData is what a kind's storm template sees: one alert of one
// payload. Service, AlertType and Host must come out of normalization
// unchanged; a resolve rendered with the same three must resolve the alert
// the firing opened (the same fingerprint).
type KindData struct {
	Service   string
	AlertType string
	Host      string
	Index     int    // 0, 1, …: the alert's number in the storm
	ID        string // unique per rendered payload (a UUID), for the vendor's event or message id
	// Time is the payload's own time: when the alert fired, in the firing
	// template; when it recovered, in the resolved one.
	Time time.Time
	// FiredAt is when the alert fired, in both templates: for vendors whose
	// resolve repeats the start (Alertmanager's startsAt).
	FiredAt time.Time
}

// NoPayloadTimes are the built-in kinds whose payloads carry no time at
// all (Honeycomb's trigger webhook): an alert starts when the hub receives
// its firing (starts_at_from "received") and its resolve has no end time.
// Every other kind's firing must carry its start (.Time).
var NoPayloadTimes = map[string]bool{"honeycomb": true}

// KindTemplates are one kind's storm payloads:
// <dir>/<kind>/storm/firing.json.tmpl and resolved.json.tmpl, Go
// text/template files that each render one payload holding one alert.
// Besides text/template's own functions they may use
//
//	json   a value as a JSON literal: {{ json .Host }} is "web-01" with its
//	       quotes, so a payload may embed a JSON document in a string
//	hash   the hex sha256 of its arguments joined by NUL bytes, for vendors
//	       whose ids are hex: {{ slice (hash .Service .Host) 0 16 }}
type KindTemplates struct {
	Kind     string
	firing   *template.Template
	resolved *template.Template
}

// TemplateFiles are the two files every built-in kind supplies.
var TemplateFiles = []string{"firing.json.tmpl", "resolved.json.tmpl"}

// LoadKindTemplates reads and parses kind's storm templates under dir
// (mappings/testdata). A missing file is an error that says what to add.
func LoadKindTemplates(dir, kind string) (*KindTemplates, error) {
	k := &KindTemplates{Kind: kind}
	for i, name := range TemplateFiles {
		file := filepath.Join(dir, kind, "storm", name)
		data, err := os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("kind %s has no storm template %s: every built-in kind needs storm/firing.json.tmpl and storm/resolved.json.tmpl (see internal/stormtest.KindData)", kind, file)
		}
		if err != nil {
			return nil, err
		}
		t, err := template.New(name).Option("missingkey=error").Funcs(template.FuncMap{"json": jsonLiteral, "hash": hashHex}).Parse(string(data))
		if err != nil {
			return nil, fmt.Errorf("storm template %s: %w", file, err)
		}
		if i == 0 {
			k.firing = t
		} else {
			k.resolved = t
		}
	}
	return k, nil
}

func newID() string { return uuid.NewString() }

func hashHex(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

func jsonLiteral(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// Render renders the firing or the resolved payload for d; it must be JSON.
func (k *KindTemplates) Render(resolved bool, d KindData) ([]byte, error) {
	t := k.firing
	if resolved {
		t = k.resolved
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("kind %s: render %s: %w", k.Kind, t.Name(), err)
	}
	if !json.Valid(buf.Bytes()) {
		return nil, fmt.Errorf("kind %s: %s renders no valid JSON for %+v:\n%s", k.Kind, t.Name(), d, buf.Bytes())
	}
	return buf.Bytes(), nil
}

// KindOptions describe one kind's storm against a running hub.
type KindOptions struct {
	URL         string // the hub
	Source      string // a source of the kind, authenticated by SourceToken
	SourceToken string
	APIToken    string // a viewer token is enough
	Templates   *KindTemplates
	Hosts       int           // firing alerts of the main incident, one per host; default 20
	Timeout     time.Duration // for each phase; default 30s
}

// kindAlert is one alert of a kind's storm and what the hub made of it.
type kindAlert struct {
	data        KindData
	fingerprint string
	event       string    // the firing's event id
	startsAt    time.Time // the firing's start: .FiredAt, or the receive time for NoPayloadTimes kinds
}

// RunKind posts the kind's storm and checks it: Hosts firings of one
// (service, alert type) over as many hosts become one incident with that
// many alerts; one firing of another service and one of another alert type
// open one incident each; then every alert resolves, every incident ends
// resolved, and each resolved alert still starts when it fired.
func RunKind(t *testing.T, o KindOptions) {
	t.Helper()
	if o.Hosts == 0 {
		o.Hosts = 20
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	kind := o.Templates.Kind
	service, other := kind+"-checkout", kind+"-billing"
	const alertType, otherType = "HighErrorRate", "DiskFull"
	fired := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var alerts []*kindAlert
	for i := range o.Hosts {
		alerts = append(alerts, &kindAlert{data: KindData{Service: service, AlertType: alertType, Host: fmt.Sprintf("web-%02d", i+1)}})
	}
	alerts = append(alerts,
		&kindAlert{data: KindData{Service: other, AlertType: alertType, Host: "web-01"}},
		&kindAlert{data: KindData{Service: service, AlertType: otherType, Host: "web-01"}})
	for i, a := range alerts {
		a.data.Index = i
		a.data.Time = fired.Add(time.Duration(i) * time.Second)
		a.data.FiredAt = a.data.Time
	}
	keys := []struct {
		key    string
		alerts []*kindAlert
	}{
		{service + "/" + alertType, alerts[:o.Hosts]},
		{other + "/" + alertType, alerts[o.Hosts : o.Hosts+1]},
		{service + "/" + otherType, alerts[o.Hosts+1:]},
	}
	h := &hub{t: t, o: o}
	began := time.Now()

	// Phase 1: every alert fires; each maps to what was sent.
	events := h.post(false, alerts)
	posted := time.Since(began)
	for i, a := range alerts {
		ev := h.processed(events[i], "firing", a.data)
		fa := ev.Alerts[0]
		a.fingerprint, a.event, a.startsAt = fa.Fingerprint, events[i], fa.StartsAt
		if fa.Status != incidenthub.AlertFiring {
			t.Fatalf("kind %s: firing payload %d mapped to status %s", kind, i, fa.Status)
		}
		switch {
		case NoPayloadTimes[kind] && fa.StartsAtFrom != incidenthub.StartsAtReceived:
			t.Fatalf("kind %s sends no time, yet firing payload %d starts at %s (%s)", kind, i, fa.StartsAt, orPayload(fa.StartsAtFrom))
		case !NoPayloadTimes[kind] && (fa.StartsAtFrom != "" || !fa.StartsAt.Equal(a.data.FiredAt)):
			t.Fatalf("kind %s: firing payload %d starts at %s (%s), want its .Time %s", kind, i, fa.StartsAt, orPayload(fa.StartsAtFrom), a.data.FiredAt)
		}
	}
	fps := map[string]bool{}
	for _, a := range alerts[:o.Hosts] {
		if fps[a.fingerprint] {
			t.Fatalf("kind %s: two hosts share fingerprint %s: the fingerprint must tell the hosts apart", kind, a.fingerprint)
		}
		fps[a.fingerprint] = true
	}
	incidents := map[string]int64{}
	for _, k := range keys {
		inc := h.incident(k.key)
		if inc.Status != incidenthub.IncidentOpen || inc.AlertCount != len(k.alerts) || inc.FiringCount != len(k.alerts) {
			t.Fatalf("kind %s: incident for %s is %s with %d alerts (%d firing); want open with %d",
				kind, k.key, inc.Status, inc.AlertCount, inc.FiringCount, len(k.alerts))
		}
		incidents[k.key] = inc.ID
	}

	t.Logf("kind %s: %d firings posted in %s, correlated in %s", kind, len(alerts), posted.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))

	// Phase 2: every alert resolves.
	began = time.Now()
	resolvedAt := fired.Add(30 * time.Minute)
	for i, a := range alerts {
		a.data.Time = resolvedAt.Add(time.Duration(i) * time.Second)
	}
	events = h.post(true, alerts)
	posted = time.Since(began)
	for i, a := range alerts {
		ev := h.processed(events[i], "resolved", a.data)
		if ev.Alerts[0].Status != incidenthub.AlertResolved {
			t.Fatalf("kind %s: resolved payload %d mapped to status %s", kind, i, ev.Alerts[0].Status)
		}
		if ev.Alerts[0].Fingerprint != a.fingerprint {
			t.Fatalf("kind %s: resolved payload %d has fingerprint %s, its firing %s: the resolve must name the alert the firing opened",
				kind, i, ev.Alerts[0].Fingerprint, a.fingerprint)
		}
	}
	t.Logf("kind %s: %d resolves posted in %s, correlated in %s", kind, len(alerts), posted.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	for _, k := range keys {
		inc := h.incident(k.key)
		if inc.ID != incidents[k.key] || inc.Status != incidenthub.IncidentResolved || inc.FiringCount != 0 || inc.AlertCount != len(k.alerts) {
			t.Fatalf("kind %s: after the resolves, incident %d for %s is %s with %d alerts (%d firing); want incident %d resolved with %d",
				kind, inc.ID, k.key, inc.Status, inc.AlertCount, inc.FiringCount, incidents[k.key], len(k.alerts))
		}
		members := h.members(inc.ID)
		for _, a := range k.alerts {
			m, ok := members[a.fingerprint]
			switch {
			case !ok:
				t.Fatalf("kind %s: incident %d has no alert %s (host %s)", kind, inc.ID, a.fingerprint, a.data.Host)
			case m.Status != incidenthub.AlertResolved:
				t.Fatalf("kind %s: alert %s (host %s) is %s after its resolve", kind, a.fingerprint, a.data.Host, m.Status)
			case !m.Alert.StartsAt.Equal(a.startsAt):
				t.Fatalf("kind %s: resolved alert %s (host %s) starts at %s (%s), want its firing's time %s: a resolve that repeats the start should render {{.FiredAt}}; one that carries only its recovery time maps it to ends_at and leaves starts_at out",
					kind, a.fingerprint, a.data.Host, m.Alert.StartsAt, orPayload(m.Alert.StartsAtFrom), a.startsAt)
			case m.Alert.EndsAt != nil && !m.Alert.EndsAt.Equal(a.data.Time):
				t.Fatalf("kind %s: resolved alert %s (host %s) ends at %s, want the resolve's time %s", kind, a.fingerprint, a.data.Host, m.Alert.EndsAt, a.data.Time)
			}
		}
	}
}

func orPayload(from incidenthub.StartsAtOrigin) string {
	if from == "" {
		return "from the payload"
	}
	return "starts_at_from " + string(from)
}

// hub is the HTTP client side of RunKind.
type hub struct {
	t *testing.T
	o KindOptions
}

// post renders and posts one payload per alert, a few at a time, and
// returns the event ids in order.
func (h *hub) post(resolved bool, alerts []*kindAlert) []string {
	h.t.Helper()
	ctx := context.Background()
	ids := make([]string, len(alerts))
	errs := make([]error, len(alerts))
	bodies := make([][]byte, len(alerts))
	for i, a := range alerts {
		d := a.data
		d.ID = newID()
		body, err := h.o.Templates.Render(resolved, d)
		if err != nil {
			h.t.Fatal(err)
		}
		bodies[i] = body
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range alerts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ids[i], errs[i] = h.postOne(ctx, bodies[i])
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			h.t.Fatalf("kind %s: post payload %d: %v\n%s", h.o.Templates.Kind, i, err, bodies[i])
		}
	}
	return ids
}

func (h *hub) postOne(ctx context.Context, body []byte) (string, error) {
	u := h.o.URL + "/hooks/" + url.PathEscape(h.o.Source)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.o.SourceToken)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		EventID   string `json:"event_id"`
		Duplicate bool   `json:"duplicate"`
	}
	if resp.StatusCode != http.StatusAccepted {
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return "", fmt.Errorf("%d %s", resp.StatusCode, b.Bytes())
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	if out.Duplicate {
		return "", fmt.Errorf("the hub took it for a duplicate of event %s: does the template render .ID where the vendor's delivery id goes?", out.EventID)
	}
	return out.EventID, nil
}

// kindEvent is the part of GET /api/v1/events/{id} RunKind reads.
type kindEvent struct {
	Status   string                `json:"status"`
	Error    string                `json:"error"`
	Alerts   []incidenthub.Alert   `json:"alerts"`
	Warnings []incidenthub.Warning `json:"warnings"`
}

// processed waits for event id to be processed and checks it mapped to
// one alert with d's service, alert type and host, without warnings.
func (h *hub) processed(id, what string, d KindData) kindEvent {
	h.t.Helper()
	kind := h.o.Templates.Kind
	deadline := time.Now().Add(h.o.Timeout)
	for {
		var out struct {
			Event kindEvent `json:"event"`
		}
		if err := getJSON(context.Background(), h.o.URL+"/api/v1/events/"+url.PathEscape(id), h.o.APIToken, &out); err != nil {
			h.t.Fatalf("kind %s: %v", kind, err)
		}
		ev := out.Event
		switch ev.Status {
		case "processed":
			if len(ev.Alerts) != 1 {
				h.t.Fatalf("kind %s: %s payload %d mapped to %d alerts, want 1", kind, what, d.Index, len(ev.Alerts))
			}
			a := ev.Alerts[0]
			if a.Service != d.Service || a.AlertType != d.AlertType || a.Host != d.Host {
				h.t.Fatalf("kind %s: %s payload %d mapped to service %q, alert_type %q, host %q; want %q, %q, %q",
					kind, what, d.Index, a.Service, a.AlertType, a.Host, d.Service, d.AlertType, d.Host)
			}
			if len(ev.Warnings) > 0 {
				h.t.Fatalf("kind %s: %s payload %d has warnings: %+v", kind, what, d.Index, ev.Warnings)
			}
			return ev
		case "pending":
		default:
			h.t.Fatalf("kind %s: %s payload %d is %s: %s", kind, what, d.Index, ev.Status, ev.Error)
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("kind %s: %s payload %d (event %s) still pending after %s", kind, what, d.Index, id, h.o.Timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// incident returns the one incident of key; more than one fails.
func (h *hub) incident(key string) incidenthub.Incident {
	h.t.Helper()
	var page struct {
		Incidents []incidenthub.Incident `json:"incidents"`
	}
	q := url.Values{"key": {key}, "limit": {"10"}}
	if err := getJSON(context.Background(), h.o.URL+"/api/v1/incidents?"+q.Encode(), h.o.APIToken, &page); err != nil {
		h.t.Fatalf("kind %s: %v", h.o.Templates.Kind, err)
	}
	if len(page.Incidents) != 1 {
		var ids []string
		for _, inc := range page.Incidents {
			ids = append(ids, fmt.Sprintf("%d (%s, %d alerts)", inc.ID, inc.Status, inc.AlertCount))
		}
		h.t.Fatalf("kind %s: want exactly one incident for %s, got %d: %s", h.o.Templates.Kind, key, len(page.Incidents), strings.Join(ids, ", "))
	}
	return page.Incidents[0]
}

// members returns an incident's member alerts by fingerprint.
func (h *hub) members(id int64) map[string]incidenthub.IncidentAlert {
	h.t.Helper()
	var out struct {
		Alerts []incidenthub.IncidentAlert `json:"alerts"`
	}
	if err := getJSON(context.Background(), fmt.Sprintf("%s/api/v1/incidents/%d", h.o.URL, id), h.o.APIToken, &out); err != nil {
		h.t.Fatalf("kind %s: %v", h.o.Templates.Kind, err)
	}
	m := make(map[string]incidenthub.IncidentAlert, len(out.Alerts))
	for _, a := range out.Alerts {
		m[a.Fingerprint] = a
	}
	return m
}

// KindsSources is the config snippet declaring one source per kind, named
// after it and authenticated by ${INCIDENTHUB_SOURCE_TOKEN}.
func KindsSources(kinds []string) string {
	var b strings.Builder
	b.WriteString("sources:\n")
	for _, k := range slices.Sorted(slices.Values(kinds)) {
		fmt.Fprintf(&b, "  - name: %s\n    kind: %s\n    auth: {type: token, token: \"${INCIDENTHUB_SOURCE_TOKEN}\"}\n", k, k)
	}
	return b.String()
}

package connectors

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/connectors/webhook"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/remote"
	"github.com/incidenthub/incidenthub/mappings"
)

// FuzzOutboundRender renders incidents carrying fuzzed text through the
// webhook's default body and through every outbound mapping in the repo
// (the connectors' test mappings and the examples), as a whole webhook
// body and merged over a connector's default body. A body is valid UTF-8
// JSON or a "mapping <name>:" error; a merge keeps the protected members
// (PagerDuty's routing_key, event_action, dedup_key) and never changes the
// connector's default body it starts from.
//
//	go test ./connectors -run '^$' -fuzz FuzzOutboundRender -fuzztime 60s
func FuzzOutboundRender(f *testing.F) {
	var outs []*mappings.Outbound
	for _, pat := range []string{"testdata/*.yaml", "../examples/mappings/outbound/*.yaml"} {
		files, _ := filepath.Glob(pat)
		for _, p := range files {
			o, err := mappings.LoadOutbound(p)
			if err != nil {
				f.Fatalf("%s: %v", p, err)
			}
			outs = append(outs, o)
		}
	}
	if len(outs) < 5 {
		f.Fatalf("found %d outbound mappings", len(outs))
	}
	f.Add("High latency", "web-1", "sre", "incident.opened", "checkout")
	f.Add("", "", "", "", "")
	f.Add("\xff\xfe\"}{", "a\u2028b", "${x}", "incident.resolved", "{{ incident.title }}")
	f.Add(strings.Repeat("é", 300), "h\x00st", "<script>", "opened", "svc\n")
	protected := []string{"routing_key", "event_action", "dedup_key"}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, title, host, team, event, service string) {
		inc := incidenthub.Incident{ID: 42, Title: title, Service: service, AlertType: title, CorrelationKey: service + "/" + title,
			Status: incidenthub.IncidentOpen, Severity: incidenthub.SeverityHigh, Hosts: []string{host}, AlertCount: 3,
			FiringCount: 3, OpenedAt: at, Targets: []string{team}}
		alert := incidenthub.Alert{Source: "am", Fingerprint: host, Title: title, Description: title, Host: host, URL: host,
			Labels: map[string]string{"team": team, host: title}, Annotations: map[string]string{"runbook": host}, StartsAt: at}
		n := &incidenthub.Notification{ID: "msg_1", Event: event, Target: "t", Time: at, Incident: inc, LatestAlert: &alert}

		b, err := webhook.DefaultBody(n)
		if err != nil || !json.Valid(b) {
			t.Fatalf("default webhook body: %v %q", err, b)
		}
		for _, o := range outs {
			tg := &config.Target{Name: "t", Type: config.TargetWebhook, Outbound: o, Vars: map[string]string{"team": team, "public_name": service}}
			if b, err := webhookRender(tg)(n); err != nil {
				if !strings.Contains(err.Error(), "body") {
					t.Fatalf("mapping %s: error does not name the body key: %v", o.Name, err)
				}
			} else if !json.Valid(b) || !utf8.Valid(b) {
				t.Fatalf("mapping %s rendered %q", o.Name, b)
			}

			base := map[string]any{"routing_key": "R0123", "event_action": "trigger", "dedup_key": "incidenthub-42",
				"payload": map[string]any{"summary": "default", "severity": "error", "source": "hub"},
				"fields":  map[string]any{"summary": "default", "labels": []any{"incidenthub"}}}
			before := deepCopy(t, base)
			out, err := mappingRender(tg, protected, "op")("op", remote.State{Incident: inc, Alert: &alert, Event: event}, base)
			if !reflect.DeepEqual(base, before) {
				t.Fatalf("mapping %s changed the connector's default body: %v", o.Name, base)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "mapping "+o.Name+": ") {
					t.Fatalf("mapping %s: error %q", o.Name, err)
				}
				continue
			}
			for _, k := range protected {
				if out[k] != base[k] {
					t.Fatalf("mapping %s changed protected %s to %v", o.Name, k, out[k])
				}
			}
			if _, err := json.Marshal(out); err != nil {
				t.Fatalf("mapping %s: merged body does not encode: %v", o.Name, err)
			}
		}
	})
}

func deepCopy(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

package mappings_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/mappings"
)

func addFiles(f *testing.F, patterns ...string) {
	for _, pat := range patterns {
		files, _ := filepath.Glob(pat)
		for _, p := range files {
			b, err := os.ReadFile(p)
			require.NoError(f, err)
			f.Add(b)
		}
	}
}

// checkLoadProblems fails unless every problem in err is a
// *mappings.LoadError in file with a line or key and a message.
func checkLoadProblems(t *testing.T, err error, file string) {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	require.NotEmpty(t, errs)
	for _, e := range errs {
		var p *mappings.LoadError
		require.True(t, errors.As(e, &p), "problem %T is not a *mappings.LoadError: %v", e, e)
		require.Equal(t, file, p.File, "%v", p)
		require.NotEmpty(t, p.Message, "%v", p)
		require.True(t, p.Line > 0 || p.Key != "" || p.Message == "empty mapping file", "problem names neither a line nor a key: %v", p)
	}
}

// fuzzBodies are the payloads a fuzzed inbound mapping is tried on.
var fuzzBodies = [][]byte{
	[]byte(`{}`), []byte(`[]`), []byte(`null`), []byte(`"x"`),
	[]byte(`{"id":"1","status":"firing","alert_type":"cpu","title":"CPU","host":"web-1","labels":{"env":"prod"},"starts_at":"2024-05-01T12:00:00Z"}`),
	[]byte(`{"alerts":[{"status":"resolved","labels":{"alertname":"A"},"startsAt":"2024-05-01T12:00:00Z","endsAt":"2024-05-01T12:05:00Z"}]}`),
	[]byte(`{"check":{"name":"disk","host":"db-1"},"state":"CRIT","ts":1714557600,"tags":"env:prod,team:data","Message":"{\"a\":1}"}`),
}

// FuzzParseInbound feeds arbitrary YAML to the inbound mapping loader. It
// must not panic; its problems are *LoadError in the file with a line or
// key, the same for the same input; and a mapping that compiles maps
// payloads as a built-in kind must: errors EINVALID or EUNPROCESSABLE,
// alerts that satisfy the normalized alert's invariants and encode.
//
//	go test ./mappings -run '^$' -fuzz FuzzParseInbound -fuzztime 60s
func FuzzParseInbound(f *testing.F) {
	addFiles(f, "builtin/*.yaml", "../examples/mappings/*.yaml", "../internal/config/testdata/mappings/*.yaml")
	for _, s := range []string{"", `"`, "kind: x", "kind: x\nalert: {status: {path: s}, alert_type: {expr: 'vars.nope'}}",
		"kind: x\nitems: {each: alerts, or_root: true}\nalert: {status: {path: status, enum: {a: firing}}, alert_type: {path: t, default: d}}\ndedup: {per_alert: '{{ alert.fingerprint }}'}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := mappings.ParseInbound("fuzz.yaml", data)
		_, err2 := mappings.ParseInbound("fuzz.yaml", data)
		require.Equal(t, err == nil, err2 == nil)
		if err != nil {
			require.Equal(t, err.Error(), err2.Error(), "two loads of one file differ")
			checkLoadProblems(t, err, "fuzz.yaml")
			return
		}
		require.NotEmpty(t, m.Kind)
		set, err := mappings.NewSet(m)
		if err != nil { // a built-in kind's name
			checkLoadProblems(t, err, "fuzz.yaml")
			return
		}
		for _, body := range fuzzBodies {
			_ = set.DedupKey(m.Kind, body)
			res, err := set.Normalize(m.Kind, "fuzz", body, receivedAt)
			if err != nil {
				var e *incidenthub.Error
				require.ErrorAs(t, err, &e)
				require.Equal(t, incidenthub.EUNPROCESSABLE, e.Code, e.Message)
				require.LessOrEqual(t, len(e.Message), 2000, "an error message stays short")
				continue
			}
			require.NotEmpty(t, res.Alerts)
			for _, a := range res.Alerts {
				checkInvariants(t, a, "fuzz")
			}
			checkWarnings(t, res)
			_, err = json.Marshal(res)
			require.NoError(t, err)
		}
	})
}

// FuzzParseOutbound feeds arbitrary YAML to the outbound mapping loader,
// then renders what compiles for an incident carrying fuzzed text. Loading
// must not panic and report *LoadError problems; rendering either fails
// with EUNPROCESSABLE naming the body key or yields valid UTF-8 JSON.
//
//	go test ./mappings -run '^$' -fuzz FuzzParseOutbound -fuzztime 60s
func FuzzParseOutbound(f *testing.F) {
	addFiles(f, "../examples/mappings/outbound/*.yaml", "../connectors/testdata/*.yaml", "../internal/config/testdata/outbound/*.yaml")
	for _, s := range []string{"", "name: x\nbody: 1", "name: x\nbody: '{{ incident.title }}'", "name: x\nbody: {a: '{{ alert.labels[\"k\"] }}', b: ['{{ vars.v }}', null, 2.5]}",
		"name: x\nbody: {t: '{{ upper(incident.title) }} {{ len(incident.hosts) }}', n: '{{ incident.alert_count / 0 }}'}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := mappings.ParseOutbound("fuzz.yaml", data)
		_, err2 := mappings.ParseOutbound("fuzz.yaml", data)
		require.Equal(t, err == nil, err2 == nil)
		if err != nil {
			require.Equal(t, err.Error(), err2.Error(), "two loads of one file differ")
			checkLoadProblems(t, err, "fuzz.yaml")
			return
		}
		for _, d := range fuzzRenderData(string(data)) {
			out, err := mappings.Render(o, d)
			if err != nil {
				var e *incidenthub.Error
				require.ErrorAs(t, err, &e)
				require.Equal(t, incidenthub.EUNPROCESSABLE, e.Code, e.Message)
				require.Contains(t, e.Message, "body")
				continue
			}
			require.True(t, json.Valid(out), "rendered invalid JSON: %q", out)
			require.True(t, utf8.Valid(out), "rendered invalid UTF-8: %q", out)
		}
	})
}

// fuzzRenderData is an empty incident and one full of s (the fuzzed text,
// invalid UTF-8 and all).
func fuzzRenderData(s string) []mappings.RenderData {
	s = strings.Repeat(s, 1)[:min(len(s), 512)]
	inc := incidenthub.Incident{ID: 42, Title: s, Service: s, AlertType: s, CorrelationKey: s, Status: incidenthub.IncidentOpen,
		Severity: incidenthub.SeverityHigh, Hosts: []string{s, "web-1"}, AlertCount: 3, FiringCount: 2, OpenedAt: receivedAt}
	alert := incidenthub.Alert{Source: s, Fingerprint: s, Title: s, Description: s, Host: s, URL: s,
		Labels: map[string]string{s: s, "k": s}, Annotations: map[string]string{"runbook": s}, StartsAt: receivedAt}
	return []mappings.RenderData{
		{},
		{Incident: inc, Alert: alert, Event: s, Vars: map[string]string{"v": s, "team": s, s: s}},
	}
}

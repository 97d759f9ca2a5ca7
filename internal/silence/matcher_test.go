package silence

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	sharedmatcher "github.com/incidenthub/incidenthub/internal/matcher"
)

func TestMatcherSemantics(t *testing.T) {
	t.Parallel()
	a := incidenthub.Alert{
		Source: "prom", Service: "checkout", AlertType: "HighLatency", Severity: incidenthub.SeverityCritical,
		Status: incidenthub.AlertFiring, Host: "web-1", Environment: "prod", Title: "5xx rate high",
		Labels:      map[string]string{"alertname": "5xx-rate", "cluster": "eu-1", "service": "label-svc"},
		Annotations: map[string]string{"runbook": "https://runbooks/5xx"},
	}
	cases := []struct {
		m    Matcher
		want bool
	}{
		{Matcher{"service", Equal, "checkout"}, true}, // the field, not the label
		{Matcher{"labels.service", Equal, "label-svc"}, true},
		{Matcher{"service", Equal, "check"}, false},
		{Matcher{"service", NotEqual, "checkout"}, false},
		{Matcher{"service", NotEqual, "billing"}, true},
		{Matcher{"alertname", Regexp, "5xx.*"}, true},
		{Matcher{"alertname", Regexp, "5xx"}, false}, // anchored: the whole value
		{Matcher{"alertname", Regexp, ".*rate"}, true},
		{Matcher{"alertname", NotRegex, "5xx.*"}, false},
		{Matcher{"alertname", NotRegex, "disk.*"}, true},
		{Matcher{"severity", Regexp, "critical|high"}, true},
		{Matcher{"status", Equal, "firing"}, true},
		{Matcher{"alert_type", Equal, "HighLatency"}, true},
		{Matcher{"host", Equal, "web-1"}, true},
		{Matcher{"environment", Equal, "prod"}, true},
		{Matcher{"source", Equal, "prom"}, true},
		{Matcher{"title", Regexp, "5xx.*"}, true},
		{Matcher{"annotations.runbook", Regexp, "https://.*"}, true},
		{Matcher{"team", Equal, ""}, true}, // a missing label is ""
		{Matcher{"team", NotEqual, "db"}, true},
		{Matcher{"team", Equal, "db"}, false},
		{Matcher{"team", Regexp, ".*"}, true},
		{Matcher{"cluster", Regexp, "eu-.*"}, true},
		{Matcher{"labels.cluster", Equal, "eu-1"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.m.String(), func(t *testing.T) {
			c, err := compileMatcher(tc.m)
			require.NoError(t, err)
			require.Equal(t, tc.want, c.matches(&a))
		})
	}
}

func TestCompileMatcherErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		m     Matcher
		field string
	}{
		{Matcher{"", Equal, "x"}, "name"},
		{Matcher{"9lives", Equal, "x"}, "name"},
		{Matcher{"a b", Equal, "x"}, "name"},
		{Matcher{"service", "==", "x"}, "op"},
		{Matcher{"service", "", "x"}, "op"},
		{Matcher{"service", Regexp, "5xx("}, "value"},
		{Matcher{"service", NotRegex, "[a-"}, "value"},
	}
	for _, tc := range cases {
		_, err := compileMatcher(tc.m)
		var fe *FieldError
		require.ErrorAs(t, err, &fe, "%+v", tc.m)
		require.Equal(t, tc.field, fe.Field, "%+v: %v", tc.m, err)
	}
	_, err := compileMatcher(Matcher{"service", Regexp, "5xx("})
	require.ErrorContains(t, err, `"5xx(" is not a valid regular expression: missing closing ): `+"`5xx(`")
}

func TestParseMatcher(t *testing.T) {
	t.Parallel()
	cases := map[string]Matcher{
		"service=checkout":             {"service", Equal, "checkout"},
		`alertname=~"5xx.*"`:           {"alertname", Regexp, "5xx.*"},
		"alertname=~5xx.*":             {"alertname", Regexp, "5xx.*"},
		"env!=prod":                    {"env", NotEqual, "prod"},
		"env!~prod|staging":            {"env", NotRegex, "prod|staging"},
		`title="disk \"full\" on a=b"`: {"title", Equal, `disk "full" on a=b`},
		"team=":                        {"team", Equal, ""},
		" labels.zone = eu ":           {"labels.zone", Equal, "eu"},
		"url=http://x/?a=b":            {"url", Equal, "http://x/?a=b"},
	}
	for in, want := range cases {
		got, err := ParseMatcher(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
		// String renders what ParseMatcher reads back.
		again, err := ParseMatcher(got.String())
		require.NoError(t, err, got.String())
		require.Equal(t, want, again, got.String())
	}
	for _, bad := range []string{"service", "=x", "service!x", `title="open`, ""} {
		_, err := ParseMatcher(bad)
		require.Error(t, err, bad)
	}
}

// AlertWith is the inverse of what a matcher's name selects.
func TestAlertWith(t *testing.T) {
	t.Parallel()
	pairs := map[string]string{"service": "checkout", "severity": "critical", "alertname": "5xx-rate",
		"labels.service": "label-svc", "annotations.runbook": "r", "host": "web-1", "status": "firing"}
	a := AlertWith(pairs)
	for name, v := range pairs {
		require.Equal(t, v, sharedmatcher.Value(&a, name), name)
	}
	require.Equal(t, "checkout", a.Service)
	require.Equal(t, map[string]string{"alertname": "5xx-rate", "service": "label-svc"}, a.Labels)
}

package matcher_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/matcher"
)

var alert = incidenthub.Alert{
	Source: "prom", Fingerprint: "fp1", Status: incidenthub.AlertFiring, Severity: incidenthub.SeverityCritical,
	Service: "checkout", AlertType: "ClusterDown", Title: "Cluster eu-1 down", Host: "node-3", Environment: "prod",
	Labels:      map[string]string{"alertname": "ClusterDown", "cluster": "eu-1", "severity": "page", "app.kubernetes.io/name": "api"},
	Annotations: map[string]string{"runbook": "https://runbooks/cluster"},
}

func TestParseAndMatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		name    string
		op      matcher.Op
		value   string
		matches bool
	}{
		{`alertname="ClusterDown"`, "alertname", matcher.Equal, "ClusterDown", true},
		{` cluster = "eu-1" `, "cluster", matcher.Equal, "eu-1", true},
		{`cluster=eu-1`, "cluster", matcher.Equal, "eu-1", true},
		{`cluster!="eu-1"`, "cluster", matcher.NotEqual, "eu-1", false},
		{`cluster=~"eu-.*"`, "cluster", matcher.Regexp, "eu-.*", true},
		{`cluster=~"eu"`, "cluster", matcher.Regexp, "eu", false}, // anchored
		{`cluster!~"us-.*"`, "cluster", matcher.NotRegexp, "us-.*", true},
		{`severity="critical"`, "severity", matcher.Equal, "critical", true}, // the field, not the label
		{`labels.severity="page"`, "labels.severity", matcher.Equal, "page", true},
		{`annotations.runbook=~"https://.*"`, "annotations.runbook", matcher.Regexp, "https://.*", true},
		{`app.kubernetes.io/name="api"`, "app.kubernetes.io/name", matcher.Equal, "api", true},
		{`"odd name"=""`, "odd name", matcher.Equal, "", true}, // a missing label is ""
		{`zone=""`, "zone", matcher.Equal, "", true},
		{`zone!=""`, "zone", matcher.NotEqual, "", false},
		{`host=~"node-\d+"`, "host", matcher.Regexp, `node-\d+`, true},
		{`title="Cluster \"eu-1\" down"`, "title", matcher.Equal, `Cluster "eu-1" down`, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			m, err := matcher.Parse(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.name, m.Name)
			require.Equal(t, tc.op, m.Op)
			require.Equal(t, tc.value, m.Value)
			require.Equal(t, tc.matches, m.Matches(&alert))
			back, err := matcher.Parse(m.String())
			require.NoError(t, err, "String %s reads back", m)
			require.Equal(t, m.String(), back.String())
			require.Equal(t, m.Value, back.Value)
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		``:                   "empty matcher",
		`cluster`:            "no operator",
		`cluster~"x"`:        "no operator",
		`cluster=~"(eu"`:     "bad regular expression",
		`cluster="eu`:        "unterminated quote",
		`cluster=eu"1`:       "unescaped double quote",
		`cluster="eu" extra`: `unexpected "extra"`,
		`1cluster="x"`:       "bad name",
		`labels.="x"`:        "needs the label or annotation name",
		`""="x"`:             "empty name",
	} {
		_, err := matcher.Parse(in)
		require.ErrorContains(t, err, want, "%q", in)
	}
}

func TestSet(t *testing.T) {
	t.Parallel()
	s, err := matcher.ParseSet(`{alertname="ClusterDown", cluster=~"eu-1|eu-2", title!="a, b"}`)
	require.NoError(t, err)
	require.Len(t, s, 3)
	require.True(t, s.Matches(&alert))
	require.Equal(t, `{alertname="ClusterDown", cluster=~"eu-1|eu-2", title!="a, b"}`, s.String())
	s = append(s, &matcher.Matcher{Name: "cluster", Op: matcher.Equal, Value: "us-1"})
	require.False(t, s.Matches(&alert), "every matcher must match")
	require.True(t, matcher.Set(nil).Matches(&alert))

	_, err = matcher.ParseSet(`a="1", b`)
	require.ErrorContains(t, err, "no operator")
}

func TestJSON(t *testing.T) {
	t.Parallel()
	var got struct{ M []matcher.Matcher }
	require.NoError(t, json.Unmarshal([]byte(`{"M": [{"name": "cluster", "op": "=~", "value": "eu-.*"}]}`), &got))
	require.True(t, got.M[0].Matches(&alert), "the regexp is compiled")
	b, err := json.Marshal(got)
	require.NoError(t, err)
	require.JSONEq(t, `{"M": [{"name": "cluster", "op": "=~", "value": "eu-.*"}]}`, string(b))
	require.ErrorContains(t, json.Unmarshal([]byte(`{"M": [{"name": "cluster", "op": "~", "value": "x"}]}`), &got), "unknown operator")
	require.ErrorContains(t, json.Unmarshal([]byte(`{"M": [{"name": "cluster", "op": "=~", "value": "("}]}`), &got), "bad regular expression")
}

package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMappingsDefineKinds(t *testing.T) {
	t.Parallel()
	_, err := Load("testdata/good-mappings.yaml", env(nil))
	require.EqualError(t, err, `testdata/good-mappings.yaml:7:5: sources[1].kind: unknown kind "chekcs" (known: alertmanager, amazon-sns-cloudwatch, azure-monitor, checks, datadog, dynatrace, elastic, gcp-monitoring, generic, grafana, honeycomb, newrelic, opsgenie, pagerduty, pingdom, sentry, uptime-kuma, zabbix)`)

	cfg, err := Parse("testdata/ok.yaml", []byte("mappings: [mappings/good.yaml]\nsources: [{name: c, kind: checks, auth: {type: none}}]\n"), env(nil))
	require.NoError(t, err)
	require.True(t, cfg.Mappings.Known("checks"))
	res, err := cfg.Mappings.Normalize("checks", "c", []byte(`{"state":"firing","check":"disk"}`), time.Now())
	alerts := res.Alerts
	require.NoError(t, err)
	require.Equal(t, "disk", alerts[0].AlertType)

	none, err := Parse("c.yaml", []byte("sources: []\n"), env(nil))
	require.NoError(t, err)
	require.Equal(t, []string{"alertmanager", "amazon-sns-cloudwatch", "azure-monitor", "datadog", "dynatrace", "elastic", "gcp-monitoring", "generic", "grafana", "honeycomb", "newrelic", "opsgenie", "pagerduty", "pingdom", "sentry", "uptime-kuma", "zabbix"}, none.Mappings.Kinds())
}

func TestLoadCustomSourcesExample(t *testing.T) {
	t.Parallel()
	cfg, err := Load("../../examples/custom-sources.yaml", env(map[string]string{"INCIDENTHUB_SOURCE_TOKEN": "t0k"}))
	require.NoError(t, err)
	require.True(t, cfg.Mappings.Known("homegrown"))
	src, ok := cfg.Source("checks")
	require.True(t, ok)
	require.Equal(t, "homegrown", src.Kind)
}

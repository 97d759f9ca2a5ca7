package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	descReloadOK = prometheus.NewDesc("incidenthub_config_last_reload_successful",
		"1 when the last configuration load (start or reload) succeeded, 0 while the files on disk are rejected (the last good config stays in force).", nil, nil)
	descReloadAt = prometheus.NewDesc("incidenthub_config_last_reload_success_timestamp_seconds",
		"Unix time of the last successful configuration load.", nil, nil)
)

// ReloadStatus reports config loads with Alertmanager's metric names.
// status returns whether the last load attempt succeeded and when the
// config in force was loaded; it is asked at each scrape.
func ReloadStatus(status func() (ok bool, loadedAt time.Time)) prometheus.Collector {
	return reloadCollector(status)
}

type reloadCollector func() (bool, time.Time)

func (c reloadCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descReloadOK
	ch <- descReloadAt
}

func (c reloadCollector) Collect(ch chan<- prometheus.Metric) {
	ok, at := c()
	v := 0.0
	if ok {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(descReloadOK, prometheus.GaugeValue, v)
	ch <- prometheus.MustNewConstMetric(descReloadAt, prometheus.GaugeValue, float64(at.UnixNano())/1e9)
}

package metrics

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Build is what incidenthub_build_info reports.
type Build struct {
	Version   string // the main module's version ("(devel)" for a plain go build)
	Revision  string // vcs.revision, with "-dirty" when vcs.modified; "" when unknown
	GoVersion string
}

// ReadBuild reads the binary's build information.
func ReadBuild() Build {
	b := Build{Version: "unknown", GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if info.Main.Version != "" {
		b.Version = info.Main.Version
	}
	if info.GoVersion != "" {
		b.GoVersion = info.GoVersion
	}
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && b.Revision != "" {
		b.Revision += "-dirty"
	}
	return b
}

// NewBuildInfo returns incidenthub_build_info: a gauge of 1 labelled with
// the version, VCS revision and Go version.
func NewBuildInfo(b Build) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "incidenthub_build_info",
		Help:        "Always 1; labelled with the hub's version, VCS revision and the Go version that built it.",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Revision, "goversion": b.GoVersion},
	})
	g.Set(1)
	return g
}

// Package version says which build of the hub is running: the module
// version, the VCS revision and build date, and the Go version.
//
// A plain `go build` or `go install …@version` fills these from the
// binary's build information (runtime/debug.ReadBuildInfo). A release
// build may set them with the linker, which wins:
//
//	go build -trimpath -ldflags "-X github.com/incidenthub/incidenthub/internal/version.version=v1.2.3 \
//	  -X github.com/incidenthub/incidenthub/internal/version.revision=$(git rev-parse HEAD) \
//	  -X github.com/incidenthub/incidenthub/internal/version.date=2026-12-01T00:00:00Z" ./cmd/incidenthub
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set with -ldflags "-X github.com/incidenthub/incidenthub/internal/version.<name>=…".
var (
	version  string
	revision string
	date     string
)

// Info describes one build.
type Info struct {
	Version   string `json:"version"`   // module version: v1.2.3, a pseudo-version, or "(devel)"
	Revision  string `json:"revision"`  // VCS commit; "" when unknown
	Date      string `json:"date"`      // build date (ldflags) or commit time (vcs.time), RFC 3339; "" when unknown
	Modified  bool   `json:"modified"`  // built from a work tree with uncommitted changes
	GoVersion string `json:"goversion"` // the Go toolchain that built it
}

// Get returns the running binary's build information.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return get(bi, version, revision, date)
}

func get(bi *debug.BuildInfo, ldVersion, ldRevision, ldDate string) Info {
	info := Info{Version: "(devel)", GoVersion: runtime.Version()}
	if bi != nil {
		if bi.Main.Version != "" {
			info.Version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.time":
				info.Date = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if ldVersion != "" {
		info.Version = ldVersion
	}
	if ldRevision != "" {
		info.Revision = ldRevision
	}
	if ldDate != "" {
		info.Date = ldDate
	}
	return info
}

// String is one line: "incidenthub v1.2.3 (revision abc123, built 2026-12-01T00:00:00Z, go1.26.8)".
func (i Info) String() string {
	var parts []string
	if i.Revision != "" {
		r := "revision " + i.Revision
		if i.Modified {
			r += " (modified)"
		}
		parts = append(parts, r)
	}
	if i.Date != "" {
		parts = append(parts, "built "+i.Date)
	}
	parts = append(parts, i.GoVersion)
	return fmt.Sprintf("incidenthub %s (%s)", i.Version, strings.Join(parts, ", "))
}

package version

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGet(t *testing.T) {
	t.Parallel()
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/incidenthub/incidenthub", Version: "v0.0.0-20261201120000-abcdef123456"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abcdef1234567890"},
			{Key: "vcs.time", Value: "2026-12-01T12:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	cases := []struct {
		name          string
		bi            *debug.BuildInfo
		ldV, ldR, ldD string
		want          Info
		wantString    string
	}{
		{"build info only", bi, "", "", "",
			Info{Version: "v0.0.0-20261201120000-abcdef123456", Revision: "abcdef1234567890", Date: "2026-12-01T12:00:00Z", Modified: true, GoVersion: "go1.26.8"},
			"incidenthub v0.0.0-20261201120000-abcdef123456 (revision abcdef1234567890 (modified), built 2026-12-01T12:00:00Z, go1.26.8)"},
		{"ldflags win", bi, "v1.2.3", "0123456", "2026-12-24T00:00:00Z",
			Info{Version: "v1.2.3", Revision: "0123456", Date: "2026-12-24T00:00:00Z", Modified: true, GoVersion: "go1.26.8"},
			"incidenthub v1.2.3 (revision 0123456 (modified), built 2026-12-24T00:00:00Z, go1.26.8)"},
		{"nothing known", &debug.BuildInfo{GoVersion: "go1.26.8"}, "", "", "",
			Info{Version: "(devel)", GoVersion: "go1.26.8"},
			"incidenthub (devel) (go1.26.8)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := get(tc.bi, tc.ldV, tc.ldR, tc.ldD)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.wantString, got.String())
		})
	}
}

// A test binary has build information: the Go version at least.
func TestGetRunning(t *testing.T) {
	t.Parallel()
	i := Get()
	require.NotEmpty(t, i.Version)
	require.Regexp(t, `^go1\.`, i.GoVersion)
}

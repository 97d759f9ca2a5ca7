package stormtest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/internal/stormtest"
)

func writeTemplates(t *testing.T, firing, resolved string) string {
	t.Helper()
	dir := t.TempDir()
	storm := filepath.Join(dir, "vendor", "storm")
	require.NoError(t, os.MkdirAll(storm, 0o755))
	if firing != "" {
		require.NoError(t, os.WriteFile(filepath.Join(storm, "firing.json.tmpl"), []byte(firing), 0o644))
	}
	if resolved != "" {
		require.NoError(t, os.WriteFile(filepath.Join(storm, "resolved.json.tmpl"), []byte(resolved), 0o644))
	}
	return dir
}

func TestKindTemplates(t *testing.T) {
	t.Parallel()
	d := stormtest.KindData{Service: "checkout", AlertType: "HighErrorRate", Host: "web-01", Index: 3, ID: "id-1",
		Time: time.Date(2024, 5, 1, 10, 30, 0, 0, time.UTC), FiredAt: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}

	dir := writeTemplates(t, `{"m": {{ json (printf "{\"host\":%q}" .Host) }}, "fp": "{{ slice (hash .Service .Host) 0 16 }}", "at": {{ .Time.Unix }}}`,
		`{"start": "{{ .FiredAt.Format "2006-01-02T15:04:05Z07:00" }}", "end": {{ .Time.UnixMilli }}}`)
	k, err := stormtest.LoadKindTemplates(dir, "vendor")
	require.NoError(t, err)
	got, err := k.Render(false, d)
	require.NoError(t, err)
	require.Equal(t, `{"m": "{\"host\":\"web-01\"}", "fp": "9a79a528b036578e", "at": 1714559400}`, string(got))
	got, err = k.Render(true, d)
	require.NoError(t, err)
	require.Equal(t, `{"start": "2024-05-01T10:00:00Z", "end": 1714559400000}`, string(got))

	// A missing template says what to add; output that is not JSON and an
	// unknown field are errors.
	_, err = stormtest.LoadKindTemplates(writeTemplates(t, `{}`, ""), "vendor")
	require.ErrorContains(t, err, "kind vendor has no storm template")
	require.ErrorContains(t, err, filepath.Join("vendor", "storm", "resolved.json.tmpl"))
	k, err = stormtest.LoadKindTemplates(writeTemplates(t, `{"host": {{ .Host }}}`, `{"x": "{{ .Nope }}"}`), "vendor")
	require.NoError(t, err)
	_, err = k.Render(false, d)
	require.ErrorContains(t, err, "renders no valid JSON")
	_, err = k.Render(true, d)
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "Nope"), err.Error())
}

package mappings_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub/mappings"
)

// TestLoadErrorsGolden loads every testdata/load-errors/*.yaml and compares
// the error text with <case>.golden: every problem of a file at once, each
// with file:line:column, the key, and for an expression expr's caret.
func TestLoadErrorsGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "load-errors", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		_, err := mappings.LoadInbound(f)
		require.Error(t, err, f)
		got := err.Error() + "\n"
		golden := strings.TrimSuffix(f, ".yaml") + ".golden"
		if *update {
			require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
		}
		want, err := os.ReadFile(golden)
		require.NoError(t, err, "run go test ./mappings -run TestLoadErrorsGolden -update and review it")
		require.Equal(t, string(want), got, f)
	}
}

func TestNewSetRejectsDuplicateKinds(t *testing.T) {
	t.Parallel()
	parse := func(file, text string) *mappings.Inbound {
		m, err := mappings.ParseInbound(file, []byte(text))
		require.NoError(t, err)
		return m
	}
	const body = "\nalert:\n  status: status\n  alert_type: type\n"
	_, err := mappings.NewSet(parse("a.yaml", "kind: datadog"+body))
	require.EqualError(t, err, `a.yaml:1:7: kind: kind "datadog" is built in; give the custom mapping another kind`)
	_, err = mappings.NewSet(parse("a.yaml", "kind: mine"+body), parse("b.yaml", "# second\nkind: mine"+body))
	require.EqualError(t, err, `b.yaml:2:7: kind: kind "mine" is already defined in a.yaml`)
	set, err := mappings.NewSet(parse("a.yaml", "kind: mine"+body))
	require.NoError(t, err)
	require.True(t, set.Known("mine"))
	require.False(t, mappings.KnownKind("mine"), "the built-in set is not changed")
}

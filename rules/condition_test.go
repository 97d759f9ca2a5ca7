package rules_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/rules"
)

// CompileCondition is the rules' when: for other packages: the same
// names, a boolean result, and the caret on a typo.
func TestCompileCondition(t *testing.T) {
	t.Parallel()
	c, err := rules.CompileCondition(`severity_rank >= 3 && labels.cluster startsWith "eu-" && service == "checkout"`)
	require.NoError(t, err)
	a := incidenthub.Alert{Service: "checkout", Severity: incidenthub.SeverityHigh, Labels: map[string]string{"cluster": "eu-1"}}
	ok, err := c.Match(a)
	require.NoError(t, err)
	require.True(t, ok)
	a.Severity = incidenthub.SeverityWarning
	ok, err = c.Match(a)
	require.NoError(t, err)
	require.False(t, ok)

	_, err = rules.CompileCondition(`servce == "x"`)
	require.ErrorContains(t, err, "unknown name servce")
	require.ErrorContains(t, err, "^")
	_, err = rules.CompileCondition(`service`)
	require.ErrorContains(t, err, "expected bool")
}

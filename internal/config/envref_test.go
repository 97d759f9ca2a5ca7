package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A ${VAR} that is not set is one problem, at the key that names it, not
// also "required …" or a type error for the empty value it left behind.
func TestMissingEnvReportedOnce(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yaml string
		want       string
	}{
		{"token source", "sources:\n  - name: a\n    kind: generic\n    auth: {type: token, token: \"${MISSING_TOK}\"}\n",
			"c.yaml:4:32: sources[0].auth.token: environment variable MISSING_TOK is not set"},
		{"webhook url", "targets:\n  - {name: ops, type: webhook, url: \"${MISSING_URL}\"}\n",
			"c.yaml:2:37: targets[0].url: environment variable MISSING_URL is not set"},
		{"int value", "database:\n  max_open_conns: \"${MISSING_N}\"\n",
			"c.yaml:2:19: database.max_open_conns: environment variable MISSING_N is not set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("c.yaml", []byte(tc.yaml), env(nil))
			require.Error(t, err)
			require.Equal(t, tc.want, err.Error())
		})
	}
}

// Two unset variables in one value are each reported; other keys'
// problems still are.
func TestMissingEnvOthersStillReported(t *testing.T) {
	t.Parallel()
	y := "listen: \"${A_HOST}:${A_PORT}\"\nsources:\n  - name: a\n    kind: generic\n    auth: {type: hmac, secret: x}\n"
	_, err := Parse("c.yaml", []byte(y), env(nil))
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 3, err.Error())
	require.Contains(t, lines[0], "listen: environment variable A_HOST is not set")
	require.Contains(t, lines[1], "listen: environment variable A_PORT is not set")
	require.Contains(t, lines[2], "sources[0].auth.header: required for auth type hmac")
}

package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLogging(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("c.yaml", []byte("logging: {format: json, level: debug}\n"), env(nil))
	require.NoError(t, err)
	require.Equal(t, Logging{Format: "json", Level: "debug"}, cfg.Logging)

	cfg, err = Parse("c.yaml", []byte(""), env(nil))
	require.NoError(t, err)
	require.Equal(t, Logging{}, cfg.Logging, "unset: serve's defaults (text, info)")

	_, err = Parse("c.yaml", []byte("logging:\n  format: xml\n  level: loud\n  colour: red\n"), env(nil))
	require.Error(t, err)
	require.Contains(t, err.Error(), `c.yaml:2:3: logging.format: must be json or text (got "xml")`)
	require.Contains(t, err.Error(), `c.yaml:3:3: logging.level: must be debug, info, warn or error (got "loud")`)
	require.Contains(t, err.Error(), `c.yaml:4:3: logging.colour: unknown key`)
}

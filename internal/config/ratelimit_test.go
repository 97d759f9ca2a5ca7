package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Each source's effective limit: its own keys, else ingest.rate_limit's,
// else the defaults; rate and burst inherit separately, and per_second 0
// turns the limit off.
func TestSourceRateLimit(t *testing.T) {
	t.Parallel()
	parse := func(ingest string) *Config {
		cfg, err := Parse("rl.yaml", []byte(ingest+`
sources:
  - {name: plain, kind: generic, auth: {type: none}}
  - {name: own, kind: generic, auth: {type: none}, rate_limit: {per_second: 2.5}}
  - {name: both, kind: generic, auth: {type: none}, rate_limit: {per_second: 5, burst: 7}}
  - {name: burst, kind: generic, auth: {type: none}, rate_limit: {burst: 9}}
  - {name: off, kind: generic, auth: {type: none}, rate_limit: {per_second: 0}}
`), env(nil))
		require.NoError(t, err)
		return cfg
	}
	type limit struct {
		perSecond float64
		burst     int
	}
	for ingest, want := range map[string]map[string]limit{
		"": {
			"plain": {1000, 20000}, "own": {2.5, 50}, "both": {5, 7}, "burst": {1000, 9}, "off": {0, 0},
		},
		"ingest: {rate_limit: {per_second: 10}}": {
			"plain": {10, 200}, "own": {2.5, 50}, "both": {5, 7}, "burst": {10, 9}, "off": {0, 0},
		},
		"ingest: {rate_limit: {per_second: 0}}": {
			"plain": {0, 0}, "own": {2.5, 50}, "both": {5, 7}, "burst": {0, 0}, "off": {0, 0},
		},
		"ingest: {rate_limit: {burst: 3}}": {
			"plain": {1000, 3}, "own": {2.5, 3}, "both": {5, 7}, "burst": {1000, 9}, "off": {0, 0},
		},
	} {
		cfg := parse(ingest)
		for name, w := range want {
			src, _ := cfg.Source(name)
			ps, b := cfg.RateLimit(src)
			require.Equal(t, w, limit{ps, b}, "%q: source %s", ingest, name)
		}
	}
}

func TestSourceRateLimitProblems(t *testing.T) {
	t.Parallel()
	_, err := Parse("rl.yaml", []byte(`ingest:
  rate_limit: {per_second: -1, burst: -2}
sources:
  - name: a
    kind: generic
    auth: {type: none}
    rate_limit: {per_second: 0, burst: 10}
  - name: b
    kind: generic
    auth: {type: none}
    rate_limit: {per_second: .nan, rps: 3}
`), env(nil))
	require.EqualError(t, err, `rl.yaml:2:16: ingest.rate_limit.per_second: must be a number ≥ 0 (0 turns the limit off)
rl.yaml:2:32: ingest.rate_limit.burst: must be positive
rl.yaml:7:33: sources[0].rate_limit.burst: has no effect with per_second: 0 (the limit is off)
rl.yaml:11:18: sources[1].rate_limit.per_second: must be a number ≥ 0 (0 turns the limit off)
rl.yaml:11:36: sources[1].rate_limit.rps: unknown key (known keys: burst, per_second)`)
}

package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSecretValue is what every ${VAR} resolves to in FuzzParse: no
// problem message may show it.
const fuzzSecretValue = "fuzz-env-secret-5d1e0c"

// FuzzParse feeds arbitrary YAML to the config loader. It must not panic;
// every problem it reports is a *Problem naming a file (this one, or a
// mapping file it references) and, for this file, a line or key; the same
// input gives the same answer (no map order in messages); no problem with
// a secret key shows the secret the environment resolved into it; and a
// config that loads has sane effective values (rate limits, windows).
//
//	go test ./internal/config -run '^$' -fuzz FuzzParse -fuzztime 60s
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	examples, _ := filepath.Glob("../../examples/*.yaml")
	for _, p := range append(seeds, examples...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "{}", "sources: [", "listen: [1]", "ingest: {poll_interval: 5x, rate_limit: {per_second: -1}}",
		"sources:\n  - {name: a, kind: generic, auth: {type: hmac, secret: \"${S}\", header: X, timestamp_header: Y, tolerance: 1m, duplicate_window: 30s}}",
		"sources:\n  - {name: a, kind: generic, auth: {type: token, token: \"${T}\"}, rate_limit: {per_second: .inf}}",
		"a: &x [*x]", "targets: [{name: t, type: webhook, url: \"${U}\"}]"} {
		f.Add([]byte(s))
	}
	getenv := func(string) string { return fuzzSecretValue }
	f.Fuzz(func(t *testing.T, data []byte) {
		if unsafePaths(data) {
			return // names a device or system file (a mapping path would read it)
		}
		const file = "testdata/fuzz.yaml"
		cfg, err := Parse(file, data, getenv)
		cfg2, err2 := Parse(file, data, getenv)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("two parses of one input differ:\n%v\n---\n%v", err, err2)
		}
		if err != nil {
			checkProblems(t, err, file, data)
			return
		}
		if cfg == nil || cfg2 == nil {
			t.Fatal("no config and no error")
		}
		for i := range cfg.Sources {
			s := &cfg.Sources[i]
			if got, ok := cfg.Source(s.Name); !ok || got != s {
				t.Fatalf("Source(%q) does not find sources[%d]", s.Name, i)
			}
			ps, burst := cfg.RateLimit(s)
			if ps < 0 || burst < 0 || (ps > 0) != (burst > 0) {
				t.Fatalf("source %q: rate limit %v/s burst %d", s.Name, ps, burst)
			}
			if s.Auth.ReplayWindow() < 0 || s.Auth.Duplicates() < 0 {
				t.Fatalf("source %q: tolerance %v, duplicate window %v", s.Name, s.Auth.ReplayWindow(), s.Auth.Duplicates())
			}
			if s.MaxBodyBytes <= 0 {
				t.Fatalf("source %q: max_body_bytes %d", s.Name, s.MaxBodyBytes)
			}
		}
	})
}

// checkProblems fails unless every problem in err is a *Problem with a
// file, this file's with a line or key, and none about a secret key shows
// the secret the environment gave it.
func checkProblems(t *testing.T, err error, file string, data []byte) {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	if len(errs) == 0 {
		t.Fatal("an error without problems")
	}
	for _, e := range errs {
		var p *Problem
		if !errors.As(e, &p) {
			t.Fatalf("problem %T is not a *Problem: %v", e, e)
		}
		if p.File == "" || p.Message == "" {
			t.Fatalf("problem without a file or message: %#v", p)
		}
		if p.File == file && p.Line == 0 && p.Key == "" {
			t.Fatalf("problem names neither a line nor a key: %v", p)
		}
		if secretKey(p.Key) && !bytes.Contains(data, []byte(fuzzSecretValue)) && strings.Contains(p.Error(), fuzzSecretValue) {
			t.Fatalf("a problem shows a secret from the environment: %v", p)
		}
	}
}

// unsafePaths reports whether data may make the loader read a device or a
// system file (mappings: [/dev/zero] would never end), directly or through
// a YAML escape.
func unsafePaths(data []byte) bool {
	s := strings.ToLower(string(data))
	for _, w := range []string{"dev", "proc", "sys", `\x`, `\u`, `\n`, `\/`, `\0`, "fd"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// secretKey reports whether a problem's key holds a secret (a Secret
// field): its message must not echo the value.
func secretKey(key string) bool {
	if key == "database.url" || strings.Contains(key, ".headers.") {
		return true
	}
	last := key[strings.LastIndexAny(key, ".]")+1:]
	switch last {
	case "token", "password", "secret", "api_token", "api_key", "routing_key":
		return true
	}
	return false
}

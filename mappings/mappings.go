// Package mappings is the hub's declarative mapping language, in both
// directions:
//
//   - inbound, a source's raw webhook payload into one or more normalized
//     incidenthub.Alert (Inbound, Set.Normalize);
//   - outbound, an incident and its latest alert into the body a target
//     expects (Outbound, Render).
//
// Mappings are YAML files: JSON paths, expr expressions and {{ }}
// templates compiled once at load against a typed environment, with
// defaults, required fields, enum maps, fan-out over an array, JSON
// embedded in a string, timestamps in several formats and tag lists. The
// built-in source kinds are such files, embedded from builtin/*.yaml; the
// README's "Mappings" section is the reference.
//
// Errors are *incidenthub.Error: EINVALID when the body is not JSON at all,
// EUNPROCESSABLE when it is JSON that does not satisfy the mapping, with a
// message that starts with the JSON path at fault, e.g.
//
//	alerts[2].labels.alertname: required field "alert_type" is missing
package mappings

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/incidenthub/incidenthub"
)

// defaultSeverity is used when the source gives no severity at all.
const defaultSeverity = incidenthub.SeverityWarning

//go:embed builtin/*.yaml
var builtinFiles embed.FS

// Set is the inbound mappings a hub knows, by kind: the built-in ones plus
// any loaded from files. A nil *Set is the built-in set. It is safe for
// concurrent use.
type Set struct {
	inbound map[string]*Inbound
}

// Builtin returns the set of built-in mappings (builtin/*.yaml).
var Builtin = sync.OnceValue(func() *Set {
	s := &Set{inbound: map[string]*Inbound{}}
	files, err := fs.Glob(builtinFiles, "builtin/*.yaml")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		data, err := builtinFiles.ReadFile(f)
		if err != nil {
			panic(err)
		}
		m, err := ParseInbound("mappings/"+f, data)
		if err != nil {
			panic(fmt.Sprintf("built-in mapping: %v", err)) // the golden tests keep this from happening
		}
		if m.Docs == m.File {
			m.Docs = "docs/sources.md#" + m.Kind
		}
		s.inbound[m.Kind] = m
	}
	return s
})

// NewSet returns the built-in mappings plus ms. A kind defined twice, or
// one that is built in, is a *LoadError at the later file's kind.
func NewSet(ms ...*Inbound) (*Set, error) {
	b := Builtin()
	s := &Set{inbound: make(map[string]*Inbound, len(b.inbound)+len(ms))}
	for k, m := range b.inbound {
		s.inbound[k] = m
	}
	var errs []error
	for _, m := range ms {
		if prior, ok := s.inbound[m.Kind]; ok {
			what := "is built in; give the custom mapping another kind"
			if !b.Known(m.Kind) || prior != b.inbound[m.Kind] {
				what = "is already defined in " + prior.File
			}
			errs = append(errs, &LoadError{File: m.File, Line: m.kindLine, Column: m.kindCol, Key: "kind",
				Message: fmt.Sprintf("kind %q %s", m.Kind, what)})
			continue
		}
		s.inbound[m.Kind] = m
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return s, nil
}

// LoadPath loads the inbound mapping file at path, or every *.yaml and
// *.yml file in it when it is a directory, in name order.
func LoadPath(path string) ([]*Inbound, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read mapping: %w", err)
	}
	files := []string{path}
	if info.IsDir() {
		files = nil
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(path, pat))
			files = append(files, m...)
		}
		slices.Sort(files)
		if len(files) == 0 {
			return nil, fmt.Errorf("no *.yaml mapping files in directory %s", path)
		}
	}
	var out []*Inbound
	var errs []error
	for _, f := range files {
		m, err := LoadInbound(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, m)
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return out, nil
}

func (s *Set) set() *Set {
	if s == nil {
		return Builtin()
	}
	return s
}

// Kinds returns the set's kinds, sorted.
func (s *Set) Kinds() []string {
	s = s.set()
	out := make([]string, 0, len(s.inbound))
	for k := range s.inbound {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Known reports whether the set has a mapping for kind.
func (s *Set) Known(kind string) bool {
	_, ok := s.set().inbound[kind]
	return ok
}

// Inbound returns the mapping for kind.
func (s *Set) Inbound(kind string) (*Inbound, bool) {
	m, ok := s.set().inbound[kind]
	return m, ok
}

// Kinds returns the built-in source kinds, sorted.
func Kinds() []string { return Builtin().Kinds() }

// KnownKind reports whether kind is built in.
func KnownKind(kind string) bool { return Builtin().Known(kind) }

// Normalize maps a payload with the built-in mappings; see Set.Normalize.
func Normalize(kind, source string, body []byte, receivedAt time.Time) (Result, error) {
	return Builtin().Normalize(kind, source, body, receivedAt)
}

// DedupKey is Set.DedupKey with the built-in mappings.
func DedupKey(kind string, body []byte) string { return Builtin().DedupKey(kind, body) }

// Result is what a payload normalized into.
type Result struct {
	// Alerts are the payload's alerts, in order; never empty.
	Alerts []incidenthub.Alert
	// Warnings are the problems worked around, in order (nil for none):
	// an alert's starts_at or ends_at that is present but cannot be read
	// counts as absent (the receive time stands in for starts_at) and is
	// reported here, with the field, the JSON path, the value and why.
	Warnings []incidenthub.Warning
}

// Normalize maps one raw payload of the given kind, received by the source
// named source at receivedAt, into one or more alerts (a mapping with
// items.each fans out into one alert per element, in order).
//
// A body that is not JSON is EINVALID; JSON that does not satisfy the
// mapping (a required field missing, a value of the wrong type, an unknown
// status or severity) is EUNPROCESSABLE, and so is an unknown kind, so the
// caller keeps the payload and can replay it once the mapping exists. An
// alert time that cannot be read is not an error but a warning in the
// Result.
func (s *Set) Normalize(kind, source string, body []byte, receivedAt time.Time) (Result, error) {
	m, ok := s.Inbound(kind)
	if !ok {
		return Result{}, incidenthub.Errorf(incidenthub.EUNPROCESSABLE, "unknown source kind %q (want one of %s)", kind, strings.Join(s.Kinds(), ", "))
	}
	root, err := decode(body)
	if err != nil {
		return Result{}, err
	}
	alerts, warnings, err := m.normalize(root, source)
	if err != nil {
		return Result{}, err
	}
	if len(alerts) == 0 {
		return Result{}, incidenthub.Errorf(incidenthub.EUNPROCESSABLE, "payload holds no alerts")
	}
	receivedAt = receivedAt.UTC()
	for i := range alerts {
		finish(&alerts[i], source, receivedAt)
	}
	for i := range warnings {
		warnings[i].Repair()
	}
	return Result{Alerts: alerts, Warnings: warnings}, nil
}

// DedupKey returns the source's own identity for the whole payload, as the
// kind's mapping defines it (dedup:), so the same delivery sent twice is
// recognised. It returns "" when the payload carries none, does not map,
// is not parseable, or the kind is unknown.
func (s *Set) DedupKey(kind string, body []byte) string {
	m, ok := s.Inbound(kind)
	if !ok {
		return ""
	}
	root, err := decode(body)
	if err != nil {
		return ""
	}
	return m.dedupKey(root)
}

// finish applies what every alert gets whatever its source: the hub's
// source name and receive time, UTC times, a start time, a title, non-nil
// maps, an end time only when resolved, and text every database stores
// (Alert.Repair: a NUL or an invalid UTF-8 sequence becomes U+FFFD, an
// overlong fingerprint its SHA-256).
func finish(a *incidenthub.Alert, source string, receivedAt time.Time) {
	a.Source = source
	a.ReceivedAt = receivedAt
	if a.StartsAt.IsZero() {
		a.StartsAt, a.StartsAtFrom = receivedAt, incidenthub.StartsAtReceived
	}
	a.StartsAt = a.StartsAt.UTC()
	if a.Status != incidenthub.AlertResolved || (a.EndsAt != nil && a.EndsAt.IsZero()) {
		a.EndsAt = nil
	}
	if a.EndsAt != nil {
		t := a.EndsAt.UTC()
		a.EndsAt = &t
	}
	if !a.Severity.Valid() {
		a.Severity = defaultSeverity
	}
	if blank(a.Title) {
		a.Title = a.AlertType
	}
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
	if a.Annotations == nil {
		a.Annotations = map[string]string{}
	}
	a.Repair()
}

// severities maps the severity words sources use onto the hub's four
// levels. Keys are lower case.
var severities = map[string]incidenthub.Severity{
	"critical": incidenthub.SeverityCritical,
	"page":     incidenthub.SeverityCritical,
	"p1":       incidenthub.SeverityCritical,
	"error":    incidenthub.SeverityHigh,
	"high":     incidenthub.SeverityHigh,
	"major":    incidenthub.SeverityHigh,
	"p2":       incidenthub.SeverityHigh,
	"warning":  incidenthub.SeverityWarning,
	"warn":     incidenthub.SeverityWarning,
	"p3":       incidenthub.SeverityWarning,
	"info":     incidenthub.SeverityInfo,
	"low":      incidenthub.SeverityInfo,
	"none":     incidenthub.SeverityInfo,
	"p4":       incidenthub.SeverityInfo,
	"p5":       incidenthub.SeverityInfo,
}

// lookupSeverity maps s through severities, case-insensitively; ok is
// false for an empty or unknown word.
func lookupSeverity(s string) (incidenthub.Severity, bool) {
	sev, ok := severities[strings.ToLower(strings.TrimSpace(s))]
	return sev, ok
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

// hashHex is the hex sha256 of parts joined by NUL bytes, so that
// ("ab", "c") and ("a", "bc") differ.
func hashHex(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

// joinErrors joins errs, flattening joined errors so a caller can walk
// every *LoadError.
func joinErrors(errs []error) error {
	var flat []error
	for _, e := range errs {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			flat = append(flat, j.Unwrap()...)
			continue
		}
		flat = append(flat, e)
	}
	return errors.Join(flat...)
}

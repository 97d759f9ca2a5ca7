// Package matcher reads Alertmanager-style label matchers — name="value",
// name!="value", name=~"regex", name!~"regex" — and applies them to an
// alert's fields and labels.
//
// A name is one of the alert's fields (source, fingerprint, status,
// severity, service, alert_type, title, description, host, environment,
// url), labels.<name> or annotations.<name>; any other name is a label, so
// an Alertmanager matcher such as alertname="ClusterDown" works as written.
// A missing label is the empty string, as in Alertmanager: cluster="" matches
// an alert without a cluster label. Regular expressions are anchored at both
// ends (RE2 syntax), as in Alertmanager and Prometheus.
//
// The syntax is Alertmanager's (pkg/labels.ParseMatcher): whitespace around
// the tokens is ignored, the value may be quoted ("…" with \" \\ and \n
// escapes; any other backslash is kept, so =~"5\d\d" works) or bare. Names
// may also contain . - / (labels.cluster, app.kubernetes.io/name) or be
// quoted. Alertmanager's own parser accepts no dotted names, which is why
// this package exists rather than importing it.
package matcher

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/incidenthub/incidenthub"
)

// Op is how a matcher compares.
type Op string

// The four operators, as written.
const (
	Equal     Op = "="
	NotEqual  Op = "!="
	Regexp    Op = "=~"
	NotRegexp Op = "!~"
)

// Matcher matches one field or label of an alert. Make one with New or
// Parse (or decode one from JSON), which compile a regexp's value.
type Matcher struct {
	Name  string `json:"name"`
	Op    Op     `json:"op"`
	Value string `json:"value"`

	re *regexp.Regexp
}

// New returns a matcher, compiling the value of a regexp operator.
func New(name string, op Op, value string) (*Matcher, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	m := &Matcher{Name: name, Op: op, Value: value}
	switch op {
	case Equal, NotEqual:
	case Regexp, NotRegexp:
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			return nil, fmt.Errorf("bad regular expression %q: %v", value, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		m.re = re
	default:
		return nil, fmt.Errorf("unknown operator %q (want =, !=, =~ or !~)", op)
	}
	return m, nil
}

// Matches reports whether the alert's value for the matcher's name matches.
func (m *Matcher) Matches(a *incidenthub.Alert) bool {
	v := Value(a, m.Name)
	switch m.Op {
	case Equal:
		return v == m.Value
	case NotEqual:
		return v != m.Value
	case Regexp:
		return m.re.MatchString(v)
	case NotRegexp:
		return !m.re.MatchString(v)
	}
	return false
}

// String writes the matcher so that Parse reads it back.
func (m *Matcher) String() string {
	name := m.Name
	if !bareName.MatchString(name) {
		name = quote(name)
	}
	return name + string(m.Op) + quote(m.Value)
}

// UnmarshalJSON reads {"name": …, "op": …, "value": …} and checks and
// compiles it as New does.
func (m *Matcher) UnmarshalJSON(b []byte) error {
	var raw struct {
		Name  string `json:"name"`
		Op    Op     `json:"op"`
		Value string `json:"value"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	c, err := New(raw.Name, raw.Op, raw.Value)
	if err != nil {
		return err
	}
	*m = *c
	return nil
}

// Set is a conjunction of matchers: it matches an alert every one matches
// (an empty set matches every alert).
type Set []*Matcher

// Matches reports whether every matcher matches a.
func (s Set) Matches(a *incidenthub.Alert) bool {
	for _, m := range s {
		if !m.Matches(a) {
			return false
		}
	}
	return true
}

// String writes the set as Alertmanager does: {a="1", b=~"2"}.
func (s Set) String() string {
	parts := make([]string, len(s))
	for i, m := range s {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// fields are the alert fields a bare name means.
var fields = map[string]func(a *incidenthub.Alert) string{
	"source":      func(a *incidenthub.Alert) string { return a.Source },
	"fingerprint": func(a *incidenthub.Alert) string { return a.Fingerprint },
	"status":      func(a *incidenthub.Alert) string { return string(a.Status) },
	"severity":    func(a *incidenthub.Alert) string { return string(a.Severity) },
	"service":     func(a *incidenthub.Alert) string { return a.Service },
	"alert_type":  func(a *incidenthub.Alert) string { return a.AlertType },
	"title":       func(a *incidenthub.Alert) string { return a.Title },
	"description": func(a *incidenthub.Alert) string { return a.Description },
	"host":        func(a *incidenthub.Alert) string { return a.Host },
	"environment": func(a *incidenthub.Alert) string { return a.Environment },
	"url":         func(a *incidenthub.Alert) string { return a.URL },
}

// Value is the alert's value for name: a field, labels.<name>,
// annotations.<name>, or else the label name; "" when absent.
func Value(a *incidenthub.Alert, name string) string {
	if f, ok := fields[name]; ok {
		return f(a)
	}
	if l, ok := strings.CutPrefix(name, "labels."); ok {
		return a.Labels[l]
	}
	if n, ok := strings.CutPrefix(name, "annotations."); ok {
		return a.Annotations[n]
	}
	return a.Labels[name]
}

// ValidName reports whether name can be matched: non-empty, valid UTF-8,
// and labels. or annotations. followed by a name.
func ValidName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name")
	case !utf8.ValidString(name):
		return fmt.Errorf("name %q is not valid UTF-8", name)
	case name == "labels." || name == "annotations.":
		return fmt.Errorf("name %q needs the label or annotation name after the dot", name)
	}
	return nil
}

var bareName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_:./-]*$`)

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

package silence

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/incidenthub/incidenthub"
	sharedmatcher "github.com/incidenthub/incidenthub/internal/matcher"
)

// Op is a matcher's operator, as in Alertmanager.
type Op string

// Operators.
const (
	Equal    Op = "="  // the value equals
	NotEqual Op = "!=" // the value differs (a missing label is "")
	Regexp   Op = "=~" // the whole value matches the regular expression
	NotRegex Op = "!~" // the whole value does not match it
)

// Valid reports whether o is one of the four operators.
func (o Op) Valid() bool { return o == Equal || o == NotEqual || o == Regexp || o == NotRegex }

// Matcher is one Alertmanager-style condition on an alert: Name selects an
// alert field or a label (see Fields), Op compares it with Value. A label
// the alert does not have is the empty string, so `team!=db` matches an
// alert without a team label and `team=""` matches exactly those. Regular
// expressions are Go RE2 syntax and anchored: `=~"5xx.*"` must match the
// whole value, as in Alertmanager.
type Matcher struct {
	Name  string `json:"name"`
	Op    Op     `json:"op"`
	Value string `json:"value"`
}

// String renders m the way ParseMatcher reads it: name, operator, and the
// value quoted when it is not a plain word.
func (m Matcher) String() string {
	v := m.Value
	if v == "" || strings.ContainsAny(v, " \t\"'\\,{}=!~") || strconv.Quote(v) != `"`+v+`"` {
		v = strconv.Quote(v)
	}
	return m.Name + string(m.Op) + v
}

// Fields are the alert fields a matcher's name selects. Any other name
// selects a label (labels.<name> is explicit, for a label named like a
// field); annotations.<name> selects an annotation.
var Fields = []string{"source", "fingerprint", "status", "severity", "service", "alert_type",
	"title", "description", "host", "environment", "url"}

// validName: a field, labels.<x>, annotations.<x>, or a label name.
var validName = regexp.MustCompile(`^(?:(?:labels|annotations)\.)?[A-Za-z_][A-Za-z0-9_.\-/]*$`)

// matcher is a Matcher ready to evaluate: the shared
// internal/matcher.Matcher (the one inhibit rules use), after the checks
// the silences API makes on top (name syntax, lengths, field names in
// errors).
type matcher struct {
	Matcher
	m *sharedmatcher.Matcher
}

// compile checks m and compiles its regular expression; errors name the
// part that is wrong, for the caller to prefix with the matcher's field.
func compileMatcher(m Matcher) (matcher, error) {
	if m.Name == "" {
		return matcher{}, fieldErr("name", "is required")
	}
	if len(m.Name) > maxName || !validName.MatchString(m.Name) {
		return matcher{}, fieldErr("name", "%q is not a field or label name (letters, digits, _ . - /; not starting with a digit)", m.Name)
	}
	if !m.Op.Valid() {
		return matcher{}, fieldErr("op", "%q is not one of =, !=, =~, !~", m.Op)
	}
	if len(m.Value) > maxValue {
		return matcher{}, fieldErr("value", "is longer than %d characters", maxValue)
	}
	if m.Op == Regexp || m.Op == NotRegex {
		if _, err := regexp.Compile(m.Value); err != nil {
			return matcher{}, fieldErr("value", "%q is not a valid regular expression: %v", m.Value, unwrapRegexp(err))
		}
	}
	sm, err := sharedmatcher.New(m.Name, sharedmatcher.Op(m.Op), m.Value)
	if err != nil {
		return matcher{}, fieldErr("value", "%v", err)
	}
	return matcher{Matcher: m, m: sm}, nil
}

// unwrapRegexp drops the "error parsing regexp: " prefix.
func unwrapRegexp(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

func (m *matcher) matches(a *incidenthub.Alert) bool { return m.m.Matches(a) }

// matchesEmpty reports whether the matcher holds for a value of "": a
// silence whose every matcher does would silence nearly everything.
func (m *matcher) matchesEmpty() bool {
	return m.matches(&incidenthub.Alert{})
}

// ParseMatcher reads one matcher written the amtool way: name, operator,
// value, e.g. `service=checkout`, `alertname=~"5xx.*"`, `env!=prod`. The
// value may be double-quoted (Go/JSON escapes). It does not compile the
// regular expression: Create checks that.
func ParseMatcher(s string) (Matcher, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, "=!")
	if i <= 0 {
		return Matcher{}, fmt.Errorf("matcher %q: want name=value, name!=value, name=~regexp or name!~regexp", s)
	}
	name, rest := strings.TrimSpace(s[:i]), s[i:]
	var op Op
	for _, o := range []Op{NotEqual, Regexp, NotRegex, Equal} { // two-character operators first
		if strings.HasPrefix(rest, string(o)) {
			op = o
			break
		}
	}
	if op == "" {
		return Matcher{}, fmt.Errorf("matcher %q: want name=value, name!=value, name=~regexp or name!~regexp", s)
	}
	v := strings.TrimSpace(rest[len(op):])
	if strings.HasPrefix(v, `"`) {
		u, err := strconv.Unquote(v)
		if err != nil {
			return Matcher{}, fmt.Errorf("matcher %q: the quoted value is not closed or has a bad escape", s)
		}
		v = u
	}
	return Matcher{Name: name, Op: op, Value: v}, nil
}

// ParseMatchers parses each of args with ParseMatcher.
func ParseMatchers(args []string) ([]Matcher, error) {
	out := make([]Matcher, 0, len(args))
	for _, a := range args {
		m, err := ParseMatcher(a)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// AlertWith builds an alert from name=value pairs named as matchers name
// things (Fields, labels.<name>, annotations.<name>, any other name a
// label): what `incidenthub silence query service=checkout alertname=x`
// asks about.
func AlertWith(pairs map[string]string) incidenthub.Alert {
	var a incidenthub.Alert
	for name, v := range pairs {
		switch name {
		case "source":
			a.Source = v
		case "fingerprint":
			a.Fingerprint = v
		case "status":
			a.Status = incidenthub.AlertStatus(v)
		case "severity":
			a.Severity = incidenthub.Severity(v)
		case "service":
			a.Service = v
		case "alert_type":
			a.AlertType = v
		case "title":
			a.Title = v
		case "description":
			a.Description = v
		case "host":
			a.Host = v
		case "environment":
			a.Environment = v
		case "url":
			a.URL = v
		default:
			if n, ok := strings.CutPrefix(name, "annotations."); ok {
				if a.Annotations == nil {
					a.Annotations = map[string]string{}
				}
				a.Annotations[n] = v
				continue
			}
			if a.Labels == nil {
				a.Labels = map[string]string{}
			}
			a.Labels[strings.TrimPrefix(name, "labels.")] = v
		}
	}
	return a
}

package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/matcher"
	"github.com/incidenthub/incidenthub/internal/processor"
)

// InhibitRule mutes the notifications of alerts matching Target while an
// alert matching Source fires with the same values of the Equal fields and
// labels, as Alertmanager's inhibit_rules do. The processor looks the firing
// sources up in the database (processor/inhibit.go), so every replica agrees.
type InhibitRule struct {
	Name string
	File string
	Line int
	// Source and Target are conjunctions of matchers; neither is empty.
	Source matcher.Set
	Target matcher.Set
	// Equal names fields or labels (as matchers do) whose values must be
	// the same in the source and the target alert; a name missing from
	// both counts as equal, as in Alertmanager.
	Equal []string
	// Key identifies the rule's definition: its name and a hash of its
	// matchers and equal list. Sources are recorded under it, so a rule
	// changed by a reload never inhibits through sources that matched its
	// old form.
	Key string
}

// inhibitSpec is one entry of a rules file's inhibit_rules: Alertmanager's
// shape, so a rule can be copied from alertmanager.yml as it is.
type inhibitSpec struct {
	Name           string            `yaml:"name"`
	Description    string            `yaml:"description"`
	SourceMatch    matchSpec         `yaml:"source_match"`
	SourceMatchRE  map[string]string `yaml:"source_match_re"`
	SourceMatchers []string          `yaml:"source_matchers"`
	TargetMatch    matchSpec         `yaml:"target_match"`
	TargetMatchRE  map[string]string `yaml:"target_match_re"`
	TargetMatchers []string          `yaml:"target_matchers"`
	Equal          []string          `yaml:"equal"`
}

// matchSpec is source_match or target_match: a list of matcher strings
// (['cluster=~"eu-.*"', 'severity!="info"']) or, as in Alertmanager's older
// form, a map of names to the values they must equal ({alertname:
// ClusterDown}), kept as the matchers it means. Its entries are strings, so
// the strict decoder's key walk leaves the map form alone.
type matchSpec []string

// badShape stands in for an entry of the wrong YAML shape, already
// reported as a type error: the side is not empty, and says nothing more.
const badShape = "\x00"

// UnmarshalYAML accepts either form.
func (m *matchSpec) UnmarshalYAML(n *yaml.Node) error {
	bad := func(n *yaml.Node, format string, args ...any) error {
		*m = append(*m, badShape)
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: "+format, append([]any{n.Line}, args...)...)}}
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return bad(c, "want a matcher string such as 'cluster=\"eu-1\"'")
			}
			*m = append(*m, c.Value)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				return bad(v, "want the value %s must equal", k.Value)
			}
			*m = append(*m, (&matcher.Matcher{Name: k.Value, Op: matcher.Equal, Value: v.Value}).String())
		}
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		return bad(n, "want a list of matchers (['alertname=\"ClusterDown\"']) or a map of names to values ({alertname: ClusterDown})")
	default:
		return bad(n, "want a list of matchers or a map of names to values")
	}
	return nil
}

func (l *loader) inhibit(doc *config.Document, p string, is inhibitSpec) *InhibitRule {
	line, _ := doc.Position(p)
	r := &InhibitRule{Name: is.Name, File: doc.File(), Line: line}
	ok := true
	bad := func(key, format string, args ...any) {
		doc.At(key, format, args...)
		ok = false
	}
	switch {
	case is.Name == "":
		bad(p+".name", "required: the timeline names the rule that inhibited an alert")
	case l.inhibitNames[is.Name] != "":
		bad(p+".name", "duplicate inhibit rule name %q (first defined at %s)", is.Name, l.inhibitNames[is.Name])
	default:
		if l.inhibitNames == nil {
			l.inhibitNames = map[string]string{}
		}
		l.inhibitNames[is.Name] = fmt.Sprintf("%s:%d", doc.File(), line)
	}
	side := func(name string, match matchSpec, re map[string]string, list []string) matcher.Set {
		var set matcher.Set
		for i, text := range match {
			if text == badShape {
				ok = false
				continue
			}
			m, err := matcher.Parse(text)
			if err != nil {
				bad(fmt.Sprintf("%s.%s_match[%d]", p, name, i), "%v", err)
				continue
			}
			set = append(set, m)
		}
		for _, k := range sortedKeys(re) {
			m, err := matcher.New(k, matcher.Regexp, re[k])
			if err != nil {
				bad(p+"."+name+"_match_re."+k, "%v", err)
				continue
			}
			set = append(set, m)
		}
		for i, s := range list {
			m, err := matcher.Parse(s)
			if err != nil {
				bad(fmt.Sprintf("%s.%s_matchers[%d]", p, name, i), "%v", err)
				continue
			}
			set = append(set, m)
		}
		if len(match) == 0 && len(re) == 0 && len(list) == 0 {
			what := `the alerts that inhibit, e.g. ['alertname="ClusterDown"']`
			if name == "target" {
				what = `the alerts they inhibit, e.g. ['severity=~"warning|info"']`
			}
			bad(p, "needs %s_match (or %s_matchers, %s_match_re): %s; an empty side would match every alert", name, name, name, what)
		}
		return set
	}
	r.Source = side("source", is.SourceMatch, is.SourceMatchRE, is.SourceMatchers)
	r.Target = side("target", is.TargetMatch, is.TargetMatchRE, is.TargetMatchers)
	seen := map[string]bool{}
	for i, name := range is.Equal {
		if err := matcher.ValidName(name); err != nil {
			bad(fmt.Sprintf("%s.equal[%d]", p, i), "%v", err)
			continue
		}
		if seen[name] {
			bad(fmt.Sprintf("%s.equal[%d]", p, i), "%q is listed twice", name)
			continue
		}
		seen[name] = true
		r.Equal = append(r.Equal, name)
	}
	if !ok {
		return nil
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s", r.Source, r.Target, strings.Join(r.Equal, "\x00"))
	r.Key = r.Name + "@" + hex.EncodeToString(h.Sum(nil))[:12]
	return r
}

// InhibitRules returns the engine's inhibit rules, in load order.
func (e *Engine) InhibitRules() []*InhibitRule { return slices.Clone(e.inhibits) }

// EqualKey encodes a's values of the rule's equal list: a source and a
// target with the same key have equal values.
func (r *InhibitRule) EqualKey(a *incidenthub.Alert) string {
	vals := make([]string, len(r.Equal))
	for i, n := range r.Equal {
		vals[i] = matcher.Value(a, n)
	}
	b, _ := json.Marshal(vals) // strings always marshal
	return string(b)
}

// inhibits is a's part in every inhibit rule whose source or target it
// matches.
func (e *Engine) inhibitsFor(a *incidenthub.Alert) []processor.Inhibit {
	var out []processor.Inhibit
	for _, r := range e.inhibits {
		src, tgt := r.Source.Matches(a), r.Target.Matches(a)
		if src || tgt {
			out = append(out, processor.Inhibit{Rule: r.Name, Key: r.Key, Equal: r.EqualKey(a), Source: src, Target: tgt})
		}
	}
	return out
}

// InhibitSources implements processor.InhibitSources: a's part in the rules
// whose source side it matches, for recording alerts that fired before a
// rule was loaded.
func (e *Engine) InhibitSources(a incidenthub.Alert) []processor.Inhibit {
	var out []processor.Inhibit
	for _, in := range e.inhibitsFor(&a) {
		if in.Source {
			out = append(out, in)
		}
	}
	return out
}

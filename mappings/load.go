package mappings

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"gopkg.in/yaml.v3"

	"github.com/incidenthub/incidenthub/internal/problem"
)

// LoadError is one problem in a mapping file, located by file, line,
// column and the dotted key path (the same type as config.Problem).
type LoadError = problem.Problem

// loader collects every problem of one file rather than stopping at the
// first, so one run shows them all.
type loader struct {
	file string
	errs []error
}

func (l *loader) at(n *yaml.Node, key, format string, args ...any) {
	e := &LoadError{File: l.file, Key: key, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	l.errs = append(l.errs, e)
}

func (l *loader) err() error {
	slices.SortStableFunc(l.errs, func(a, b error) int { return problem.Compare(a, b, l.file) })
	return errors.Join(l.errs...)
}

// entry is one key of a YAML mapping with its value.
type entry struct {
	key       string
	keyNode   *yaml.Node
	valueNode *yaml.Node
}

// entries reads a YAML mapping strictly: a key not in allowed (nil allows
// any) or repeated is reported, as is a node that is not a mapping.
func (l *loader) entries(n *yaml.Node, path string, allowed ...string) ([]entry, bool) {
	if n.Kind != yaml.MappingNode {
		l.at(n, path, "expected a mapping of keys, got %s", nodeKind(n))
		return nil, false
	}
	var out []entry
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := joinKey(path, k.Value)
		if seen[k.Value] {
			l.at(k, key, "duplicate key")
			continue
		}
		seen[k.Value] = true
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			l.at(k, key, "unknown key (known keys: %s)", strings.Join(slices.Sorted(slices.Values(allowed)), ", "))
			continue
		}
		out = append(out, entry{key: k.Value, keyNode: k, valueNode: v})
	}
	return out, true
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return "a scalar"
}

// str reads a scalar as text.
func (l *loader) str(n *yaml.Node, key string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		l.at(n, key, "expected text, got %s", nodeKind(n))
		return "", false
	}
	return n.Value, true
}

func (l *loader) boolean(n *yaml.Node, key string) bool {
	if n.Kind == yaml.ScalarNode {
		if b, err := strconv.ParseBool(n.Value); err == nil && n.Tag == "!!bool" {
			return b
		}
	}
	l.at(n, key, "expected true or false, got %q", n.Value)
	return false
}

// parseYAML reads one YAML document.
func (l *loader) parseYAML(data []byte) *yaml.Node {
	var root yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			l.at(nil, "", "empty mapping file")
			return nil
		}
		// yaml.v3 names no line for an error on the first one (its marks
		// count from 0 and 0 means "not set"), e.g. an unterminated `"`.
		// (FuzzParse found it in the config loader; FuzzParseInbound checks it.)
		e := &LoadError{File: l.file, Line: 1, Message: strings.TrimPrefix(err.Error(), "yaml: ")}
		if m := lineRe.FindStringSubmatch(err.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Message = strings.TrimPrefix(e.Message, m[0]+": ")
		}
		l.errs = append(l.errs, e)
		return nil
	}
	if len(root.Content) == 0 {
		l.at(nil, "", "empty mapping file")
		return nil
	}
	return root.Content[0]
}

var lineRe = regexp.MustCompile(`line (\d+)`)

var kindRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// specKeys are the keys of a value spec.
var specKeys = []string{"path", "expr", "template", "value", "first", "type", "format", "trim",
	"enum", "otherwise", "error", "default", "required", "hint", "when"}

// spec compiles one value spec. env declares what expressions may use;
// fixed, when not "", is the type the value must have (an alert field).
func (l *loader) spec(n *yaml.Node, key, name string, env map[string]any, fixed valueType) *valueSpec {
	s := &valueSpec{name: name, typ: typeString, format: defaultTimeFormat}
	if fixed != "" {
		s.typ = fixed
	}
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		// Shorthand: a bare string is a path.
		l.paths(s, n, key)
		return s
	}
	es, ok := l.entries(n, key, specKeys...)
	if !ok {
		return s
	}
	// Settle the type first: the source is compiled against it.
	var typeNode, formatNode *yaml.Node
	for _, e := range es {
		switch e.key {
		case "type":
			typeNode = e.valueNode
		case "format":
			formatNode = e.valueNode
		}
	}
	if typeNode != nil {
		t, _ := l.str(typeNode, key+".type")
		switch {
		case !slices.Contains(valueTypes, valueType(t)):
			l.at(typeNode, key+".type", "unknown type %q (want one of %s)", t, joinTypes())
		case fixed == typeMap && valueType(t) == typeTags, fixed == "" || valueType(t) == fixed:
			s.typ = valueType(t)
		default:
			l.at(typeNode, key+".type", "alert field %s is always a %s", name, fixed)
		}
	}
	if formatNode != nil {
		f, _ := l.str(formatNode, key+".format")
		tf, err := parseTimeFormat(f)
		if err != nil {
			l.at(formatNode, key+".format", "%v", err)
		} else if s.typ != typeTime {
			l.at(formatNode, key+".format", "format applies to a time only (this value is a %s)", s.typ)
		}
		s.format = tf
	}
	sources := 0
	var enumNode *yaml.Node
	for _, e := range es {
		k, v := key+"."+e.key, e.valueNode
		switch e.key {
		case "path":
			sources++
			l.paths(s, v, k)
		case "expr":
			sources++
			if code, ok := l.str(v, k); ok {
				prog, err := compileExpr(code, env, s.typ)
				if err != nil {
					l.at(v, k, "%v", err)
				}
				s.prog = prog
			}
		case "template":
			sources++
			if text, ok := l.str(v, k); ok {
				t, err := compileTemplate(text, env)
				if err != nil {
					l.at(v, k, "%v", err)
				}
				s.tmpl = t
			}
		case "value":
			sources++
			if text, ok := l.str(v, k); ok {
				if _, err := convertLiteral(s.typ, s.format, text); err != nil {
					l.at(v, k, "%v", err)
				}
				s.lit = &text
			}
		case "first":
			sources++
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				l.at(v, k, "expected a list of alternatives, got %s", nodeKind(v))
				break
			}
			for i, alt := range v.Content {
				sub := l.spec(alt, fmt.Sprintf("%s[%d]", k, i), name, env, s.typ)
				s.first = append(s.first, sub)
			}
		case "trim":
			s.trim = l.boolean(v, k)
		case "enum":
			enumNode = v
			l.enum(s, v, k)
		case "otherwise":
			if text, ok := l.str(v, k); ok {
				s.otherwise = &text
			}
		case "error":
			if text, ok := l.str(v, k); ok {
				s.enumError = text
			}
		case "default":
			if text, ok := l.str(v, k); ok {
				if _, err := convertLiteral(s.typ, s.format, text); err != nil {
					l.at(v, k, "%v", err)
				}
				s.def = &text
			}
		case "required":
			s.required = l.boolean(v, k)
		case "when":
			if code, ok := l.str(v, k); ok {
				prog, err := compileExpr(code, env, "", expr.AsBool())
				if err != nil {
					l.at(v, k, "%v", err)
				}
				s.when = prog
			}
		case "hint":
			s.hint, _ = l.str(v, k)
		}
	}
	if sources != 1 {
		l.at(n, key, "want exactly one of path, expr, template, value or first (got %d)", sources)
	}
	if enumNode == nil && (s.otherwise != nil || s.enumError != "") {
		l.at(n, key, "otherwise and error apply to an enum only")
	}
	if enumNode != nil && s.typ != typeString {
		l.at(enumNode, key+".enum", "an enum maps text only (this value is a %s)", s.typ)
	}
	if s.enum != nil && s.enumError == "" {
		if s.enumName == "severity" {
			s.enumError = "unknown severity %q (want critical, high, warning or info)"
		} else {
			s.enumError = "unknown value %q (want one of " + enumKeys(s.enum) + ")"
		}
	}
	return s
}

func joinTypes() string {
	out := make([]string, len(valueTypes))
	for i, t := range valueTypes {
		out[i] = string(t)
	}
	return strings.Join(out, ", ")
}

// paths reads a path or a list of paths (the first that is not blank wins).
func (l *loader) paths(s *valueSpec, n *yaml.Node, key string) {
	var nodes []*yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		nodes = []*yaml.Node{n}
	case yaml.SequenceNode:
		nodes = n.Content
		if len(nodes) == 0 {
			l.at(n, key, "empty list of paths")
		}
	default:
		l.at(n, key, "expected a path or a list of paths, got %s", nodeKind(n))
	}
	for i, pn := range nodes {
		k := key
		if n.Kind == yaml.SequenceNode {
			k = fmt.Sprintf("%s[%d]", key, i)
		}
		text, ok := l.str(pn, k)
		if !ok {
			continue
		}
		p, err := parsePath(text)
		if err != nil {
			l.at(pn, k, "%v", err)
			continue
		}
		s.paths = append(s.paths, p)
	}
}

// enum reads the built-in table name "severity" or a mapping of words to
// values.
func (l *loader) enum(s *valueSpec, n *yaml.Node, key string) {
	if n.Kind == yaml.ScalarNode {
		if n.Value != "severity" {
			l.at(n, key, "unknown built-in enum %q (the built-in one is severity; or write a mapping of words to values)", n.Value)
			return
		}
		s.enum, s.enumName = severityTable, "severity"
		return
	}
	es, ok := l.entries(n, key)
	if !ok {
		return
	}
	s.enum = make(map[string]string, len(es))
	for _, e := range es {
		word := strings.ToLower(strings.TrimSpace(e.key))
		if _, dup := s.enum[word]; dup {
			l.at(e.keyNode, key+"."+e.key, "the words of an enum are matched ignoring case and spaces; %q repeats one", e.key)
		}
		v, _ := l.str(e.valueNode, key+"."+e.key)
		s.enum[word] = v
	}
}

// readFile reads a mapping file for Load*.
func readFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read mapping: %w", err)
	}
	return b, nil
}

package config

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/incidenthub/incidenthub/internal/problem"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a config file (or a file it refers to),
// located by file, line, column and the dotted key path.
type Problem = problem.Problem

// document is a parsed YAML file with the position of every key path, so
// semantic validation can point at the line a user has to fix.
type document struct {
	file     string
	pos      map[string]*yaml.Node
	vals     map[string]*yaml.Node // the value node of each key in pos
	problems []error
	parsed   bool // the YAML was well-formed
	// unset are the keys whose value named an environment variable that is
	// not set: that one problem explains the key, so later ones about the
	// same key (its value is empty, "required …") are not reported again.
	unset map[string]bool
}

func (d *document) add(node *yaml.Node, key, format string, args ...any) {
	if d.unset[key] {
		return
	}
	p := &Problem{File: d.file, Key: key, Message: fmt.Sprintf(format, args...)}
	if node != nil {
		p.Line, p.Column = node.Line, node.Column
	}
	d.problems = append(d.problems, p)
}

// at reports a problem at the position of key (or its closest known parent).
func (d *document) at(key, format string, args ...any) {
	for k := key; ; {
		if n, ok := d.pos[k]; ok {
			d.add(n, key, format, args...)
			return
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			d.add(nil, key, format, args...)
			return
		}
		k = k[:i]
	}
}

// decodeStrict decodes YAML into out. Unknown keys, type errors and
// unresolvable ${ENV} references are all collected rather than stopping at
// the first; lookup resolves environment variables.
func decodeStrict(file string, data []byte, out any, lookup func(string) (string, bool)) *document {
	d := &document{file: file, pos: map[string]*yaml.Node{}, vals: map[string]*yaml.Node{}}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			d.parsed = true
			return d // empty file: all defaults
		}
		line := yamlErrLine(err)
		if line == 0 {
			// yaml.v3 names no line for an error on the first one (its marks
			// count from 0 and 0 means "not set"), e.g. an unterminated `"`.
			// Found by FuzzParse.
			line = 1
		}
		d.problems = append(d.problems, &Problem{File: file, Line: line, Message: strings.TrimPrefix(err.Error(), "yaml: ")})
		return d
	}
	d.parsed = true
	if len(root.Content) == 0 {
		return d
	}
	doc := root.Content[0]
	d.walk(doc, reflect.TypeOf(out).Elem(), "", lookup)
	if err := doc.Decode(out); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, msg := range te.Errors {
				line := yamlErrLine(errors.New(msg))
				key, col := d.keyAtLine(line, msg)
				if d.unset[key] {
					continue // its unset environment variable is the problem
				}
				d.problems = append(d.problems, &Problem{File: file, Line: line, Column: col, Key: key, Message: stripLine(msg)})
			}
		} else {
			d.problems = append(d.problems, &Problem{File: file, Message: err.Error()})
		}
	}
	return d
}

// keyAtLine finds the key path a decoder type error on line is about
// (the errors carry only a line): the key whose scalar value msg quotes,
// else the most specific key on the line; among equals the leftmost, so
// the answer never depends on map order. (Found by FuzzParse: two keys of
// one flow mapping, `{timestamp_header: Y, duplicate_window: S0s}`, took
// turns being blamed for the bad duration.)
func (d *document) keyAtLine(line int, msg string) (string, int) {
	best, col, bestQuoted := "", 0, false
	for k, n := range d.pos {
		if n.Line != line {
			continue
		}
		v := d.vals[k]
		quoted := v != nil && v.Kind == yaml.ScalarNode && v.Value != "" &&
			(strings.Contains(msg, "`"+v.Value+"`") || strings.Contains(msg, strconv.Quote(v.Value)))
		switch {
		case best == "",
			quoted && !bestQuoted,
			quoted == bestQuoted && len(k) > len(best),
			quoted == bestQuoted && len(k) == len(best) && (n.Column < col || (n.Column == col && k < best)):
			best, col, bestQuoted = k, n.Column, quoted
		}
	}
	return best, col
}

var lineRe = regexp.MustCompile(`line (\d+)`)

func yamlErrLine(err error) int {
	m := lineRe.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	var n int
	fmt.Sscanf(m[1], "%d", &n)
	return n
}

func stripLine(msg string) string {
	return lineStripRe.ReplaceAllString(msg, "")
}

var lineStripRe = regexp.MustCompile(`^line \d+: `)

var envRe = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// walk records key positions, reports unknown keys against the Go type, and
// expands ${VAR} / ${VAR:-default} in scalar values in place.
func (d *document) walk(n *yaml.Node, t reflect.Type, path string, lookup func(string) (string, bool)) {
	d.pos[path] = n
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch n.Kind {
	case yaml.AliasNode:
		return
	case yaml.ScalarNode:
		var unset []string
		defer func() { d.markUnset(unset) }()
		if n.Tag == "!!str" || n.Style != 0 || strings.Contains(n.Value, "${") {
			n.Value = envRe.ReplaceAllStringFunc(n.Value, func(m string) string {
				sub := envRe.FindStringSubmatch(m)
				if v, ok := lookup(sub[1]); ok && v != "" {
					return v
				}
				if sub[2] != "" {
					return sub[3]
				}
				d.add(n, path, "environment variable %s is not set", sub[1])
				unset = append(unset, path)
				return ""
			})
		}
		return
	case yaml.SequenceNode:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return // type error reported by Decode
		}
		for i, c := range n.Content {
			d.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), lookup)
		}
	case yaml.MappingNode:
		switch t.Kind() {
		case reflect.Map:
			for i := 0; i+1 < len(n.Content); i += 2 {
				d.walk(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), lookup)
			}
		case reflect.Struct:
			fields := yamlFields(t)
			seen := map[string]bool{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				key := join(path, k.Value)
				if seen[k.Value] {
					d.add(k, key, "duplicate key")
				}
				seen[k.Value] = true
				ft, ok := fields[k.Value]
				if !ok {
					d.add(k, key, "unknown key (known keys: %s)", strings.Join(sortedKeys(fields), ", "))
					continue
				}
				d.pos[key], d.vals[key] = k, v
				d.walk(v, ft, key, lookup)
				d.pos[key] = k
			}
		}
	}
}

// markUnset records keys whose environment variables are not set (after
// their problems are added, so a value naming two unset variables still
// reports each).
func (d *document) markUnset(keys []string) {
	for _, k := range keys {
		if d.unset == nil {
			d.unset = map[string]bool{}
		}
		d.unset[k] = true
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the YAML keys a struct accepts to their types, following
// inline embedded structs.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// Duration is a time.Duration written in YAML as "30s", "15m", "1h".
type Duration time.Duration

// UnmarshalYAML parses Go duration syntax.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		// A *yaml.TypeError lets the decoder go on and report every problem.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: invalid duration %q (use e.g. 30s, 15m, 1h)", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration in Go syntax.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// readFile is os.ReadFile, named for the error message.
func readFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return b, nil
}

// Document is a YAML file beside the config (a rules file) decoded the same
// strict way: unknown keys and type errors are problems with file, line and
// column, ${VAR} references are resolved, and At reports more.
type Document struct{ d *document }

// Decode decodes data strictly into out (a pointer to a struct), naming file
// in problems. getenv resolves ${VAR} references.
func Decode(file string, data []byte, out any, getenv func(string) string) *Document {
	lookup := func(k string) (string, bool) { v := getenv(k); return v, v != "" }
	return &Document{d: decodeStrict(file, data, out, lookup)}
}

// Parsed reports whether the YAML was well-formed (and out was filled as far
// as the types allowed).
func (d *Document) Parsed() bool { return d.d.parsed }

// At reports a problem at the position of key (or its closest known parent).
func (d *Document) At(key, format string, args ...any) { d.d.at(key, format, args...) }

// Position returns the line and column of key (or its closest known
// parent); 0, 0 when the file has no such key.
func (d *Document) Position(key string) (line, column int) {
	for k := key; ; {
		if n, ok := d.d.pos[k]; ok {
			return n.Line, n.Column
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			return 0, 0
		}
		k = k[:i]
	}
}

// Problems returns what is wrong with the file, in order of position.
func (d *Document) Problems() []error {
	ps := slices.Clone(d.d.problems)
	slices.SortStableFunc(ps, func(a, b error) int {
		return problem.Compare(a, b, d.d.file)
	})
	return ps
}

// File is the file name the document was decoded from.
func (d *Document) File() string { return d.d.file }

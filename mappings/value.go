package mappings

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/incidenthub/incidenthub"
)

// valueType is what a value spec produces.
type valueType string

const (
	typeString valueType = "string" // text; numbers and booleans become their text
	typeMap    valueType = "map"    // object of strings (labels, annotations)
	typeTags   valueType = "tags"   // "k:v,k2:v2" text read as a map
	typeTime   valueType = "time"   // a timestamp, read with format
	typeObject valueType = "object" // any JSON object, for expressions
	typeList   valueType = "list"   // any JSON array, for expressions
	typeNumber valueType = "number" // a JSON number (or numeric text), as float64
)

var valueTypes = []valueType{typeString, typeMap, typeTags, typeTime, typeObject, typeList, typeNumber}

// zero is the typed zero value of t, which also declares its type to expr.
func (t valueType) zero() any {
	switch t {
	case typeMap, typeTags:
		return map[string]string{}
	case typeTime:
		return time.Time{}
	case typeObject:
		return map[string]any{}
	case typeList:
		return []any{}
	case typeNumber:
		return float64(0)
	}
	return ""
}

// valueSpec is one compiled "where does this value come from" of a
// mapping file: the source (paths, an expression, a template, a literal or
// a list of alternatives), then trim, enum, default and required.
type valueSpec struct {
	name string // the alert field or var it feeds, for messages
	typ  valueType

	when   *vm.Program // false: the value is blank, as if absent
	paths  []path
	prog   *vm.Program
	tmpl   *template
	lit    *string
	first  []*valueSpec
	format timeFormat

	trim      bool
	enum      map[string]string // lower-case key -> value
	enumName  string            // "severity" for the built-in table, else ""
	otherwise *string
	enumError string // message for an unknown word; %q is the word
	def       *string
	required  bool
	hint      string
	// lenient: a time that is present but cannot be read is a warning and
	// counts as blank (the next alternative, the default or the hub's
	// fallback applies) instead of failing the payload. Set for the alert's
	// starts_at and ends_at unless they are required.
	lenient bool
}

// setLenient makes s and its alternatives lenient.
func (s *valueSpec) setLenient() {
	s.lenient = true
	for _, alt := range s.first {
		alt.setLenient()
	}
}

// scope is what a value is evaluated against: the whole payload, the
// current item (the payload itself or one element of the fanned-out
// array) and the values computed so far.
type scope struct {
	root, item node
	env        map[string]any // vars and source, for expressions
	warnings   []incidenthub.Warning
}

// warn records that the value at n, for field, could not be used.
func (sc *scope) warn(field string, n node, value string, err error) {
	msg := err.Error()
	var e *incidenthub.Error
	if errors.As(err, &e) {
		msg = strings.TrimPrefix(e.Message, n.where()+": ") // the path is a field of its own
	}
	sc.warnings = append(sc.warnings, incidenthub.Warning{Field: field, Path: n.where(), Value: shorten(value), Message: msg})
}

// eval produces the value and the node it came from (for messages).
func (s *valueSpec) eval(sc *scope) (any, node, error) {
	applies, err := s.applies(sc)
	if err != nil {
		return nil, sc.item, err
	}
	v, at := s.typ.zero(), sc.item
	if applies {
		if v, at, err = s.raw(sc); err != nil {
			return nil, at, err
		}
	}
	if s.typ == typeString {
		str := v.(string)
		if s.trim {
			str = strings.TrimSpace(str)
		}
		if s.enum != nil && !blank(str) {
			mapped, ok := s.enum[strings.ToLower(strings.TrimSpace(str))]
			switch {
			case ok:
				str = mapped
			case s.otherwise != nil:
				str = *s.otherwise
			default:
				return nil, at, at.errorf("%s", strings.ReplaceAll(s.enumError, "%q", strconv.Quote(str)))
			}
		}
		v = str
	}
	if isBlank(v) && s.def != nil {
		if v, err = convertLiteral(s.typ, s.format, *s.def); err != nil {
			return nil, at, at.errorf("default: %v", err)
		}
	}
	if isBlank(v) && s.required {
		msg := fmt.Sprintf("required field %q is missing", s.name)
		if s.hint != "" {
			msg += " (" + s.hint + ")"
		}
		return nil, at, at.errorf("%s", msg)
	}
	return v, at, nil
}

// applies evaluates the spec's when condition; without one it applies.
func (s *valueSpec) applies(sc *scope) (bool, error) {
	if s.when == nil {
		return true, nil
	}
	ok, err := expr.Run(s.when, sc.env)
	if err != nil {
		return false, sc.item.errorf("%s: when: expression failed: %v", s.name, oneLine(err))
	}
	return ok == true, nil
}

// raw evaluates the source of the spec and converts it to its type.
func (s *valueSpec) raw(sc *scope) (any, node, error) {
	here := sc.item
	switch {
	case len(s.paths) > 0:
		var firstAt node
		for i, p := range s.paths {
			n, err := p.get(sc.root, sc.item)
			if err != nil {
				return nil, n, err
			}
			if i == 0 {
				firstAt = n
			}
			if n.null() {
				continue
			}
			v, err := convertNode(s.typ, s.format, n)
			if err != nil {
				if s.lenient {
					sc.warn(s.name, n, n.text(), err)
					continue
				}
				return nil, n, err
			}
			if !isBlank(v) {
				return v, n, nil
			}
		}
		return s.typ.zero(), firstAt, nil
	case s.prog != nil:
		out, err := expr.Run(s.prog, sc.env)
		if err != nil {
			return nil, here, here.errorf("%s: expression failed: %v", s.name, oneLine(err))
		}
		v, err := convertValue(s.typ, s.format, out)
		if err != nil {
			if s.lenient {
				sc.warn(s.name, here, valueText(out), fmt.Errorf("expression result: %w", err))
				return s.typ.zero(), here, nil
			}
			return nil, here, here.errorf("%s: expression result: %v", s.name, err)
		}
		return v, here, nil
	case s.tmpl != nil:
		out, err := s.tmpl.render(sc.env)
		if err != nil {
			return nil, here, here.errorf("%s: template: %v", s.name, err)
		}
		v, err := convertValue(s.typ, s.format, out)
		if err != nil {
			if s.lenient {
				sc.warn(s.name, here, out, fmt.Errorf("template result: %w", err))
				return s.typ.zero(), here, nil
			}
			return nil, here, here.errorf("%s: template result: %v", s.name, err)
		}
		return v, here, nil
	case s.lit != nil:
		v, err := convertLiteral(s.typ, s.format, *s.lit)
		return v, here, err
	case len(s.first) > 0:
		var firstAt node
		for i, alt := range s.first {
			v, at, err := alt.eval(sc)
			if err != nil {
				return nil, at, err
			}
			if i == 0 {
				firstAt = at
			}
			if !isBlank(v) {
				return v, at, nil
			}
		}
		return s.typ.zero(), firstAt, nil
	}
	return s.typ.zero(), here, nil
}

// isBlank: an empty or all-space string, an empty map, the zero time, nil.
func isBlank(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return blank(v)
	case map[string]string:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	case time.Time:
		return v.IsZero()
	}
	return false
}

// convertNode reads a JSON node as type t.
func convertNode(t valueType, f timeFormat, n node) (any, error) {
	switch t {
	case typeString:
		return n.str()
	case typeMap:
		return n.strMap()
	case typeTags:
		s, err := n.str()
		if err != nil {
			return nil, err
		}
		return parseTags(s).labels(), nil
	case typeTime:
		return f.parseNode(n)
	case typeObject:
		if _, ok := n.v.(map[string]any); !ok {
			return nil, n.wrongType("an object")
		}
		return plain(n.v), nil
	case typeList:
		if _, ok := n.v.([]any); !ok {
			return nil, n.wrongType("an array")
		}
		return plain(n.v), nil
	case typeNumber:
		s, err := n.str()
		if err != nil {
			return nil, n.wrongType("a number")
		}
		if blank(s) {
			return float64(0), nil
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, n.errorf("%q is not a number", s)
		}
		return x, nil
	}
	return nil, fmt.Errorf("unknown type %q", t)
}

// convertValue converts an expression's result to type t.
func convertValue(t valueType, f timeFormat, v any) (any, error) {
	switch t {
	case typeString:
		return text(v)
	case typeMap, typeTags:
		switch m := v.(type) {
		case nil:
			return map[string]string{}, nil
		case map[string]string:
			return m, nil
		case map[string]any:
			out := make(map[string]string, len(m))
			for k, x := range m {
				if x == nil {
					continue
				}
				s, err := text(x)
				if err != nil {
					return nil, fmt.Errorf("member %q: %v", k, err)
				}
				out[k] = s
			}
			return out, nil
		case map[any]any: // fromPairs
			out := make(map[string]string, len(m))
			for k, x := range m {
				if x == nil {
					continue
				}
				ks, err := text(k)
				if err != nil {
					return nil, fmt.Errorf("key: %v", err)
				}
				s, err := text(x)
				if err != nil {
					return nil, fmt.Errorf("member %q: %v", ks, err)
				}
				out[ks] = s
			}
			return out, nil
		case string:
			if t == typeTags {
				return parseTags(m).labels(), nil
			}
		}
		return nil, fmt.Errorf("expected a map of strings, got %s", goType(v))
	case typeTime:
		switch x := v.(type) {
		case nil:
			return time.Time{}, nil
		case time.Time:
			return f.check(x.UTC(), x.String())
		}
		s, err := text(v)
		if err != nil {
			return nil, err
		}
		return f.parse(s)
	case typeObject:
		if m, ok := v.(map[string]any); ok || v == nil {
			return m, nil
		}
		return nil, fmt.Errorf("expected an object, got %s", goType(v))
	case typeList:
		if l, ok := v.([]any); ok || v == nil {
			return l, nil
		}
		return nil, fmt.Errorf("expected a list, got %s", goType(v))
	case typeNumber:
		switch x := v.(type) {
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case float64:
			return x, nil
		}
		return nil, fmt.Errorf("expected a number, got %s", goType(v))
	}
	return nil, fmt.Errorf("unknown type %q", t)
}

// convertLiteral reads a literal from the mapping file as type t.
func convertLiteral(t valueType, f timeFormat, s string) (any, error) {
	switch t {
	case typeTime:
		return f.parse(s)
	case typeNumber:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return x, nil
	case typeString:
		return s, nil
	case typeTags, typeMap:
		return parseTags(s).labels(), nil
	}
	return nil, fmt.Errorf("a %s cannot be written as a literal", t)
}

// text renders a scalar as text: nil is "", numbers keep their digits,
// times are RFC 3339 in UTC ("" for the zero time).
func text(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case time.Time:
		if x.IsZero() {
			return "", nil
		}
		return x.UTC().Format(time.RFC3339Nano), nil
	case incidenthub.Severity:
		return string(x), nil
	case incidenthub.AlertStatus:
		return string(x), nil
	case incidenthub.IncidentStatus:
		return string(x), nil
	}
	return "", fmt.Errorf("expected a string, got %s", goType(v))
}

// valueText is an expression's result as a warning shows it: text as it
// is, anything else as JSON.
func valueText(v any) string {
	if s, err := text(v); err == nil {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// maxShown is how much of a source's value a message or warning repeats.
const maxShown = 200

// shorten cuts s to at most maxShown bytes, on a character boundary, and
// marks the cut with "…".
func shorten(s string) string {
	if len(s) <= maxShown {
		return s
	}
	cut := maxShown
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func goType(v any) string {
	switch v.(type) {
	case map[string]any, map[string]string, map[any]any:
		return "object"
	case []any, []string:
		return "array"
	}
	return jsonType(v)
}

// plain turns decoded JSON into what expressions work with: json.Number
// becomes int64 or float64.
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	}
	return v
}

// oneLine keeps the first line of an expr runtime error (the rest is a
// source snippet that repeats the expression).
func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// severityTable is the built-in enum "severity": the severity words of
// docs/sources.md.
var severityTable = func() map[string]string {
	out := make(map[string]string, len(severities))
	for k, v := range severities {
		out[k] = string(v)
	}
	return out
}()

// enumKeys lists an enum's words for the default "unknown" message.
func enumKeys(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	return strings.Join(keys, ", ")
}

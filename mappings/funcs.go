package mappings

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// Functions that expressions and templates can call besides expr's own
// (lower, upper, trim, trimPrefix, trimSuffix, split, join, replace, map,
// filter, sort, toPairs, …; see https://expr-lang.org/docs/language-definition):
//
//	hash(a, b, …)             hex sha256 of the strings joined by NUL bytes (lists are flattened)
//	tag(list, key)            the value of the first "key:value" entry of a comma-separated tag list
//	tags(list)                a tag list as a map; a repeated key keeps all values, comma-joined
//	reReplace(s, re, repl)    replace every match of the RE2 regexp re ($1 … in repl)
//	rfc3339(t)                a time as RFC 3339 in UTC; "" for no time
var funcs = []expr.Option{
	expr.Function("hash", func(p ...any) (any, error) {
		var parts []string
		for _, x := range p {
			switch v := x.(type) {
			case []any:
				for _, e := range v {
					s, err := text(e)
					if err != nil {
						return nil, fmt.Errorf("hash: %v", err)
					}
					parts = append(parts, s)
				}
			case []string:
				parts = append(parts, v...)
			default:
				s, err := text(v)
				if err != nil {
					return nil, fmt.Errorf("hash: %v", err)
				}
				parts = append(parts, s)
			}
		}
		return hashHex(parts...), nil
	}, new(func(...any) string)),
	expr.Function("tag", func(p ...any) (any, error) {
		return parseTags(p[0].(string)).value(p[1].(string)), nil
	}, new(func(string, string) string)),
	expr.Function("tags", func(p ...any) (any, error) {
		return parseTags(p[0].(string)).labels(), nil
	}, new(func(string) map[string]string)),
	expr.Function("reReplace", func(p ...any) (any, error) {
		re, err := cachedRegexp(p[1].(string))
		if err != nil {
			return nil, err
		}
		return re.ReplaceAllString(p[0].(string), p[2].(string)), nil
	}, new(func(string, string, string) string)),
	expr.Function("rfc3339", func(p ...any) (any, error) {
		return text(p[0].(time.Time))
	}, new(func(time.Time) string)),
}

var regexps sync.Map // pattern -> *regexp.Regexp

func cachedRegexp(pattern string) (*regexp.Regexp, error) {
	if re, ok := regexps.Load(pattern); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("reReplace: %v", err)
	}
	regexps.Store(pattern, re)
	return re, nil
}

// compileExpr compiles an expression against env (a name -> typed zero
// value map) and checks what it can at load: the result type against
// want, and every constant regexp.
func compileExpr(code string, env map[string]any, want valueType, extra ...expr.Option) (*vm.Program, error) {
	opts := append([]expr.Option{expr.Env(env)}, funcs...)
	opts = append(opts, extra...)
	prog, err := expr.Compile(code, opts...)
	if err != nil {
		return nil, err
	}
	root := prog.Node()
	v := &regexpCheck{}
	ast.Walk(&root, v)
	if v.err != nil {
		return nil, v.err
	}
	if want != "" {
		if t := root.Type(); t != nil && t.Kind() != reflect.Interface && !fits(want, t) {
			return nil, fmt.Errorf("the expression gives %s, but a %s is needed", t, want)
		}
	}
	return prog, nil
}

// fits reports whether an expression of static type t can become want.
func fits(want valueType, t reflect.Type) bool {
	k := t.Kind()
	switch want {
	case typeString:
		return k == reflect.String || k == reflect.Bool || (k >= reflect.Int && k <= reflect.Float64) || t == reflect.TypeFor[time.Time]()
	case typeMap, typeTags:
		return k == reflect.Map || (want == typeTags && k == reflect.String)
	case typeTime:
		return t == reflect.TypeFor[time.Time]() || k == reflect.String || (k >= reflect.Int && k <= reflect.Float64)
	case typeObject:
		return k == reflect.Map
	case typeList:
		return k == reflect.Slice || k == reflect.Array
	case typeNumber:
		return k >= reflect.Int && k <= reflect.Float64
	}
	return true
}

type regexpCheck struct{ err error }

func (c *regexpCheck) Visit(n *ast.Node) {
	call, ok := (*n).(*ast.CallNode)
	if !ok || c.err != nil || len(call.Arguments) != 3 {
		return
	}
	if id, ok := call.Callee.(*ast.IdentifierNode); !ok || id.Value != "reReplace" {
		return
	}
	if s, ok := call.Arguments[1].(*ast.StringNode); ok {
		if _, err := regexp.Compile(s.Value); err != nil {
			c.err = fmt.Errorf("reReplace: bad regexp %q: %v", s.Value, err)
		}
	}
}

// tag is one "key:value" entry of a tag list (Datadog's $TAGS); an entry
// without a colon has an empty value.
type tag struct{ key, value string }

type tagList []tag

// parseTags reads a comma-separated tag list such as
// "env:prod, service:checkout,monitor". Values may contain colons.
func parseTags(s string) tagList {
	var out tagList
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, ":")
		out = append(out, tag{key: strings.TrimSpace(k), value: strings.TrimSpace(v)})
	}
	return out
}

// value is the value of the first tag named key, or "".
func (l tagList) value(key string) string {
	for _, t := range l {
		if t.key == key {
			return t.value
		}
	}
	return ""
}

// labels turns the list into a map; repeated keys (team:a,team:b) keep all
// values, comma-joined in order.
func (l tagList) labels() map[string]string {
	out := make(map[string]string, len(l))
	for _, t := range l {
		if old, ok := out[t.key]; ok {
			out[t.key] = old + "," + t.value
			continue
		}
		out[t.key] = t.value
	}
	return out
}

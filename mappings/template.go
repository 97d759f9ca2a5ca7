package mappings

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// template is text with {{ expression }} holes, e.g.
//
//	"{{ labels.service }} on {{ host }}"
//
// Each hole is an expr expression compiled at load. A hole's value is
// written as text: strings as they are, numbers in full, times as RFC 3339
// in UTC, nil as nothing, lists and maps as JSON. There is no escape for a
// literal "{{": write {{ "{{" }}.
type template struct {
	text   string
	lits   []string      // len(progs)+1 literal pieces around the holes
	progs  []*vm.Program // one per hole
	single bool          // the text is exactly one hole: value keeps its type
}

func compileTemplate(s string, env map[string]any) (*template, error) {
	t := &template{text: s}
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.lits = append(t.lits, rest)
			break
		}
		t.lits = append(t.lits, rest[:i])
		end, err := holeEnd(rest[i+2:])
		if err != nil {
			return nil, fmt.Errorf("template %q: %v", s, err)
		}
		code := rest[i+2 : i+2+end]
		if strings.TrimSpace(code) == "" {
			return nil, fmt.Errorf("template %q: empty {{ }}", s)
		}
		prog, err := compileExpr(code, env, "")
		if err != nil {
			return nil, fmt.Errorf("in {{%s}}: %v", code, err)
		}
		t.progs = append(t.progs, prog)
		rest = rest[i+2+end+2:]
	}
	t.single = len(t.progs) == 1 && t.lits[0] == "" && t.lits[1] == ""
	return t, nil
}

// holeEnd finds the "}}" closing a hole, skipping quoted strings.
func holeEnd(s string) (int, error) {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && quote != '`' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			return i, nil
		}
	}
	return 0, fmt.Errorf("unclosed {{")
}

// value evaluates the template. A template that is exactly one hole gives
// the expression's value itself (so a number stays a number); any other
// gives a string.
func (t *template) value(env map[string]any) (any, error) {
	if t.single {
		return expr.Run(t.progs[0], env)
	}
	return t.render(env)
}

// render evaluates the template as text.
func (t *template) render(env map[string]any) (string, error) {
	if len(t.progs) == 0 {
		return t.lits[0], nil
	}
	var b strings.Builder
	for i, p := range t.progs {
		b.WriteString(t.lits[i])
		v, err := expr.Run(p, env)
		if err != nil {
			return "", fmt.Errorf("{{%s}}: %s", holeText(t.text, i), oneLine(err))
		}
		s, err := text(v)
		if err != nil {
			js, jerr := json.Marshal(v)
			if jerr != nil {
				return "", fmt.Errorf("{{%s}}: %v", holeText(t.text, i), err)
			}
			s = string(js)
		}
		b.WriteString(s)
	}
	b.WriteString(t.lits[len(t.lits)-1])
	return b.String(), nil
}

// holeText returns the code of hole i, for messages.
func holeText(s string, i int) string {
	for {
		j := strings.Index(s, "{{")
		if j < 0 {
			return ""
		}
		end, err := holeEnd(s[j+2:])
		if err != nil {
			return ""
		}
		if i == 0 {
			return s[j+2 : j+2+end]
		}
		i--
		s = s[j+2+end+2:]
	}
}

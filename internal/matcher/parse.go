package matcher

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Parse reads one matcher: name, operator, value, e.g. cluster="eu-1",
// severity!=info, alertname=~"Node.*Down", "app.kubernetes.io/name"="api".
func Parse(s string) (*Matcher, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return nil, fmt.Errorf("empty matcher (want name=\"value\", name!=\"value\", name=~\"regex\" or name!~\"regex\")")
	}
	var name, rest string
	if in[0] == '"' {
		n, r, err := quoted(in)
		if err != nil {
			return nil, fmt.Errorf("matcher %s: name: %v", s, err)
		}
		name, rest = n, r
	} else {
		i := strings.IndexFunc(in, func(r rune) bool { return r == '=' || r == '!' || r == '~' || unicode.IsSpace(r) })
		if i < 0 {
			return nil, fmt.Errorf("matcher %s: no operator (want =, !=, =~ or !~)", s)
		}
		name, rest = in[:i], in[i:]
		if !bareName.MatchString(name) {
			return nil, fmt.Errorf("matcher %s: bad name %q (letters, digits, _ : . - /; quote other names)", s, name)
		}
	}
	rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
	var op Op
	for _, o := range []Op{Regexp, NotRegexp, NotEqual, Equal} { // two-character operators first
		if strings.HasPrefix(rest, string(o)) {
			op = o
			break
		}
	}
	if op == "" {
		return nil, fmt.Errorf("matcher %s: no operator after %q (want =, !=, =~ or !~)", s, name)
	}
	raw := strings.TrimSpace(rest[len(op):])
	value := raw
	if strings.HasPrefix(raw, `"`) {
		v, tail, err := quoted(raw)
		if err != nil {
			return nil, fmt.Errorf("matcher %s: value: %v", s, err)
		}
		if strings.TrimSpace(tail) != "" {
			return nil, fmt.Errorf("matcher %s: unexpected %q after the quoted value", s, strings.TrimSpace(tail))
		}
		value = v
	} else if strings.Contains(raw, `"`) {
		return nil, fmt.Errorf("matcher %s: value contains an unescaped double quote (quote the whole value)", s)
	}
	if !utf8.ValidString(value) {
		return nil, fmt.Errorf("matcher %s: value is not valid UTF-8", s)
	}
	m, err := New(name, op, value)
	if err != nil {
		return nil, fmt.Errorf("matcher %s: %v", s, err)
	}
	return m, nil
}

// ParseSet reads a comma-separated list of matchers, optionally in braces,
// as Alertmanager's amtool does: {cluster="eu-1", severity!="info"}. Commas
// inside quotes do not separate.
func ParseSet(s string) (Set, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	var (
		set     Set
		token   strings.Builder
		inQuote bool
		escaped bool
	)
	flush := func() error {
		t := strings.TrimSpace(token.String())
		token.Reset()
		if t == "" {
			return nil
		}
		m, err := Parse(t)
		if err != nil {
			return err
		}
		set = append(set, m)
		return nil
	}
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case r == '"':
			inQuote = !inQuote
		case r == ',' && !inQuote:
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		token.WriteRune(r)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return set, nil
}

// quoted reads a double-quoted string at the start of s and returns it
// unescaped with what follows. \" \\ and \n are escapes; any other
// backslash is kept as written (so regexes such as "\d+" need no doubling).
func quoted(s string) (string, string, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 < len(s) {
				switch s[i+1] {
				case '"', '\\':
					b.WriteByte(s[i+1])
					i++
					continue
				case 'n':
					b.WriteByte('\n')
					i++
					continue
				}
			}
		}
		b.WriteByte(c)
	}
	return "", "", fmt.Errorf("unterminated quote in %s", s)
}

package mappings

import (
	"fmt"
	"strconv"
	"strings"
)

// A path names a value inside a decoded JSON payload:
//
//	labels.alertname        member "alertname" of member "labels" of the current item
//	alerts[0].status        element 0 of the array "alerts"
//	labels["app.kubernetes.io/name"]   a member whose name holds dots or spaces
//	$.status                from the whole payload, not the current item
//	$                       the whole payload
//
// The evaluator is a few dozen lines written for the hub rather than a
// library (gjson, JSONPath) because every error has to name the exact path
// at fault ("alerts[2].labels.alertname: …") and because the payload is
// decoded once and then read by many paths.
type path struct {
	text  string    // as written, for messages
	root  bool      // starts at the payload ("$"), not the item
	steps []segment // members and indexes, in order
}

type segment struct {
	key   string
	index int // used when isIdx
	isIdx bool
}

// parsePath parses the path syntax above.
func parsePath(s string) (path, error) {
	p := path{text: s}
	rest := strings.TrimSpace(s)
	if rest == "" {
		return p, fmt.Errorf("empty path")
	}
	if rest == "$" {
		p.root = true
		return p, nil
	}
	if r, ok := strings.CutPrefix(rest, "$."); ok {
		p.root, rest = true, r
	} else if strings.HasPrefix(rest, "$[") {
		p.root, rest = true, rest[1:]
	}
	expectKey := true
	for rest != "" {
		switch {
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return p, fmt.Errorf("unclosed [ in path %q", s)
			}
			inner := rest[1:end]
			if strings.HasPrefix(inner, `"`) {
				// A quoted member name may hold "]"; find the closing quote.
				k, tail, err := quotedKey(rest[1:])
				if err != nil {
					return p, fmt.Errorf("path %q: %v", s, err)
				}
				p.steps = append(p.steps, segment{key: k})
				rest = tail
			} else {
				i, err := strconv.Atoi(inner)
				if err != nil || i < 0 {
					return p, fmt.Errorf("path %q: [%s] is not an index (want [0], [1], … or [\"member name\"])", s, inner)
				}
				p.steps = append(p.steps, segment{index: i, isIdx: true})
				rest = rest[end+1:]
			}
			expectKey = false
		case rest[0] == '.':
			if expectKey {
				return p, fmt.Errorf("path %q: empty member name", s)
			}
			rest = rest[1:]
			expectKey = true
			if rest == "" {
				return p, fmt.Errorf("path %q ends with a dot", s)
			}
		default:
			if !expectKey {
				return p, fmt.Errorf("path %q: want . or [ after %q", s, s[:len(s)-len(rest)])
			}
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			p.steps = append(p.steps, segment{key: rest[:end]})
			rest = rest[end:]
			expectKey = false
		}
	}
	return p, nil
}

// quotedKey reads `"name"]` at the start of s and returns the name and the
// text after the bracket.
func quotedKey(s string) (string, string, error) {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			k, err := strconv.Unquote(s[:i+1])
			if err != nil {
				return "", "", fmt.Errorf("bad quoted member name %s", s[:i+1])
			}
			if i+1 >= len(s) || s[i+1] != ']' {
				return "", "", fmt.Errorf("want ] after %s", s[:i+1])
			}
			return k, s[i+2:], nil
		}
	}
	return "", "", fmt.Errorf("unclosed quote")
}

// get follows p from item (or from root for a $ path). A member of null is
// null; stepping into a value of the wrong JSON type is an error that names
// where, e.g. "alerts[0].labels: expected an object, got array".
func (p path) get(root, item node) (node, error) {
	n := item
	if p.root {
		n = root
	}
	for _, s := range p.steps {
		if s.isIdx {
			if n.v != nil {
				if _, ok := n.v.([]any); !ok {
					return node{}, n.wrongType("an array")
				}
			}
			n = n.index(s.index)
			continue
		}
		if n.v != nil {
			if _, ok := n.v.(map[string]any); !ok {
				return node{}, n.wrongType("an object")
			}
		}
		n = n.get(s.key)
	}
	return n, nil
}

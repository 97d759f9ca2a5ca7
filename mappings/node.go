package mappings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/incidenthub/incidenthub"
)

// node is one decoded JSON value together with the path it was found at,
// so that every error can say exactly where in the payload it is. A field
// that is absent reads as JSON null.
type node struct {
	path string // "alerts[2].labels"; "" for the root
	v    any    // as decoded with UseNumber: map[string]any, []any, string, json.Number, bool or nil
}

// decode parses body into a root node. A body that is not exactly one JSON
// value is EINVALID.
func decode(body []byte) (node, error) {
	// json.Valid checks the whole body, including trailing data that a
	// Decoder would silently leave unread; Unmarshal says where it breaks.
	if !json.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		if err == nil {
			err = fmt.Errorf("invalid JSON")
		}
		return node{}, incidenthub.Errorf(incidenthub.EINVALID, "body is not valid JSON: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // keep ids such as 8306082202796025694 exact
	var v any
	if err := dec.Decode(&v); err != nil {
		return node{}, incidenthub.Errorf(incidenthub.EINVALID, "body is not valid JSON: %v", err)
	}
	return node{v: v}, nil
}

// get returns the member key of an object node. On anything but an object
// it returns a null node; call object() first where the difference matters.
func (n node) get(key string) node {
	m, _ := n.v.(map[string]any)
	p := key
	if strings.ContainsAny(key, ".[]\" \t") || key == "" {
		p = n.path + "[" + strconv.Quote(key) + "]"
	} else if n.path != "" {
		p = n.path + "." + key
	}
	return node{path: p, v: m[key]}
}

// index returns element i of an array node.
func (n node) index(i int) node {
	var v any
	if a, ok := n.v.([]any); ok && i < len(a) {
		v = a[i]
	}
	return node{path: fmt.Sprintf("%s[%d]", n.path, i), v: v}
}

func (n node) null() bool { return n.v == nil }

// where names the node's path in messages; "$" is the whole body.
func (n node) where() string {
	if n.path == "" {
		return "$"
	}
	return n.path
}

// errorf is an EUNPROCESSABLE error about this node.
func (n node) errorf(format string, args ...any) error {
	return incidenthub.Errorf(incidenthub.EUNPROCESSABLE, "%s: %s", n.where(), fmt.Sprintf(format, args...))
}

// missing is the error for a required node that is absent or empty; field
// names the alert field it feeds.
func (n node) missing(field string) error {
	return n.errorf("required field %q is missing", field)
}

// wrongType is the error for a node whose JSON type does not fit.
func (n node) wrongType(want string) error {
	return n.errorf("expected %s, got %s", want, jsonType(n.v))
}

// object requires an object.
func (n node) object() error {
	if _, ok := n.v.(map[string]any); !ok {
		return n.wrongType("an object")
	}
	return nil
}

// list returns the elements of an array node as nodes; null is an empty
// list.
func (n node) list() ([]node, error) {
	if n.v == nil {
		return nil, nil
	}
	a, ok := n.v.([]any)
	if !ok {
		return nil, n.wrongType("an array")
	}
	out := make([]node, len(a))
	for i := range a {
		out[i] = n.index(i)
	}
	return out, nil
}

// text is the node as a message repeats it: a scalar as str reads it, an
// object or array as compact JSON.
func (n node) text() string {
	if s, err := n.str(); err == nil {
		return s
	}
	b, err := json.Marshal(n.v)
	if err != nil {
		return fmt.Sprint(n.v)
	}
	return string(b)
}

// str reads a scalar as a string: null is "", numbers keep their exact
// text, booleans are "true"/"false". Objects and arrays are errors.
func (n node) str() (string, error) {
	switch v := n.v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", n.wrongType("a string")
}

// strMap reads an object of scalars as a map; null is an empty map and
// null members are left out.
func (n node) strMap() (map[string]string, error) {
	if n.v == nil {
		return map[string]string{}, nil
	}
	m, ok := n.v.(map[string]any)
	if !ok {
		return nil, n.wrongType("an object")
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v == nil {
			continue
		}
		s, err := n.get(k).str()
		if err != nil {
			return nil, err
		}
		out[k] = s
	}
	return out, nil
}

// rfc3339 reads an RFC 3339 timestamp, in UTC. Null, "" and Go's zero time
// "0001-01-01T00:00:00Z" (what Alertmanager and Grafana send for "not
// ended") read as the zero time.
func (n node) rfc3339() (time.Time, error) {
	s, ok := n.v.(string)
	if n.v == nil || (ok && s == "") {
		return time.Time{}, nil
	}
	if !ok {
		return time.Time{}, n.wrongType("an RFC 3339 timestamp string")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, n.errorf("invalid timestamp %q (want RFC 3339, e.g. 2024-05-01T12:00:00Z)", s)
	}
	if t.IsZero() {
		return time.Time{}, nil
	}
	return n.inRange(t.UTC(), s)
}

// epochMillis reads milliseconds since the Unix epoch, as a string of
// digits or a JSON number. Null and "" read as the zero time.
func (n node) epochMillis() (time.Time, error) {
	s, err := n.str()
	if err != nil {
		return time.Time{}, n.wrongType("epoch milliseconds")
	}
	if s == "" {
		return time.Time{}, nil
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, n.errorf("invalid timestamp %q (want epoch milliseconds, e.g. 1406662672000)", s)
	}
	return n.inRange(time.UnixMilli(ms).UTC(), s)
}

// inRange rejects times the hub cannot store or print as RFC 3339.
func (n node) inRange(t time.Time, raw string) (time.Time, error) {
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, n.errorf("timestamp %q is out of range", raw)
	}
	return t, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", v)
}

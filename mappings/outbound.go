package mappings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/incidenthub/incidenthub"
)

// Outbound is a compiled outbound mapping: an incident and its latest
// alert into the body a target expects. It is safe for concurrent use.
//
// Its body is written as the JSON it produces, in YAML. Every string in it
// is a template ({{ expression }}); a string that is exactly one
// {{ expression }} keeps the expression's type, so a number stays a number
// and a list a list, and when that value is nil the member is left out.
// Keys are written as they are and keep their order.
//
//	name: jira-issue
//	body:
//	  fields:
//	    project: {key: "{{ vars.project }}"}
//	    summary: "[{{ upper(incident.severity) }}] {{ incident.title }}"
//	    labels: "{{ incident.hosts }}"
//
// Expressions see incident (IncidentView), alert (AlertView), event (what
// happened, e.g. "opened") and vars (the target's own settings).
type Outbound struct {
	Name        string
	Description string
	File        string
	Digest      string // SHA-256 of the file's content, hex
	body        tnode
}

// RenderData is what an outbound mapping renders.
type RenderData struct {
	Incident incidenthub.Incident
	Alert    incidenthub.Alert // the incident's latest alert
	Event    string            // what happened: opened, updated, resolved, …
	Vars     map[string]string // the target's settings, e.g. project: OPS
}

// tnode is one compiled node of an outbound body.
type tnode struct {
	keys  []string // object
	vals  []tnode
	items []tnode // array
	tmpl  *template
	lit   any // number, bool, null or a plain string
	kind  byte
}

const (
	tObject byte = iota + 1
	tArray
	tTemplate
	tLiteral
)

// outboundEnv declares the names outbound expressions see.
func outboundEnv() map[string]any {
	return map[string]any{"incident": IncidentView{}, "alert": AlertView{}, "event": "", "vars": map[string]string{}}
}

// LoadOutbound reads and compiles the outbound mapping file at path.
func LoadOutbound(path string) (*Outbound, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return ParseOutbound(path, data)
}

// ParseOutbound compiles an outbound mapping; file names it in errors.
func ParseOutbound(file string, data []byte) (*Outbound, error) {
	l := &loader{file: file}
	o := &Outbound{File: file, Digest: digest(data)}
	doc := l.parseYAML(data)
	if doc == nil {
		return nil, l.err()
	}
	es, ok := l.entries(doc, "", "name", "description", "body")
	if !ok {
		return nil, l.err()
	}
	env := outboundEnv()
	var body *yaml.Node
	for _, e := range es {
		switch e.key {
		case "name":
			o.Name, _ = l.str(e.valueNode, "name")
		case "description":
			o.Description, _ = l.str(e.valueNode, "description")
		case "body":
			body = e.valueNode
			o.body = l.tnode(e.valueNode, "body", env)
		}
	}
	if o.Name == "" {
		l.at(doc, "name", "required")
	}
	if body == nil {
		l.at(doc, "body", "required: the body to send")
	}
	if len(l.errs) > 0 {
		return nil, l.err()
	}
	return o, nil
}

func (l *loader) tnode(n *yaml.Node, key string, env map[string]any) tnode {
	switch n.Kind {
	case yaml.MappingNode:
		t := tnode{kind: tObject}
		es, _ := l.entries(n, key)
		for _, e := range es {
			t.keys = append(t.keys, e.key)
			t.vals = append(t.vals, l.tnode(e.valueNode, joinKey(key, e.key), env))
		}
		return t
	case yaml.SequenceNode:
		t := tnode{kind: tArray}
		for i, c := range n.Content {
			t.items = append(t.items, l.tnode(c, fmt.Sprintf("%s[%d]", key, i), env))
		}
		return t
	case yaml.ScalarNode:
		if n.Tag == "!!str" {
			tm, err := compileTemplate(n.Value, env)
			if err != nil {
				l.at(n, key, "%v", err)
				return tnode{kind: tLiteral}
			}
			if len(tm.progs) == 0 {
				return tnode{kind: tLiteral, lit: n.Value}
			}
			return tnode{kind: tTemplate, tmpl: tm}
		}
		var v any
		if err := n.Decode(&v); err != nil {
			l.at(n, key, "%v", err)
		}
		return tnode{kind: tLiteral, lit: v}
	}
	l.at(n, key, "unexpected %s", nodeKind(n))
	return tnode{kind: tLiteral}
}

// Render renders the mapping's body for d as JSON. An expression that
// fails is an EUNPROCESSABLE error naming the body key.
func Render(o *Outbound, d RenderData) ([]byte, error) {
	vars := d.Vars
	if vars == nil {
		vars = map[string]string{}
	}
	env := map[string]any{"incident": ViewIncident(d.Incident), "alert": ViewAlert(d.Alert), "event": d.Event, "vars": vars}
	var buf bytes.Buffer
	if _, err := o.body.write(&buf, env, "body"); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// write writes t as JSON; omitted reports a single-expression template
// whose value was nil (its member is left out).
func (t tnode) write(buf *bytes.Buffer, env map[string]any, key string) (omitted bool, err error) {
	switch t.kind {
	case tObject:
		buf.WriteByte('{')
		n := 0
		for i, k := range t.keys {
			var member bytes.Buffer
			kb, _ := json.Marshal(k)
			member.Write(kb)
			member.WriteByte(':')
			skip, err := t.vals[i].write(&member, env, joinKey(key, k))
			if err != nil {
				return false, err
			}
			if skip {
				continue
			}
			if n > 0 {
				buf.WriteByte(',')
			}
			buf.Write(member.Bytes())
			n++
		}
		buf.WriteByte('}')
	case tArray:
		buf.WriteByte('[')
		n := 0
		for i, item := range t.items {
			var elem bytes.Buffer
			skip, err := item.write(&elem, env, key+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return false, err
			}
			if skip {
				continue
			}
			if n > 0 {
				buf.WriteByte(',')
			}
			buf.Write(elem.Bytes())
			n++
		}
		buf.WriteByte(']')
	case tTemplate:
		v, err := t.tmpl.value(env)
		if err != nil {
			return false, incidenthub.Errorf(incidenthub.EUNPROCESSABLE, "%s: %s", key, oneLine(err))
		}
		v = jsonable(v)
		if v == nil {
			return true, nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return false, incidenthub.Errorf(incidenthub.EUNPROCESSABLE, "%s: %v", key, err)
		}
		buf.Write(b)
	default:
		b, err := json.Marshal(t.lit)
		if err != nil {
			return false, incidenthub.Errorf(incidenthub.EUNPROCESSABLE, "%s: %v", key, err)
		}
		buf.Write(b)
	}
	return false, nil
}

// jsonable prepares an expression's value for encoding: a time becomes RFC
// 3339 in UTC (nil when not set), a map from fromPairs gets string keys.
func jsonable(v any) any {
	switch x := v.(type) {
	case time.Time:
		if x.IsZero() {
			return nil
		}
		return x.UTC().Format(time.RFC3339Nano)
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			ks, _ := text(k)
			out[ks] = jsonable(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonable(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	}
	return v
}

package mappings

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/incidenthub/incidenthub"
)

// Inbound is a compiled inbound mapping: a source kind's raw payload into
// normalized alerts. It is safe for concurrent use.
type Inbound struct {
	// Kind is the source kind the mapping defines (sources[].kind).
	Kind string
	// Description says what sends this payload.
	Description string
	// File is where the mapping was loaded from.
	File string
	// Digest is the SHA-256 of the file's content, hex (the config
	// version includes it).
	Digest string
	// Auth is the hub auth type (sources[].auth.type) the vendor can send:
	// token, hmac, … ("" when the mapping does not say).
	Auth string
	// Docs is where the kind is documented: docs/sources.md#<kind> for a
	// built-in kind unless it says otherwise, else the mapping's file.
	Docs string

	kindLine, kindCol int // where kind: is, for duplicate-kind errors

	items  *itemsSpec
	vars   []*valueSpec // in order; each sees the ones before it
	fields []fieldSpec  // in order
	dedup  *valueSpec   // over the whole payload, or
	lines  *template    // per_alert: one line per alert, hashed
}

// itemsSpec says where a payload's alerts are.
type itemsSpec struct {
	path   path
	each   bool // an array: one alert per element
	decode bool // the value is a string holding a JSON document
	orRoot bool // absent: the payload itself is the one alert
}

// fieldSpec feeds one field of the alert.
type fieldSpec struct {
	name string
	spec *valueSpec
	set  func(a *incidenthub.Alert, v any)
}

// alertFields are the alert fields a mapping may set, with their types.
var alertFields = map[string]struct {
	typ valueType
	set func(a *incidenthub.Alert, v any)
}{
	"source_event_id": {typeString, func(a *incidenthub.Alert, v any) { a.SourceEventID = v.(string) }},
	"fingerprint":     {typeString, func(a *incidenthub.Alert, v any) { a.Fingerprint = v.(string) }},
	"status":          {typeString, func(a *incidenthub.Alert, v any) { a.Status = incidenthub.AlertStatus(v.(string)) }},
	"severity":        {typeString, func(a *incidenthub.Alert, v any) { a.Severity = incidenthub.Severity(v.(string)) }},
	"service":         {typeString, func(a *incidenthub.Alert, v any) { a.Service = v.(string) }},
	"alert_type":      {typeString, func(a *incidenthub.Alert, v any) { a.AlertType = v.(string) }},
	"title":           {typeString, func(a *incidenthub.Alert, v any) { a.Title = v.(string) }},
	"description":     {typeString, func(a *incidenthub.Alert, v any) { a.Description = v.(string) }},
	"host":            {typeString, func(a *incidenthub.Alert, v any) { a.Host = v.(string) }},
	"environment":     {typeString, func(a *incidenthub.Alert, v any) { a.Environment = v.(string) }},
	"url":             {typeString, func(a *incidenthub.Alert, v any) { a.URL = v.(string) }},
	"labels":          {typeMap, func(a *incidenthub.Alert, v any) { a.Labels = v.(map[string]string) }},
	"annotations":     {typeMap, func(a *incidenthub.Alert, v any) { a.Annotations = v.(map[string]string) }},
	"starts_at":       {typeTime, func(a *incidenthub.Alert, v any) { a.StartsAt = v.(time.Time) }},
	"ends_at":         {typeTime, func(a *incidenthub.Alert, v any) { t := v.(time.Time); a.EndsAt = &t }},
}

func alertFieldNames() string {
	names := make([]string, 0, len(alertFields))
	for k := range alertFields {
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// LoadInbound reads and compiles the inbound mapping file at path.
func LoadInbound(path string) (*Inbound, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return ParseInbound(path, data)
}

// ParseInbound compiles an inbound mapping; file names it in errors. Every
// problem is reported, each as a *LoadError with line, column and key,
// joined with errors.Join.
func ParseInbound(file string, data []byte) (*Inbound, error) {
	l := &loader{file: file}
	m := &Inbound{File: file, Digest: digest(data)}
	doc := l.parseYAML(data)
	if doc == nil {
		return nil, l.err()
	}
	es, ok := l.entries(doc, "", "kind", "description", "auth", "docs", "items", "vars", "alert", "dedup")
	if !ok {
		return nil, l.err()
	}
	env := map[string]any{"source": ""}
	var alertNode *yaml.Node
	for _, e := range es {
		switch e.key {
		case "kind":
			if k, ok := l.str(e.valueNode, "kind"); ok {
				if !kindRe.MatchString(k) {
					l.at(e.valueNode, "kind", "%q must be lowercase letters, digits, - or _", k)
				}
				m.Kind = k
				m.kindLine, m.kindCol = e.valueNode.Line, e.valueNode.Column
			}
		case "description":
			m.Description, _ = l.str(e.valueNode, "description")
		case "auth":
			if a, ok := l.str(e.valueNode, "auth"); ok {
				if !slices.Contains(AuthTypes, a) {
					l.at(e.valueNode, "auth", "unknown auth type %q (want one of %s)", a, strings.Join(AuthTypes, ", "))
				}
				m.Auth = a
			}
		case "docs":
			m.Docs, _ = l.str(e.valueNode, "docs")
		case "items":
			m.items = l.items(e.valueNode)
		case "vars":
			vs, _ := l.entries(e.valueNode, "vars")
			for _, v := range vs {
				key := "vars." + v.key
				if !identRe.MatchString(v.key) || v.key == "source" {
					l.at(v.keyNode, key, "a var name is a letter then letters, digits or _, and not source")
					continue
				}
				s := l.spec(v.valueNode, key, v.key, env, "")
				m.vars = append(m.vars, s)
				env[v.key] = s.typ.zero() // later vars and fields may use it
			}
		case "alert":
			alertNode = e.valueNode
		case "dedup":
			m.dedupSpec(l, e.valueNode, env)
		}
	}
	if m.Kind == "" {
		l.at(doc, "kind", "required: the source kind this mapping defines")
	}
	if m.Docs == "" {
		m.Docs = file
	}
	if alertNode == nil {
		l.at(doc, "alert", "required: how each alert field is derived")
		return nil, l.err()
	}
	fs, _ := l.entries(alertNode, "alert")
	seen := map[string]bool{}
	for _, f := range fs {
		key := "alert." + f.key
		af, ok := alertFields[f.key]
		if !ok {
			l.at(f.keyNode, key, "unknown alert field (known: %s)", alertFieldNames())
			continue
		}
		s := l.spec(f.valueNode, key, f.key, env, af.typ)
		if f.key == "status" || f.key == "alert_type" {
			s.required = true
		}
		if af.typ == typeTime && !s.required {
			s.setLenient() // an unreadable time is a warning, not a lost alert
		}
		seen[f.key] = true
		m.fields = append(m.fields, fieldSpec{name: f.key, spec: s, set: af.set})
	}
	for _, req := range []string{"alert_type", "status"} {
		if !seen[req] && len(fs) > 0 {
			l.at(alertNode, "alert."+req, "required: every alert needs one")
		}
	}
	if len(l.errs) > 0 {
		return nil, l.err()
	}
	return m, nil
}

var identRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// AuthTypes are the inbound auth types (sources[].auth.type) a mapping's
// auth: may name: how the vendor's webhook can authenticate to the hub.
var AuthTypes = []string{"none", "token", "basic", "hmac", "sentry", "pagerduty", "standard-webhooks", "sns"}

func (l *loader) items(n *yaml.Node) *itemsSpec {
	es, ok := l.entries(n, "items", "each", "path", "decode", "or_root")
	if !ok {
		return nil
	}
	it := &itemsSpec{}
	sources := 0
	for _, e := range es {
		k := "items." + e.key
		switch e.key {
		case "each", "path":
			sources++
			it.each = e.key == "each"
			if text, ok := l.str(e.valueNode, k); ok {
				p, err := parsePath(text)
				if err != nil {
					l.at(e.valueNode, k, "%v", err)
				}
				if p.root {
					l.at(e.valueNode, k, "items are found from the payload: write the path without $")
				}
				it.path = p
			}
		case "decode":
			if d, ok := l.str(e.valueNode, k); ok {
				if d != "json" {
					l.at(e.valueNode, k, "unknown decode %q (want json)", d)
				}
				it.decode = true
			}
		case "or_root":
			it.orRoot = l.boolean(e.valueNode, k)
		}
	}
	if sources != 1 {
		l.at(n, "items", "want exactly one of each (an array: one alert per element) or path (one alert)")
	}
	return it
}

func (m *Inbound) dedupSpec(l *loader, n *yaml.Node, env map[string]any) {
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "per_alert" {
		v := n.Content[1]
		if text, ok := l.str(v, "dedup.per_alert"); ok {
			t, err := compileTemplate(text, map[string]any{"alert": AlertView{}})
			if err != nil {
				l.at(v, "dedup.per_alert", "%v", err)
			}
			m.lines = t
		}
		return
	}
	// Over the whole payload: paths start at the payload, no vars.
	m.dedup = l.spec(n, "dedup", "dedup", map[string]any{"source": ""}, typeString)
}

// normalize maps one decoded payload to alerts, without the defaults
// finish applies, and returns the warnings of all of them in order.
func (m *Inbound) normalize(root node, source string) ([]incidenthub.Alert, []incidenthub.Warning, error) {
	items, err := m.itemNodes(root)
	if err != nil {
		return nil, nil, err
	}
	out := make([]incidenthub.Alert, 0, len(items))
	sc := &scope{root: root, env: make(map[string]any, len(m.vars)+1)}
	var warnings []incidenthub.Warning
	for _, item := range items {
		sc.item = item
		clear(sc.env)
		sc.env["source"] = source
		sc.warnings = sc.warnings[:0]
		a, err := m.alert(sc, source)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, a)
		for _, w := range sc.warnings {
			// A firing alert has no end time whatever the source sent, so
			// an unreadable one changes nothing worth a warning.
			if w.Field == "ends_at" && a.Status != incidenthub.AlertResolved {
				continue
			}
			warnings = append(warnings, w)
		}
	}
	return out, warnings, nil
}

// itemNodes finds the payload's alerts, checking each is an object.
func (m *Inbound) itemNodes(root node) ([]node, error) {
	if m.items == nil {
		if err := root.object(); err != nil {
			return nil, err
		}
		return []node{root}, nil
	}
	it := m.items
	n, err := it.path.get(root, root)
	if err != nil {
		return nil, err
	}
	if it.decode && !n.null() {
		s, ok := n.v.(string)
		if !ok {
			return nil, n.wrongType("a string holding JSON")
		}
		doc, err := decode([]byte(s))
		if err != nil {
			return nil, n.errorf("%s", strings.Replace(incidenthub.ErrorMessage(err), "body is", "value is", 1))
		}
		n.v = doc.v
	}
	var items []node
	switch {
	case n.null() && it.orRoot:
		items = []node{root}
	case n.null() && it.each:
		return nil, n.errorf("required list of alerts is missing")
	case n.null():
		return nil, n.errorf("required alert document is missing")
	case it.each:
		if items, err = n.list(); err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return nil, n.errorf("list of alerts is empty")
		}
	default:
		items = []node{n}
	}
	for _, a := range items {
		if err := a.object(); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// alert maps one item: vars in order, then the fields in order, then the
// checks on status, severity and fingerprint.
func (m *Inbound) alert(sc *scope, source string) (incidenthub.Alert, error) {
	for _, v := range m.vars {
		val, _, err := v.eval(sc)
		if err != nil {
			return incidenthub.Alert{}, err
		}
		sc.env[v.name] = val
	}
	var a incidenthub.Alert
	var statusAt, severityAt node
	for _, f := range m.fields {
		val, at, err := f.spec.eval(sc)
		if err != nil {
			return incidenthub.Alert{}, err
		}
		f.set(&a, val)
		switch f.name {
		case "status":
			statusAt = at
		case "severity":
			severityAt = at
		}
	}
	st := incidenthub.AlertStatus(strings.ToLower(strings.TrimSpace(string(a.Status))))
	if !st.Valid() {
		return incidenthub.Alert{}, statusAt.errorf("unknown status %q (want firing or resolved)", a.Status)
	}
	a.Status = st
	if !blank(string(a.Severity)) {
		sev, ok := lookupSeverity(string(a.Severity))
		if !ok {
			return incidenthub.Alert{}, severityAt.errorf("unknown severity %q (want critical, high, warning or info)", a.Severity)
		}
		a.Severity = sev
	}
	if blank(a.Fingerprint) {
		a.Fingerprint = hashHex(source, a.Service, a.AlertType, a.Host)
	}
	return a, nil
}

// dedupKey is the mapping's identity of the whole delivery, or "".
func (m *Inbound) dedupKey(root node) string {
	switch {
	case m.dedup != nil:
		if root.v == nil {
			return ""
		}
		if _, ok := root.v.(map[string]any); !ok {
			return ""
		}
		sc := &scope{root: root, item: root, env: map[string]any{"source": ""}}
		v, _, err := m.dedup.eval(sc)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(v.(string))
	case m.lines != nil:
		alerts, _, err := m.normalize(root, "")
		if err != nil {
			return ""
		}
		lines := make([]string, 0, len(alerts))
		env := map[string]any{}
		for _, a := range alerts {
			env["alert"] = ViewAlert(a)
			s, err := m.lines.render(env)
			if err != nil {
				return ""
			}
			lines = append(lines, s)
		}
		slices.Sort(lines)
		sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
		return hex.EncodeToString(sum[:])
	}
	return ""
}

// String names the mapping in messages.
func (m *Inbound) String() string { return fmt.Sprintf("mapping %q (%s)", m.Kind, m.File) }

package web

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/audit"
)

// The Audit trail screen: the append-only log newest first, filtered by
// actor, action (a trailing * matches a prefix, as in the API), entity
// type and entity, in keyset pages — the same audit.List as
// GET /api/v1/audit.

const auditPageSize = 50

type auditView struct {
	uiPage
	Rows                     []auditRow
	Actor, Action, Type, Ent string
	Filtered                 bool
	NextURL, FirstURL        string
	Actors, Actions, Types   []string
}

// auditRow is one record with its change in words: the fields that differ
// between the state before and after.
type auditRow struct {
	audit.Entry
	EntityURL string
	Changes   []fieldChange
	Before    string // the raw states, indented, for the details
	After     string
}

type fieldChange struct{ Field, From, To string }

func auditRows(list []audit.Entry) []auditRow {
	out := make([]auditRow, len(list))
	for i, e := range list {
		r := auditRow{Entry: e, EntityURL: auditEntityURL(e)}
		before, after := rawJSON(e.Before), rawJSON(e.After)
		r.Before, r.After = indentJSON(before), indentJSON(after)
		if len(before) > 0 && len(after) > 0 {
			r.Changes = diffStates(before, after) // a one-sided record is its raw state
		}
		out[i] = r
	}
	return out
}

// auditEntityURL links the record's entity to its screen, when it has one.
func auditEntityURL(e audit.Entry) string {
	switch e.EntityType {
	case "registry":
		if dir, name, ok := strings.Cut(e.Entity, "/"); ok && name != "" {
			return registryEntryURL(dir, name)
		}
	case "incident":
		if id, err := strconv.ParseInt(e.Entity, 10, 64); err == nil && id > 0 {
			return incidentURL(id)
		}
	}
	return ""
}

func rawJSON(v any) json.RawMessage {
	switch t := v.(type) {
	case json.RawMessage:
		return t
	case nil:
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}

func indentJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		return string(raw)
	}
	return buf.String()
}

// diffStates lists the top-level fields whose values differ between two
// JSON objects (nested objects are compared whole). A record with only
// one side lists that side's fields.
func diffStates(before, after json.RawMessage) []fieldChange {
	var b, a map[string]json.RawMessage
	_ = json.Unmarshal(before, &b)
	_ = json.Unmarshal(after, &a)
	if b == nil && a == nil {
		return nil
	}
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	var out []fieldChange
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range keys {
			if !yield(k) {
				return
			}
		}
	}) {
		from, to := compactJSON(b[k]), compactJSON(a[k])
		if from == to || (b != nil && a != nil && from == "" && isZeroJSON(to)) {
			continue
		}
		out = append(out, fieldChange{Field: k, From: from, To: to})
	}
	return out
}

func isZeroJSON(s string) bool {
	return s == "" || s == `""` || s == "false" || s == "0" || s == "null" || s == "[]" || s == "{}"
}

// compactJSON renders a value for a change list: strings bare, anything
// else as compact JSON, at most 200 characters.
func compactJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return clip(s, 200)
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return clip(string(raw), 200)
	}
	return clip(buf.String(), 200)
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// auditKnownActions are the actions the hub writes, for the filter's
// suggestions.
var auditKnownActions = []string{
	"registry.*", "registry.create", "registry.update", "registry.remove", "registry.rotate", "registry.revoke",
	"registry.reveal", "registry.verify", "registry.notified", "registry.notify_failed",
	"inbound.auth_failure_spike", "incident.*", "incident.acknowledge", "incident.resolve", "incident.reopen",
	"incident.merge", "incident.split", "config.reload", "config.reload_rejected", "ui.sign_in", "ui.sign_out",
}

func (s *server) auditPage(c *gin.Context) {
	v := &auditView{uiPage: uiPage{Title: "Audit trail", Nav: "audit"},
		Actor: strings.TrimSpace(c.Query("actor")), Action: strings.TrimSpace(c.Query("action")),
		Type: strings.TrimSpace(c.Query("type")), Ent: strings.TrimSpace(c.Query("entity"))}
	f := audit.Filter{Actor: v.Actor, Action: v.Action, EntityType: v.Type, Entity: v.Ent, Limit: auditPageSize}
	if cur := c.Query("cursor"); cur != "" {
		id, err := strconv.ParseInt(cur, 10, 64)
		if err != nil || id <= 0 {
			s.uiFail(c, incidenthub.Errorf(incidenthub.EINVALID, "cursor %q is not a page of the audit trail", cur))
			return
		}
		f.BeforeID = id
	}
	list, next, err := audit.List(c.Request.Context(), s.Store.DB, f)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	v.Rows = auditRows(list)
	q := url.Values{}
	for k, val := range map[string]string{"actor": v.Actor, "action": v.Action, "type": v.Type, "entity": v.Ent} {
		if val != "" {
			q.Set(k, val)
			v.Filtered = true
		}
	}
	if next > 0 {
		n := cloneValues(q)
		n.Set("cursor", strconv.FormatInt(next, 10))
		v.NextURL = "/ui/audit?" + n.Encode()
	}
	if f.BeforeID > 0 {
		v.FirstURL = "/ui/audit"
		if e := q.Encode(); e != "" {
			v.FirstURL += "?" + e
		}
	}
	v.Actions = auditKnownActions
	v.Types = []string{"registry", "incident", "config", "session"}
	v.Actors = []string{audit.ActorConfig, audit.ActorScheduler, audit.ActorSystem}
	for _, t := range s.tokens() {
		if !slices.Contains(v.Actors, t.Name) {
			v.Actors = append(v.Actors, t.Name)
		}
	}
	s.render(c, "audit", v)
}

// Package audit is the hub's append-only audit trail: who did what to
// which thing, when, with the state before and after (secrets redacted).
//
// Anything that changes state on a person's or a schedule's behalf writes
// one record with Record, inside the transaction that makes the change, so
// the record exists exactly when the change does. Records are never
// updated, and deleted only by retention when retention.audit is
// explicitly set (internal/retention); database triggers refuse anything
// else.
package audit

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub/internal/redact"
	"github.com/incidenthub/incidenthub/internal/store"
)

// Actors that are not API tokens.
const (
	ActorScheduler = "scheduler" // rotations and revocations on schedule
	ActorConfig    = "config"    // changes synced from the config file
	ActorSystem    = "system"    // operational events the hub raises itself
)

// Entry is one audit record. Before and After are any JSON-encodable
// values (typically views of the thing changed); string values under keys
// that name a credential are redacted before storing. When read back,
// Before and After hold json.RawMessage.
type Entry struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	EntityType string    `json:"entity_type,omitempty"`
	Entity     string    `json:"entity,omitempty"`
	Before     any       `json:"before,omitempty"`
	After      any       `json:"after,omitempty"`
	Detail     string    `json:"detail,omitempty"`
}

type row struct {
	ID         int64 `gorm:"primaryKey"`
	At         time.Time
	Actor      string
	Action     string
	EntityType string
	Entity     string
	Before     jsonText
	After      jsonText
	Detail     string
}

func (row) TableName() string { return "audit_log" }

// Record appends e to the audit trail using db, which should be the
// transaction making the change e describes. At defaults to now.
func Record(db *gorm.DB, e Entry) error {
	if e.Actor == "" || e.Action == "" {
		return fmt.Errorf("audit: actor and action are required (action %q)", e.Action)
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	before, err := redacted(e.Before)
	if err != nil {
		return fmt.Errorf("audit %s: before: %w", e.Action, err)
	}
	after, err := redacted(e.After)
	if err != nil {
		return fmt.Errorf("audit %s: after: %w", e.Action, err)
	}
	r := row{At: e.At.UTC(), Actor: e.Actor, Action: e.Action, EntityType: e.EntityType, Entity: e.Entity,
		Before: before, After: after, Detail: e.Detail}
	if err := db.Create(&r).Error; err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// Filter narrows List. Action "registry.*" matches every action with that
// prefix. BeforeID is a cursor: only records with a smaller id.
type Filter struct {
	Actor      string
	Action     string
	EntityType string
	Entity     string
	Since      time.Time
	Until      time.Time
	BeforeID   int64
	Limit      int
}

// List returns records newest first and the cursor of the next page (0
// when this is the last).
func List(ctx context.Context, db *gorm.DB, f Filter) ([]Entry, int64, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q := db.WithContext(ctx).Model(&row{})
	if f.Actor != "" {
		q = q.Where("actor = ?", f.Actor)
	}
	if prefix, ok := strings.CutSuffix(f.Action, "*"); ok {
		q = q.Where("action LIKE ? ESCAPE '\\'", escapeLike(prefix)+"%")
	} else if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.EntityType != "" {
		q = q.Where("entity_type = ?", f.EntityType)
	}
	if f.Entity != "" {
		q = q.Where("entity = ?", f.Entity)
	}
	if !f.Since.IsZero() {
		q = q.Where("at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("at < ?", f.Until.UTC())
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	out, next, err := store.Page(q, "id DESC", f.Limit, func(r *row) int64 { return r.ID }, (*row).entry)
	if err != nil {
		return nil, 0, fmt.Errorf("list audit records: %w", err)
	}
	return out, next, nil
}

func (r *row) entry() Entry {
	e := Entry{ID: r.ID, At: r.At.UTC(), Actor: r.Actor, Action: r.Action, EntityType: r.EntityType,
		Entity: r.Entity, Detail: r.Detail}
	if len(r.Before) > 0 {
		e.Before = json.RawMessage(r.Before)
	}
	if len(r.After) > 0 {
		e.After = json.RawMessage(r.After)
	}
	return e
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Redacted is what a credential's value becomes in the audit trail.
const Redacted = redact.Mark

// redacted encodes v as JSON with every non-empty string under a
// credential-like key (redact.SensitiveKey) replaced by Redacted.
func redacted(v any) (jsonText, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		return nil, err
	}
	if tree == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(hide(tree)); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}

func hide(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if s, ok := child.(string); ok && s != "" && redact.SensitiveKey(k) {
				t[k] = Redacted
				continue
			}
			t[k] = hide(child)
		}
	case []any:
		for i := range t {
			t[i] = hide(t[i])
		}
	}
	return v
}

// jsonText is a JSON document column: JSONB on PostgreSQL, TEXT on SQLite,
// NULL when empty.
type jsonText []byte

func (j jsonText) Value() (driver.Value, error) {
	if len(j) == 0 {
		return nil, nil
	}
	return string(j), nil
}

func (j *jsonText) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case []byte:
		*j = append(jsonText(nil), v...)
	case string:
		*j = jsonText(v)
	default:
		return fmt.Errorf("audit: cannot scan %T", src)
	}
	return nil
}

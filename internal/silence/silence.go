// Package silence is the hub's runtime silences: "notify nobody about
// alerts like these until then", created through the API, the CLI, the UI
// or Slack, beside the cron maintenance windows of the rules YAML.
//
// A silence selects alerts with Alertmanager-style matchers (Matcher: =,
// !=, =~, !~ over the alert's fields and labels), an expr condition in the
// rules' environment, or both (then all must hold). It is in force from
// StartsAt until EndsAt: pending before, active during, expired after.
// Expiring a silence early sets EndsAt to that moment; silences are never
// deleted, so the expired ones are the history.
//
// Silences live in the database and nowhere else: the processor reads the
// ones in force inside each event's transaction (InForce), so a silence
// created on one replica holds on every replica from its commit on. Only
// the compiled matchers are cached, by silence id; they never change after
// Create (Extend and Expire change only the times, which are read fresh).
//
// Create, Expire and Extend each write an audit record (internal/audit)
// with the actor, in the same transaction as the change.
//
// A silenced alert still correlates and is recorded; its change notifies
// nobody (correlation.Input.Silenced). The processor records the silence
// on the incident as a notification hold (internal/hold); when the
// silence ends, HoldChecker tells the hold releaser so, and what is still
// firing notifies once.
package silence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/audit"
	"github.com/incidenthub/incidenthub/internal/store"
	"github.com/incidenthub/incidenthub/rules"
)

// State is where a silence is in its life, at a given time.
type State string

// States.
const (
	Pending State = "pending" // StartsAt is still ahead
	Active  State = "active"  // in force: StartsAt ≤ now < EndsAt
	Expired State = "expired" // EndsAt has passed (or it was expired early)
)

// Valid reports whether s is one of the three states.
func (s State) Valid() bool { return s == Pending || s == Active || s == Expired }

// Limits on what a silence may hold.
const (
	MaxMatchers = 64
	MaxComment  = 2000
	MaxExpr     = 4096
	maxName     = 256
	maxValue    = 1024
	maxActor    = 200
)

// New is what Create needs. Give Matchers, Expr, or both (all must match).
// StartsAt zero means now; EndsAt zero means StartsAt + Duration. CreatedBy
// (the actor, e.g. an API token name or "slack:U123 (alice)") and Comment
// (why) are required.
type New struct {
	Matchers  []Matcher
	Expr      string
	StartsAt  time.Time
	EndsAt    time.Time
	Duration  time.Duration
	CreatedBy string
	Comment   string
}

// Silence is a stored silence. State is its state when it was read.
type Silence struct {
	ID        string     `json:"id"`
	Matchers  []Matcher  `json:"matchers"`
	Expr      string     `json:"expr,omitempty"`
	StartsAt  time.Time  `json:"starts_at"`
	EndsAt    time.Time  `json:"ends_at"`
	CreatedBy string     `json:"created_by"`
	Comment   string     `json:"comment"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	ExpiredBy string     `json:"expired_by,omitempty"`
	ExpiredAt *time.Time `json:"expired_at,omitempty"`
	State     State      `json:"state"`
}

// StateAt is the silence's state at t.
func (s *Silence) StateAt(t time.Time) State {
	switch {
	case !t.Before(s.EndsAt):
		return Expired
	case t.Before(s.StartsAt):
		return Pending
	}
	return Active
}

// FieldError is a problem with one input field, e.g. "matchers[1].value"
// or "ends_at". Its chain holds an *incidenthub.Error with code
// EUNPROCESSABLE (HTTP 422) and the message "field: problem".
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Unwrap gives the error its code.
func (e *FieldError) Unwrap() error {
	return &incidenthub.Error{Code: incidenthub.EUNPROCESSABLE, Message: e.Error()}
}

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// under prefixes a field error's field with parent ("matchers[0]" + "op").
func under(parent string, err *FieldError) *FieldError {
	return &FieldError{Field: parent + "." + err.Field, Message: err.Message}
}

// row is a row of silences.
type row struct {
	ID        string `gorm:"primaryKey"`
	Matchers  store.JSON[[]Matcher]
	Expr      string
	StartsAt  time.Time
	EndsAt    time.Time
	CreatedBy string
	Comment   string
	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiredBy string
	ExpiredAt *time.Time
}

func (row) TableName() string { return "silences" }

func (r *row) silence(now time.Time) Silence {
	s := Silence{ID: r.ID, Matchers: r.Matchers.V, Expr: r.Expr, StartsAt: r.StartsAt.UTC(), EndsAt: r.EndsAt.UTC(),
		CreatedBy: r.CreatedBy, Comment: r.Comment, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		ExpiredBy: r.ExpiredBy}
	if s.Matchers == nil {
		s.Matchers = []Matcher{}
	}
	if r.ExpiredAt != nil {
		t := r.ExpiredAt.UTC()
		s.ExpiredAt = &t
	}
	s.State = s.StateAt(now)
	return s
}

// stamp is how times are stored: UTC, to the microsecond (what PostgreSQL
// keeps), so a silence reads back as it was written on both databases.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// compiled is a silence's matchers and condition, ready to evaluate.
type compiled struct {
	matchers []matcher
	cond     *rules.Condition
	never    bool // a stored silence that no longer compiles
	// base is the silence's fields that never change (id, matchers,
	// expr, author, comment, creation time); the times are read fresh.
	base Silence
}

// compileRow compiles a stored silence.
func compileRow(r *row) *compiled {
	in := New{Matchers: r.Matchers.V, Expr: r.Expr, CreatedBy: r.CreatedBy, Comment: r.Comment}
	c, err := validate(&in)
	if err != nil {
		// Stored silences were valid when created; one that no longer
		// compiles (an expr over a renamed field after an upgrade)
		// matches nothing rather than blocking events.
		c = &compiled{never: true}
	}
	c.base = r.silence(time.Time{})
	return c
}

func (c *compiled) matches(a *incidenthub.Alert) (bool, error) {
	if c.never {
		return false, nil
	}
	for i := range c.matchers {
		if !c.matchers[i].matches(a) {
			return false, nil
		}
	}
	if c.cond == nil {
		return true, nil
	}
	return c.cond.Match(*a)
}

// validate checks everything about in but the times and compiles it.
func validate(in *New) (*compiled, error) {
	if len(in.Matchers) == 0 && strings.TrimSpace(in.Expr) == "" {
		return nil, fieldErr("matchers", "give at least one matcher (e.g. service=checkout) or an expr condition")
	}
	if len(in.Matchers) > MaxMatchers {
		return nil, fieldErr("matchers", "at most %d matchers (got %d)", MaxMatchers, len(in.Matchers))
	}
	c := &compiled{}
	for i, m := range in.Matchers {
		cm, err := compileMatcher(m)
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return nil, under(fmt.Sprintf("matchers[%d]", i), fe)
			}
			return nil, err
		}
		c.matchers = append(c.matchers, cm)
	}
	in.Expr = strings.TrimSpace(in.Expr)
	if len(in.Expr) > MaxExpr {
		return nil, fieldErr("expr", "is longer than %d characters", MaxExpr)
	}
	if in.Expr != "" {
		cond, err := rules.CompileCondition(in.Expr)
		if err != nil {
			return nil, fieldErr("expr", "%v", err)
		}
		c.cond = cond
	} else {
		// Alertmanager's safety: a silence of only catch-all matchers
		// (service!=x, team=~".*") would silence nearly everything.
		all := true
		for i := range c.matchers {
			all = all && c.matchers[i].matchesEmpty()
		}
		if all {
			return nil, fieldErr("matchers", "every matcher also matches an alert without that field or label, so the silence would hold back nearly everything; add one that names what to silence (e.g. service=checkout)")
		}
	}
	in.CreatedBy = strings.TrimSpace(in.CreatedBy)
	if in.CreatedBy == "" {
		return nil, fieldErr("created_by", "is required (who creates the silence)")
	}
	if len(in.CreatedBy) > maxActor {
		return nil, fieldErr("created_by", "is longer than %d characters", maxActor)
	}
	in.Comment = strings.TrimSpace(in.Comment)
	if in.Comment == "" {
		return nil, fieldErr("comment", "is required: say why (a ticket, the maintenance), for whoever is paged next")
	}
	if len(in.Comment) > MaxComment {
		return nil, fieldErr("comment", "is longer than %d characters", MaxComment)
	}
	return c, nil
}

// Create validates in and stores it as a new silence, with an audit
// record by in.CreatedBy, in one transaction on db (which may itself be a
// transaction). A problem with the input is a *FieldError (HTTP 422)
// naming the field: no matchers, a bad regular expression or expr, an end
// not after the start or already past, a missing comment.
func Create(ctx context.Context, db *gorm.DB, in New) (Silence, error) {
	c, err := validate(&in)
	if err != nil {
		return Silence{}, err
	}
	now := time.Now()
	start := in.StartsAt
	if start.IsZero() {
		start = now
	}
	end := in.EndsAt
	switch {
	case end.IsZero() && in.Duration <= 0:
		return Silence{}, fieldErr("ends_at", "give an end time or a positive duration")
	case end.IsZero():
		end = start.Add(in.Duration)
	case in.Duration > 0 && !end.Equal(start.Add(in.Duration)):
		return Silence{}, fieldErr("duration", "give an end time or a duration, not both")
	}
	if !end.After(start) {
		return Silence{}, fieldErr("ends_at", "%s is not after starts_at %s", end.UTC().Format(time.RFC3339), start.UTC().Format(time.RFC3339))
	}
	if !end.After(now) {
		return Silence{}, fieldErr("ends_at", "%s has already passed", end.UTC().Format(time.RFC3339))
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Silence{}, fmt.Errorf("create silence: %w", err)
	}
	matchers := slices.Clone(in.Matchers) // the cache keeps it: the caller's slice may change
	if matchers == nil {
		matchers = []Matcher{}
	}
	r := row{ID: id.String(), Matchers: store.JSON[[]Matcher]{V: matchers}, Expr: in.Expr,
		StartsAt: stamp(start), EndsAt: stamp(end), CreatedBy: in.CreatedBy, Comment: in.Comment,
		CreatedAt: stamp(now), UpdatedAt: stamp(now)}
	s := r.silence(now)
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&r).Error; err != nil {
			return err
		}
		return audit.Record(tx, audit.Entry{Actor: in.CreatedBy, Action: "silence.create", EntityType: "silence",
			Entity: r.ID, After: s, Detail: in.Comment})
	})
	if err != nil {
		return Silence{}, fmt.Errorf("create silence: %w", err)
	}
	c.base = s
	cache.put(r.ID, c)
	return s, nil
}

// Get returns the silence with id; ENOTFOUND when there is none.
func Get(ctx context.Context, db *gorm.DB, id string) (Silence, error) {
	var r row
	if err := db.WithContext(ctx).Take(&r, "id = ?", id).Error; err != nil {
		return Silence{}, notFound(id, err)
	}
	return r.silence(time.Now()), nil
}

func notFound(id string, err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return incidenthub.Errorf(incidenthub.ENOTFOUND, "silence %q not found", id)
	}
	return fmt.Errorf("silence %s: %w", id, err)
}

// Filter narrows List. State "" lists every silence. Cursor is the
// NextCursor of the previous page.
type Filter struct {
	State  State
	Limit  int // default 100, at most 1000
	Cursor string
}

// List returns silences newest first (by creation) and the cursor of the
// next page ("" on the last).
func List(ctx context.Context, db *gorm.DB, f Filter) ([]Silence, string, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	if f.State != "" && !f.State.Valid() {
		return nil, "", incidenthub.Errorf(incidenthub.EINVALID, "state must be active, pending or expired (got %q)", f.State)
	}
	now := time.Now()
	t := stamp(now)
	q := db.WithContext(ctx).Model(&row{})
	switch f.State {
	case Active:
		q = q.Where("starts_at <= ? AND ends_at > ?", t, t)
	case Pending:
		q = q.Where("starts_at > ? AND ends_at > ?", t, t)
	case Expired:
		q = q.Where("ends_at <= ?", t)
	}
	if f.Cursor != "" {
		q = q.Where("id < ?", f.Cursor)
	}
	out, next, err := store.Page(q, "id DESC", f.Limit, func(r *row) string { return r.ID },
		func(r *row) Silence { return r.silence(now) })
	if err != nil {
		return nil, "", fmt.Errorf("list silences: %w", err)
	}
	return out, next, nil
}

// Expire ends the silence now, on actor's behalf, with an audit record: an
// active silence stops holding alerts back (the incidents it held notify
// once); a pending one never starts. Expiring an expired silence is
// ECONFLICT.
func Expire(ctx context.Context, db *gorm.DB, id, actor string) (Silence, error) {
	return change(ctx, db, id, actor, "silence.expire", func(r *row, now time.Time) error {
		if !now.Before(r.EndsAt) {
			return incidenthub.Errorf(incidenthub.ECONFLICT, "silence %s already expired at %s", r.ID, r.EndsAt.UTC().Format(time.RFC3339))
		}
		t := stamp(now)
		if r.StartsAt.After(t) {
			r.StartsAt = t
		}
		r.EndsAt, r.ExpiredAt, r.ExpiredBy = t, &t, actor
		return nil
	})
}

// Extend moves the end of a pending or active silence to endsAt (later, or
// earlier but still ahead), on actor's behalf, with an audit record. An
// expired silence cannot be extended (ECONFLICT): create a new one. An end
// already past or not after the start is a *FieldError on "ends_at".
func Extend(ctx context.Context, db *gorm.DB, id, actor string, endsAt time.Time) (Silence, error) {
	return extend(ctx, db, id, actor, func(time.Time) time.Time { return endsAt })
}

// ExtendBy moves the end of a pending or active silence d later, as
// Extend does (read and changed under the row's lock, so two extensions
// at once add up).
func ExtendBy(ctx context.Context, db *gorm.DB, id, actor string, d time.Duration) (Silence, error) {
	if d <= 0 {
		return Silence{}, fieldErr("extend_by", "must be a positive duration (got %s)", d)
	}
	return extend(ctx, db, id, actor, func(end time.Time) time.Time { return end.Add(d) })
}

func extend(ctx context.Context, db *gorm.DB, id, actor string, newEnd func(end time.Time) time.Time) (Silence, error) {
	return change(ctx, db, id, actor, "silence.extend", func(r *row, now time.Time) error {
		if !now.Before(r.EndsAt) {
			return incidenthub.Errorf(incidenthub.ECONFLICT, "silence %s expired at %s; create a new one", r.ID, r.EndsAt.UTC().Format(time.RFC3339))
		}
		endsAt := newEnd(r.EndsAt)
		if !endsAt.After(now) {
			return fieldErr("ends_at", "%s has already passed; expire the silence instead", endsAt.UTC().Format(time.RFC3339))
		}
		if !endsAt.After(r.StartsAt) {
			return fieldErr("ends_at", "%s is not after starts_at %s", endsAt.UTC().Format(time.RFC3339), r.StartsAt.UTC().Format(time.RFC3339))
		}
		r.EndsAt = stamp(endsAt)
		return nil
	})
}

// change locks the silence, applies fn, saves the times and records the
// audit entry, in one transaction.
func change(ctx context.Context, db *gorm.DB, id, actor, action string, fn func(r *row, now time.Time) error) (Silence, error) {
	actor = strings.TrimSpace(actor)
	if actor == "" {
		return Silence{}, incidenthub.Errorf(incidenthub.EINVALID, "%s: an actor is required", action)
	}
	var out Silence
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var r row
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&r, "id = ?", id).Error; err != nil {
			return notFound(id, err)
		}
		now := time.Now()
		before := r.silence(now)
		if err := fn(&r, now); err != nil {
			return err
		}
		r.UpdatedAt = stamp(now)
		err := tx.Model(&row{}).Where("id = ?", r.ID).Updates(map[string]any{
			"starts_at": r.StartsAt, "ends_at": r.EndsAt, "expired_at": r.ExpiredAt, "expired_by": r.ExpiredBy,
			"updated_at": r.UpdatedAt,
		}).Error
		if err != nil {
			return err
		}
		out = r.silence(now)
		return audit.Record(tx, audit.Entry{Actor: actor, Action: action, EntityType: "silence", Entity: r.ID,
			Before: before, After: out})
	})
	if err != nil {
		return Silence{}, fmt.Errorf("%s %s: %w", strings.TrimPrefix(action, "silence."), id, err)
	}
	return out, nil
}

// Set is the silences in force at one moment, compiled, to match alerts
// against.
type Set struct {
	silences []Silence
	compiled []*compiled
}

// InForce reads the silences active at now through db (the processing
// transaction, so the answer is what every replica has committed) and
// compiles them. Each call reads only the silences' ids and times; the
// fields that never change (matchers, expr, comment) and their compiled
// form are cached by id, and read once per process for a silence made
// elsewhere.
func InForce(db *gorm.DB, now time.Time) (*Set, error) {
	var ws []window
	t := stamp(now)
	err := db.Model(&row{}).Select("id", "starts_at", "ends_at", "updated_at", "expired_by", "expired_at").
		Where("ends_at > ? AND starts_at <= ?", t, t).Order("id").Scan(&ws).Error
	if err != nil {
		return nil, fmt.Errorf("read silences: %w", err)
	}
	set := &Set{silences: make([]Silence, 0, len(ws)), compiled: make([]*compiled, 0, len(ws))}
	if len(ws) == 0 {
		return set, nil
	}
	have := make(map[string]*compiled, len(ws))
	var missing []string
	for _, w := range ws {
		if c, ok := cache.get(w.ID); ok {
			have[w.ID] = c
		} else {
			missing = append(missing, w.ID)
		}
	}
	if len(missing) > 0 {
		var rows []row
		if err := db.Where("id IN ?", missing).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("read silences: %w", err)
		}
		for i := range rows {
			c := compileRow(&rows[i])
			cache.put(rows[i].ID, c)
			have[rows[i].ID] = c
		}
	}
	for _, w := range ws {
		c, ok := have[w.ID]
		if !ok {
			continue // deleted between the two reads (silences are never deleted)
		}
		s := c.base
		s.StartsAt, s.EndsAt, s.UpdatedAt, s.ExpiredBy = w.StartsAt.UTC(), w.EndsAt.UTC(), w.UpdatedAt.UTC(), w.ExpiredBy
		if w.ExpiredAt != nil {
			e := w.ExpiredAt.UTC()
			s.ExpiredAt = &e
		}
		s.State = s.StateAt(now)
		set.silences = append(set.silences, s)
		set.compiled = append(set.compiled, c)
	}
	return set, nil
}

// window is what may change about a silence, read on every event.
type window struct {
	ID        string
	StartsAt  time.Time
	EndsAt    time.Time
	UpdatedAt time.Time
	ExpiredBy string
	ExpiredAt *time.Time
}

// Len is how many silences are in force.
func (s *Set) Len() int { return len(s.silences) }

// Match returns the silences of the set that match a, oldest first (their
// Matchers slices are shared with the cache: read them, do not change
// them). An
// expr condition that fails on this alert does not match it; the error
// says which silence failed, beside the matches.
func (s *Set) Match(a incidenthub.Alert) ([]Silence, error) {
	var out []Silence
	var errs []error
	for i, c := range s.compiled {
		ok, err := c.matches(&a)
		if err != nil {
			errs = append(errs, fmt.Errorf("silence %s expr: %w", s.silences[i].ID, err))
			continue
		}
		if ok {
			out = append(out, s.silences[i])
		}
	}
	return out, errors.Join(errs...)
}

// Query returns the silences active at at (zero: now) that match a.
func Query(ctx context.Context, db *gorm.DB, a incidenthub.Alert, at time.Time) ([]Silence, error) {
	if at.IsZero() {
		at = time.Now()
	}
	set, err := InForce(db.WithContext(ctx), at)
	if err != nil {
		return nil, err
	}
	out, _ := set.Match(a)
	return out, nil
}

// Check validates in as Create would, without storing anything: for forms
// that want to show a problem before submitting.
func Check(in New) error {
	_, err := validate(&in)
	return err
}

// cache holds compiled silences by id. Matchers and expr never change
// after Create, so an entry is valid as long as the silence exists; the
// cache only saves recompiling regular expressions on every event.
var cache = &compileCache{m: map[string]*compiled{}}

type compileCache struct {
	mu sync.RWMutex
	m  map[string]*compiled
}

const maxCached = 4096

func (c *compileCache) get(id string) (*compiled, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[id]
	return v, ok
}

func (c *compileCache) put(id string, v *compiled) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCached {
		clear(c.m) // silences in force are few; the next reads refill it
	}
	c.m[id] = v
}

// Counts returns how many silences are in each state now.
func Counts(ctx context.Context, db *gorm.DB) (map[State]int64, error) {
	t := stamp(time.Now())
	var c struct{ Active, Pending, Expired int64 }
	err := db.WithContext(ctx).Model(&row{}).Select(
		"COALESCE(SUM(CASE WHEN starts_at <= ? AND ends_at > ? THEN 1 ELSE 0 END), 0) AS active, "+
			"COALESCE(SUM(CASE WHEN starts_at > ? AND ends_at > ? THEN 1 ELSE 0 END), 0) AS pending, "+
			"COALESCE(SUM(CASE WHEN ends_at <= ? THEN 1 ELSE 0 END), 0) AS expired", t, t, t, t, t).
		Scan(&c).Error
	if err != nil {
		return nil, fmt.Errorf("count silences: %w", err)
	}
	return map[State]int64{Active: c.Active, Pending: c.Pending, Expired: c.Expired}, nil
}

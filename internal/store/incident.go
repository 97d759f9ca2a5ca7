package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/incidenthub/incidenthub"
)

// Incident list orders.
const (
	// OrderOpened lists the newest opened incident first (by id). The
	// default, and what the API's cursors have always meant.
	OrderOpened = "opened"
	// OrderActivity lists the incident with the newest activity first: the
	// latest alert, acknowledgement or other change (updated_at).
	OrderActivity = "activity"
)

// IncidentFilter narrows ListIncidents and CountIncidents. Empty fields do
// not filter.
type IncidentFilter struct {
	Status   string
	Service  string
	Key      string // correlation key
	Severity string
	// Source keeps incidents with at least one member alert from it.
	Source string
	// Target keeps incidents routed to this outbound target.
	Target string
	// Text keeps incidents whose title, service, alert type or correlation
	// key contains it (case-insensitive); "#12" or "12" also matches
	// incident 12.
	Text string
	// Order is OrderOpened (also "") or OrderActivity.
	Order string
	// Cursor is a previous page's next cursor, for the same Order.
	Cursor string
	Limit  int
}

// ValidOrder reports whether o names an incident list order.
func ValidOrder(o string) bool { return o == "" || o == OrderOpened || o == OrderActivity }

// ListIncidents returns one page of incidents in f.Order, and the cursor of
// the next page ("" when this is the last). A cursor that this function
// did not produce for f.Order is an EINVALID error.
func (s *Store) ListIncidents(ctx context.Context, f IncidentFilter) ([]incidenthub.Incident, string, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	if !ValidOrder(f.Order) {
		return nil, "", incidenthub.Errorf(incidenthub.EINVALID, "order must be %s or %s (got %q)", OrderOpened, OrderActivity, f.Order)
	}
	q := s.incidentQuery(ctx, f)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Order == OrderActivity {
		return s.listByActivity(q, f)
	}
	if f.Cursor != "" {
		after, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil || after <= 0 {
			return nil, "", badCursor(f.Cursor)
		}
		q = q.Where("id < ?", after)
	}
	list, next, err := Page(q, "id DESC", f.Limit, func(r *Incident) int64 { return r.ID }, (*Incident).Domain)
	if err != nil || next == 0 {
		return list, "", err
	}
	return list, strconv.FormatInt(next, 10), nil
}

func badCursor(c string) error {
	return incidenthub.Errorf(incidenthub.EINVALID, "cursor %q is not a cursor returned by this API for this order", c)
}

// listByActivity pages by (updated_at, id), newest first. The cursor is
// "a<unix nanoseconds>_<id>" of the last row returned.
func (s *Store) listByActivity(q *gorm.DB, f IncidentFilter) ([]incidenthub.Incident, string, error) {
	if f.Cursor != "" {
		at, id, ok := parseActivityCursor(f.Cursor)
		if !ok {
			return nil, "", badCursor(f.Cursor)
		}
		q = q.Where("(updated_at < ? OR (updated_at = ? AND id < ?))", at, at, id)
	}
	var rows []Incident
	if err := q.Order("updated_at DESC, id DESC").Limit(f.Limit + 1).Find(&rows).Error; err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		last := rows[len(rows)-1]
		next = fmt.Sprintf("a%d_%d", last.UpdatedAt.UnixNano(), last.ID)
	}
	out := make([]incidenthub.Incident, len(rows))
	for i := range rows {
		out[i] = rows[i].Domain()
	}
	return out, next, nil
}

func parseActivityCursor(c string) (time.Time, int64, bool) {
	rest, ok := strings.CutPrefix(c, "a")
	if !ok {
		return time.Time{}, 0, false
	}
	ns, idText, ok := strings.Cut(rest, "_")
	if !ok {
		return time.Time{}, 0, false
	}
	n, err1 := strconv.ParseInt(ns, 10, 64)
	id, err2 := strconv.ParseInt(idText, 10, 64)
	if err1 != nil || err2 != nil || id <= 0 {
		return time.Time{}, 0, false
	}
	return time.Unix(0, n).UTC(), id, true
}

// incidentQuery applies every filter of f except Status and the cursor.
func (s *Store) incidentQuery(ctx context.Context, f IncidentFilter) *gorm.DB {
	q := s.DB.WithContext(ctx).Model(&Incident{})
	if f.Service != "" {
		q = q.Where("service = ?", f.Service)
	}
	if f.Key != "" {
		q = q.Where("correlation_key = ?", f.Key)
	}
	if f.Severity != "" {
		q = q.Where("severity = ?", f.Severity)
	}
	if f.Source != "" {
		q = q.Where("EXISTS (SELECT 1 FROM incident_alerts ia WHERE ia.incident_id = incidents.id AND ia.source = ?)", f.Source)
	}
	if f.Target != "" {
		if s.Dialect == Postgres {
			b, _ := JSON[[]string]{V: []string{f.Target}}.Value()
			q = q.Where("targets @> ?::jsonb", b)
		} else {
			q = q.Where("EXISTS (SELECT 1 FROM json_each(incidents.targets) WHERE json_each.value = ?)", f.Target)
		}
	}
	if t := strings.TrimSpace(f.Text); t != "" {
		like := "%" + escapeLike(strings.ToLower(t)) + "%"
		cond := "LOWER(title) LIKE ? ESCAPE '\\' OR LOWER(service) LIKE ? ESCAPE '\\' OR LOWER(alert_type) LIKE ? ESCAPE '\\' OR LOWER(correlation_key) LIKE ? ESCAPE '\\'"
		args := []any{like, like, like, like}
		if id, err := strconv.ParseInt(strings.TrimPrefix(t, "#"), 10, 64); err == nil && id > 0 {
			cond += " OR id = ?"
			args = append(args, id)
		}
		q = q.Where("("+cond+")", args...)
	}
	return q
}

// escapeLike escapes LIKE's wildcards (with backslash as the escape).
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// CountIncidents counts the incidents matching f (all but its Status, Order,
// Cursor and Limit) per status. Every status is present, zero included.
func (s *Store) CountIncidents(ctx context.Context, f IncidentFilter) (map[incidenthub.IncidentStatus]int64, error) {
	var rows []struct {
		Status string
		N      int64
	}
	if err := s.incidentQuery(ctx, f).Select("status, COUNT(*) AS n").Group("status").Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := map[incidenthub.IncidentStatus]int64{
		incidenthub.IncidentOpen: 0, incidenthub.IncidentAcknowledged: 0, incidenthub.IncidentResolved: 0,
	}
	for _, r := range rows {
		out[incidenthub.IncidentStatus(r.Status)] = r.N
	}
	return out, nil
}

// GetIncident returns one incident and its member alerts.
func (s *Store) GetIncident(ctx context.Context, id int64) (*incidenthub.Incident, []incidenthub.IncidentAlert, error) {
	inc, err := s.Incident(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	alerts, err := s.MemberAlerts(ctx, id, 0)
	if err != nil {
		return nil, nil, err
	}
	return inc, alerts, nil
}

// Incident returns one incident without its member alerts.
func (s *Store) Incident(ctx context.Context, id int64) (*incidenthub.Incident, error) {
	var row Incident
	err := s.DB.WithContext(ctx).Take(&row, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, incidenthub.Errorf(incidenthub.ENOTFOUND, "incident %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	inc := row.Domain()
	return &inc, nil
}

// MemberAlerts returns an incident's member alerts in the order they
// joined; limit > 0 returns at most that many.
func (s *Store) MemberAlerts(ctx context.Context, incidentID int64, limit int) ([]incidenthub.IncidentAlert, error) {
	q := s.DB.WithContext(ctx).Where("incident_id = ?", incidentID).Order("id")
	if limit > 0 {
		q = q.Limit(limit)
	}
	var members []IncidentAlert
	if err := q.Find(&members).Error; err != nil {
		return nil, err
	}
	alerts := make([]incidenthub.IncidentAlert, len(members))
	for i := range members {
		alerts[i] = members[i].Domain()
	}
	return alerts, nil
}

// Services returns the distinct services of incidents, sorted, at most
// limit of them (for filter suggestions).
func (s *Store) Services(ctx context.Context, limit int) ([]string, error) {
	var out []string
	err := s.DB.WithContext(ctx).Model(&Incident{}).Distinct("service").Where("service <> ''").
		Order("service").Limit(limit).Pluck("service", &out).Error
	return out, err
}

// LastEvent is the most recently received inbound event, in brief.
type LastEvent struct {
	ID         string
	Source     string
	ReceivedAt time.Time
}

// LatestEvent returns the most recently received event, or nil when none
// was ever received.
func (s *Store) LatestEvent(ctx context.Context) (*LastEvent, error) {
	var ev LastEvent
	err := s.DB.WithContext(ctx).Model(&Event{}).Select("id, source, received_at").Order("id DESC").Limit(1).Take(&ev).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &ev, nil
}

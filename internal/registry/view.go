package registry

import (
	"context"
	"strings"
	"time"

	"github.com/incidenthub/incidenthub/internal/keyring"
	"github.com/incidenthub/incidenthub/internal/store"
)

// Entry is a registry entry as the API and CLI show it. It never holds a
// secret: only what an auditor needs to know about one.
type Entry struct {
	Name             string       `json:"name" yaml:"name"`
	Direction        string       `json:"direction" yaml:"direction"`
	Kind             string       `json:"kind" yaml:"kind"`
	ManagedBy        string       `json:"managed_by" yaml:"managed_by"`
	Owner            Owner        `json:"owner" yaml:"owner"`
	Description      string       `json:"description" yaml:"description"`
	Events           []string     `json:"events" yaml:"events"`
	Endpoint         string       `json:"endpoint" yaml:"endpoint"`
	AuthMethod       string       `json:"auth_method" yaml:"auth_method"`
	Secret           SecretInfo   `json:"secret" yaml:"secret"`
	Rotation         RotationInfo `json:"rotation" yaml:"rotation"`
	ExpectedInterval string       `json:"expected_interval,omitempty" yaml:"expected_interval,omitempty"`
	LastEventAt      *time.Time   `json:"last_event_at,omitempty" yaml:"last_event_at,omitempty"`
	LastSuccessAt    *time.Time   `json:"last_success_at,omitempty" yaml:"last_success_at,omitempty"`
	LastFailureAt    *time.Time   `json:"last_failure_at,omitempty" yaml:"last_failure_at,omitempty"`
	LastFailure      string       `json:"last_failure,omitempty" yaml:"last_failure,omitempty"`
	LastVerifiedAt   *time.Time   `json:"last_verified_at,omitempty" yaml:"last_verified_at,omitempty"`
	LastVerifyError  string       `json:"last_verify_error,omitempty" yaml:"last_verify_error,omitempty"`
	AuthFailures     AuthFailures `json:"auth_failures" yaml:"auth_failures"`
	Flags            Flags        `json:"flags" yaml:"flags"`
	// Problems explains each raised flag in words.
	Problems  []string  `json:"problems" yaml:"problems"`
	CreatedAt time.Time `json:"created_at" yaml:"created_at"`
	UpdatedAt time.Time `json:"updated_at" yaml:"updated_at"`
}

// SecretInfo is a secret's metadata.
type SecretInfo struct {
	Present bool `json:"present" yaml:"present"`
	// Origin is config (the config file's secret) or registry (generated
	// by the hub, stored encrypted).
	Origin  string     `json:"origin,omitempty" yaml:"origin,omitempty"`
	Version int        `json:"version" yaml:"version"`
	KeyID   string     `json:"key_id,omitempty" yaml:"key_id,omitempty"`
	SetAt   *time.Time `json:"set_at,omitempty" yaml:"set_at,omitempty"`
	AgeDays float64    `json:"age_days" yaml:"age_days"`
	// PreviousValidUntil is the end of a rotation's overlap, while the old
	// secret is still accepted.
	PreviousValidUntil *time.Time `json:"previous_valid_until,omitempty" yaml:"previous_valid_until,omitempty"`
}

// RotationInfo is an entry's rotation schedule and its state.
type RotationInfo struct {
	Schedule      string     `json:"schedule,omitempty" yaml:"schedule,omitempty"`
	Overlap       string     `json:"overlap,omitempty" yaml:"overlap,omitempty"`
	LastRotatedAt *time.Time `json:"last_rotated_at,omitempty" yaml:"last_rotated_at,omitempty"`
	NextDueAt     *time.Time `json:"next_due_at,omitempty" yaml:"next_due_at,omitempty"`
}

// AuthFailures counts failed inbound authentications (since this process
// started) with the last offending client addresses, newest first.
type AuthFailures struct {
	Count   int64      `json:"count" yaml:"count"`
	LastAt  *time.Time `json:"last_at,omitempty" yaml:"last_at,omitempty"`
	LastIPs []string   `json:"last_ips" yaml:"last_ips"`
}

// Flags are the conditions an owner must act on.
type Flags struct {
	Stale           bool `json:"stale" yaml:"stale"`
	RotationOverdue bool `json:"rotation_overdue" yaml:"rotation_overdue"`
	SecretTooOld    bool `json:"secret_too_old" yaml:"secret_too_old"`
	Failing         bool `json:"failing" yaml:"failing"`
}

// recentAuthFailure is how recent an auth failure must be to mark an
// entry failing.
const recentAuthFailure = 15 * time.Minute

func keyIDOf(ct *string) string {
	if ct == nil {
		return ""
	}
	id, _ := keyring.KeyIDOf(*ct)
	return id
}

// view builds the Entry of a row, with its last event and flags.
func (r *Registry) view(ctx context.Context, row *entryRow) Entry {
	now := r.now()
	e := Entry{
		Name: row.Name, Direction: row.Direction, Kind: row.Kind, ManagedBy: row.ManagedBy,
		Owner: Owner{Name: row.OwnerName, Contact: row.OwnerContact}, Description: row.Description,
		Events: row.Events.V, Endpoint: row.Endpoint, AuthMethod: row.AuthMethod,
		Rotation:      RotationInfo{Schedule: row.RotationSchedule, LastRotatedAt: utc(row.LastRotatedAt), NextDueAt: utc(row.NextRotationAt)},
		LastSuccessAt: utc(row.LastSuccessAt), LastFailureAt: utc(row.LastFailureAt), LastFailure: row.LastFailure,
		LastVerifiedAt: utc(row.LastVerifiedAt), LastVerifyError: row.LastVerifyError,
		CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(), Problems: []string{},
	}
	if e.Events == nil {
		e.Events = []string{}
	}
	if row.RotationSchedule != "" {
		e.Rotation.Overlap = seconds(row.RotationOverlapSeconds).String()
	}
	if row.ExpectedIntervalSeconds > 0 {
		e.ExpectedInterval = seconds(row.ExpectedIntervalSeconds).String()
	}
	if row.SecretOrigin != "" {
		e.Secret = SecretInfo{Present: true, Origin: row.SecretOrigin, Version: row.SecretVersion,
			KeyID: keyIDOf(row.SecretCurrent), SetAt: utc(row.SecretSetAt)}
		if row.SecretSetAt != nil {
			e.Secret.AgeDays = float64(now.Sub(*row.SecretSetAt)/time.Minute) / (24 * 60)
		}
		if row.SecretPrevious != nil && row.PreviousExpiresAt != nil && now.Before(*row.PreviousExpiresAt) {
			e.Secret.PreviousValidUntil = utc(row.PreviousExpiresAt)
		}
	}
	if row.Direction == Inbound {
		e.LastEventAt = r.lastEvent(ctx, row.Name)
	}
	e.AuthFailures = r.authFailures(ctx, row)

	// Flags.
	if row.NextRotationAt != nil && now.After(row.NextRotationAt.Add(OverdueGrace)) {
		e.Flags.RotationOverdue = true
		e.Problems = append(e.Problems, "rotation overdue since "+row.NextRotationAt.UTC().Format(time.RFC3339))
	}
	if max := r.o.MaxSecretAge; max > 0 && row.SecretSetAt != nil && now.Sub(*row.SecretSetAt) > max {
		e.Flags.SecretTooOld, e.Flags.RotationOverdue = true, true
		e.Problems = append(e.Problems, "secret older than the "+max.String()+" policy maximum")
	}
	if iv := seconds(row.ExpectedIntervalSeconds); iv > 0 {
		last := e.LastEventAt
		if row.Direction == Outbound {
			last = e.LastSuccessAt
		}
		since := row.CreatedAt
		if last != nil {
			since = *last
		}
		if now.Sub(since) > iv {
			e.Flags.Stale = true
			e.Problems = append(e.Problems, "silent since "+since.UTC().Format(time.RFC3339)+", longer than the expected interval "+iv.String())
		}
	}
	if row.LastVerifyError != "" {
		e.Flags.Failing = true
		e.Problems = append(e.Problems, "last verification failed: "+row.LastVerifyError)
	}
	if row.LastFailureAt != nil && (row.LastSuccessAt == nil || row.LastFailureAt.After(*row.LastSuccessAt)) {
		e.Flags.Failing = true
		e.Problems = append(e.Problems, "last delivery failed: "+row.LastFailure)
	}
	if e.AuthFailures.LastAt != nil && now.Sub(*e.AuthFailures.LastAt) < recentAuthFailure {
		e.Flags.Failing = true
		e.Problems = append(e.Problems, "recent authentication failures from "+strings.Join(e.AuthFailures.LastIPs, ", "))
	}
	if r.o.SecretHealth {
		if p := r.secretProblem(row); p != "" {
			e.Flags.Failing = true
			e.Problems = append(e.Problems, p)
		}
	}
	return e
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// lastEvent is when the source's latest event arrived (nil: never, or the
// store did not answer).
func (r *Registry) lastEvent(ctx context.Context, source string) *time.Time {
	var evs []store.Event
	err := r.o.Store.DB.WithContext(ctx).Select("received_at").Where("source = ?", source).
		Order("received_at DESC").Limit(1).Find(&evs).Error
	if err != nil || len(evs) == 0 {
		return nil
	}
	t := evs[0].ReceivedAt.UTC()
	return &t
}

// ListFilter narrows List. Empty fields match everything.
type ListFilter struct {
	Direction       string
	Owner           string // matches owner name or contact, case-insensitively
	Stale           *bool
	RotationOverdue *bool
	Failing         *bool
}

// List returns the entries (not removed ones) matching f, by direction
// and name.
func (r *Registry) List(ctx context.Context, f ListFilter) ([]Entry, error) {
	q := r.o.Store.DB.WithContext(ctx).Where("removed_at IS NULL")
	if f.Direction != "" {
		q = q.Where("direction = ?", f.Direction)
	}
	var rows []entryRow
	if err := q.Order("direction, name").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(rows))
	for i := range rows {
		e := r.view(ctx, &rows[i])
		if f.Owner != "" && !strings.EqualFold(e.Owner.Name, f.Owner) && !strings.EqualFold(e.Owner.Contact, f.Owner) {
			continue
		}
		if !match(f.Stale, e.Flags.Stale) || !match(f.RotationOverdue, e.Flags.RotationOverdue) || !match(f.Failing, e.Flags.Failing) {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

func match(want *bool, got bool) bool { return want == nil || *want == got }

// Get returns one entry; direction "" matches either.
func (r *Registry) Get(ctx context.Context, direction, name string) (Entry, error) {
	row, err := find(r.o.Store.DB.WithContext(ctx), direction, name, false)
	if err != nil {
		return Entry{}, err
	}
	return r.view(ctx, row), nil
}

// maxIPs is how many offending addresses are kept per source.
const maxIPs = 10

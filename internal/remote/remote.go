// Package remote is what the connectors that keep one remote object per
// incident share (a Jira issue, a ServiceNow record, a Statuspage incident,
// a PagerDuty alert): the sync state they are given and the result they
// return, the mapping between those and a delivery's Notification, secrets
// that do not print, config field errors, and a JSON API caller whose
// failures the delivery engine can classify. What differs per vendor (auth,
// error shapes, the sync logic) stays in each connector.
package remote

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/secret"
)

// State is what the delivery engine knows when it asks for a sync.
type State struct {
	Incident incidenthub.Incident
	// Alert is the incident's latest alert, if known.
	Alert *incidenthub.Alert
	// Remote holds ids stored from earlier syncs (e.g. "issue_key").
	Remote map[string]string
	// Last is what earlier syncs reported in Result.Synced.
	Last map[string]string
	// IdempotencyKey identifies this delivery, the same on every retry.
	IdempotencyKey string
	// Event is what happened: "incident.opened", "incident.updated", ...
	Event string
}

// Result is the outcome of a sync: ids to store on the incident, what was
// synced (the next sync's State.Last), and a link to the remote object. A
// failed sync still returns what it did before the failing call, so a
// retry does not repeat it.
type Result struct {
	IDs    map[string]string
	Synced map[string]string
	URL    string
}

// RenderFunc builds a request body: op names the request (each connector
// lists its ops), body is the default, which the function may modify and
// return. It is the outbound mapping seam.
type RenderFunc func(op string, s State, body map[string]any) (map[string]any, error)

// Syncer brings a remote object to an incident's state.
type Syncer interface {
	Sync(ctx context.Context, s State) (Result, error)
}

// StateOf is the sync state of a notification: its incident, latest alert
// and event, and the ids and last-synced values kept in n.Ref under
// incidenthub.RefIDPrefix and incidenthub.RefLastPrefix.
func StateOf(n *incidenthub.Notification) State {
	s := State{Incident: n.Incident, Alert: n.LatestAlert, IdempotencyKey: n.ID, Event: n.Event,
		Remote: map[string]string{}, Last: map[string]string{}}
	for k, v := range n.Ref {
		if id, ok := strings.CutPrefix(k, incidenthub.RefIDPrefix); ok {
			s.Remote[id] = v
		} else if last, ok := strings.CutPrefix(k, incidenthub.RefLastPrefix); ok {
			s.Last[last] = v
		}
	}
	return s
}

// Keep writes r into n.Ref, replacing the ids and last-synced values.
func Keep(n *incidenthub.Notification, r Result) {
	if n.Ref == nil {
		n.Ref = map[string]string{}
	}
	maps.DeleteFunc(n.Ref, func(k, _ string) bool {
		return strings.HasPrefix(k, incidenthub.RefIDPrefix) || strings.HasPrefix(k, incidenthub.RefLastPrefix)
	})
	for k, v := range r.IDs {
		n.Ref[incidenthub.RefIDPrefix+k] = v
	}
	for k, v := range r.Synced {
		n.Ref[incidenthub.RefLastPrefix+k] = v
	}
	if r.URL != "" {
		n.Ref[incidenthub.RefURL] = r.URL
	}
}

// Notify delivers n through s: the delivery engine's Notifier contract.
// What the sync did is written back into n.Ref even when it fails (the
// engine keeps Ref either way); retry is the error's Retryable().
func Notify(ctx context.Context, s Syncer, n *incidenthub.Notification) (retry bool, err error) {
	r, err := s.Sync(ctx, StateOf(n))
	Keep(n, r)
	if err == nil {
		return false, nil
	}
	var c interface{ Retryable() bool }
	if errors.As(err, &c) {
		return c.Retryable(), err
	}
	// An error nobody classified: retrying is the safe side, bounded by
	// the target's retry max_age.
	return true, err
}

// CloneMap returns a copy of m, never nil.
func CloneMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

// Secret is a credential from config (the same type as config.Secret): it
// prints, marshals and logs as "<secret>"; Value returns the real text.
type Secret = secret.Secret

// FieldError is a problem with one config field; Field is its YAML key
// path within the connector's config (e.g. "services.checkout.name").
type FieldError struct{ Field, Msg string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Problems collects a config's FieldErrors.
type Problems []error

// Add records a problem at field.
func (p *Problems) Add(field, format string, args ...any) {
	*p = append(*p, &FieldError{field, fmt.Sprintf(format, args...)})
}

// URL records a problem at field unless s is an absolute http(s) URL.
func (p *Problems) URL(field, s string) {
	if err := ValidURL(s); err != nil {
		p.Add(field, "%v", err)
	}
}

// Err joins the problems; nil when there are none.
func (p Problems) Err() error { return errors.Join(p...) }

// ValidURL checks that s is an absolute http(s) URL.
func ValidURL(s string) error {
	if s == "" {
		return errors.New("required")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("must be an http(s) URL")
	}
	return nil
}

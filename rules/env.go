// Package rules loads YAML routing rules and silences, compiles their expr
// expressions once against a typed environment, and evaluates them against
// alerts: it implements processor.Router.
package rules

import (
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/incidenthub/incidenthub"
)

// Env is what an expression sees: the alert's fields under the names users
// write (service, severity, labels.cluster, annotations.summary, …). Severity
// and status are plain strings, so `severity == "critical"` works.
type Env struct {
	Source        string            `expr:"source"`
	SourceEventID string            `expr:"source_event_id"`
	Fingerprint   string            `expr:"fingerprint"`
	Status        string            `expr:"status"`
	Severity      string            `expr:"severity"`
	SeverityRank  int               `expr:"severity_rank"` // critical 4, high 3, warning 2, info 1
	Service       string            `expr:"service"`
	AlertType     string            `expr:"alert_type"`
	Title         string            `expr:"title"`
	Description   string            `expr:"description"`
	Host          string            `expr:"host"`
	Environment   string            `expr:"environment"`
	URL           string            `expr:"url"`
	Labels        map[string]string `expr:"labels"`
	Annotations   map[string]string `expr:"annotations"`
	StartsAt      time.Time         `expr:"starts_at"`
	ReceivedAt    time.Time         `expr:"received_at"`
}

func (e *Env) fill(a *incidenthub.Alert) {
	*e = Env{
		Source: a.Source, SourceEventID: a.SourceEventID, Fingerprint: a.Fingerprint,
		Status: string(a.Status), Severity: string(a.Severity), SeverityRank: a.Severity.Rank(),
		Service: a.Service, AlertType: a.AlertType, Title: a.Title, Description: a.Description,
		Host: a.Host, Environment: a.Environment, URL: a.URL, Labels: a.Labels, Annotations: a.Annotations,
		StartsAt: a.StartsAt, ReceivedAt: a.ReceivedAt,
	}
}

// compileCondition compiles a boolean expression.
func compileCondition(src string) (*vm.Program, error) {
	return expr.Compile(src, expr.Env(Env{}), expr.AsBool())
}

// compileString compiles an expression that yields a string.
func compileString(src string) (*vm.Program, error) {
	return expr.Compile(src, expr.Env(Env{}), expr.AsKind(reflect.String))
}

// exprError formats a compile error: the message with expr's snippet and
// caret, indented under the problem line.
func exprError(err error) string {
	return strings.ReplaceAll(strings.TrimRight(err.Error(), "\n"), "\n", "\n    ")
}

// Settable fields of `set:`; labels.<name> and annotations.<name> too.
var settable = map[string]func(a *incidenthub.Alert, v string) error{
	"severity": func(a *incidenthub.Alert, v string) error {
		if !incidenthub.Severity(v).Valid() {
			return fmt.Errorf("severity %q is not one of critical, high, warning, info", v)
		}
		a.Severity = incidenthub.Severity(v)
		return nil
	},
	"service":     func(a *incidenthub.Alert, v string) error { a.Service = v; return nil },
	"alert_type":  func(a *incidenthub.Alert, v string) error { a.AlertType = v; return nil },
	"title":       func(a *incidenthub.Alert, v string) error { a.Title = v; return nil },
	"description": func(a *incidenthub.Alert, v string) error { a.Description = v; return nil },
	"host":        func(a *incidenthub.Alert, v string) error { a.Host = v; return nil },
	"environment": func(a *incidenthub.Alert, v string) error { a.Environment = v; return nil },
	"url":         func(a *incidenthub.Alert, v string) error { a.URL = v; return nil },
}

// fieldCorrelationKey is the `set:` key that overrides the correlation key.
const fieldCorrelationKey = "correlation_key"

// validSetField reports whether field may appear under `set:`.
func validSetField(field string) bool {
	if _, ok := settable[field]; ok || field == fieldCorrelationKey {
		return true
	}
	for _, p := range []string{"labels.", "annotations."} {
		if name, ok := strings.CutPrefix(field, p); ok && name != "" {
			return true
		}
	}
	return false
}

// setField assigns v to field of a, copying a label or annotation map before
// writing so the caller's alert is never changed underneath it.
func setField(a *incidenthub.Alert, field, v string) error {
	if f, ok := settable[field]; ok {
		return f(a, v)
	}
	if name, ok := strings.CutPrefix(field, "labels."); ok {
		a.Labels = maps.Clone(a.Labels)
		if a.Labels == nil {
			a.Labels = map[string]string{}
		}
		a.Labels[name] = v
		return nil
	}
	if name, ok := strings.CutPrefix(field, "annotations."); ok {
		a.Annotations = maps.Clone(a.Annotations)
		if a.Annotations == nil {
			a.Annotations = map[string]string{}
		}
		a.Annotations[name] = v
		return nil
	}
	return fmt.Errorf("field %q cannot be set", field)
}

// vms reuses expression VMs across evaluations (a VM is not safe for
// concurrent use; a pool is).
var vms = sync.Pool{New: func() any { return &vm.VM{} }}

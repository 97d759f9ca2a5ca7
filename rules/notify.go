package rules

import (
	"fmt"
	"io"
	"strings"
)

// Notification delay and threshold: routing.notify_after and
// routing.min_alerts apply to every alert; a matching rule's own
// notify_after or min_alerts overrides them (the last matching rule that
// sets one wins, as with resolve), 0s and 0 included. The processor holds
// the first notification of an incident the alert opens
// (processor/notify.go).

// notifyHold checks and compiles rule p's notify_after and min_alerts.
func (l *loader) notifyHold(p string, rs ruleSpec, r *rule, bad func(key, format string, args ...any)) {
	if rs.NotifyAfter != nil {
		if *rs.NotifyAfter < 0 {
			bad(p+".notify_after", "must not be negative (0s notifies at once)")
		}
		d := rs.NotifyAfter.Std()
		r.notifyAfter = &d
	}
	if rs.MinAlerts != nil {
		if *rs.MinAlerts < 0 {
			bad(p+".min_alerts", "must not be negative (0 or 1 notifies on the first alert)")
		}
		n := *rs.MinAlerts
		r.minAlerts = &n
	}
	if rs.Drop && (rs.NotifyAfter != nil || rs.MinAlerts != nil) {
		bad(p+".drop", "a dropping rule cannot also delay notifications (notify_after, min_alerts): the alert is discarded")
	}
}

// holdDefaults starts res with routing's notify_after and min_alerts.
func (e *Engine) holdDefaults(res *Result) {
	if e.notifyAfter > 0 {
		res.NotifyAfter, res.NotifyAfterFrom = e.notifyAfter, "routing"
	}
	if e.minAlerts > 1 {
		res.MinAlerts, res.MinAlertsFrom = e.minAlerts, "routing"
	}
}

// hold applies matched rule r's notify_after and min_alerts to res.
func (r *rule) hold(res *Result) {
	from := fmt.Sprintf("rule %s", r.name)
	if r.notifyAfter != nil {
		res.NotifyAfter, res.NotifyAfterFrom = *r.notifyAfter, from
	}
	if r.minAlerts != nil {
		res.MinAlerts, res.MinAlertsFrom = *r.minAlerts, from
	}
}

// hold fills the report's notify_after and min_alerts from res.
func (a *AlertReport) hold(res Result) {
	if res.NotifyAfter > 0 {
		a.NotifyAfter, a.NotifyAfterFrom = res.NotifyAfter.String(), res.NotifyAfterFrom
	}
	if res.MinAlerts > 1 {
		a.MinAlerts, a.MinAlertsFrom = res.MinAlerts, res.MinAlertsFrom
	}
}

// writeHold prints when an incident the alert opens first notifies, if
// not at once.
func (a *AlertReport) writeHold(w io.Writer) {
	var parts []string
	if a.NotifyAfter != "" {
		parts = append(parts, fmt.Sprintf("after %s [%s]", a.NotifyAfter, a.NotifyAfterFrom))
	}
	if a.MinAlerts > 1 {
		parts = append(parts, fmt.Sprintf("once it has %d member alerts [%s]", a.MinAlerts, a.MinAlertsFrom))
	}
	if len(parts) == 0 {
		return // at once
	}
	fmt.Fprintf(w, "  first notification: %s (the incident opens at once; a blip resolved before then notifies nobody)\n", strings.Join(parts, " and "))
}

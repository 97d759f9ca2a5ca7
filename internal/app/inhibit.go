package app

import (
	"context"
	"log/slog"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/internal/store"
)

var _ processor.InhibitSources = (*Reloader)(nil)

// InhibitSources implements processor.InhibitSources with the active rules.
func (r *Reloader) InhibitSources(a incidenthub.Alert) []processor.Inhibit {
	return r.active.Load().eng.InhibitSources(a)
}

// recordInhibitSources records the alerts already firing that are sources
// of the active inhibit rules (at start, and after each reload), so a rule
// inhibits at once rather than from its sources' next alerts. A failure is
// logged: inhibition then starts with those next alerts.
func recordInhibitSources(ctx context.Context, st *store.Store, rl *Reloader, log *slog.Logger) {
	if len(rl.Engine().InhibitRules()) == 0 {
		return
	}
	n, err := processor.RecordInhibitSources(ctx, st, rl)
	if err != nil {
		log.Warn("record firing inhibit sources", "err", err)
		return
	}
	log.Debug("recorded firing inhibit sources", "alerts", n)
}

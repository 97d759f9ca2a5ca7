package correlation

import (
	"context"
	"log/slog"
)

// LogChanges logs at INFO each committed change that opened, resolved or
// reopened an incident: "incident opened", "incident resolved", "incident
// reopened", with its id, key, severity and who or what caused it. Other
// outcomes are not logged (a storm of joins would drown the log). Call it
// after the changes' transaction has committed; a nil log logs nothing.
func LogChanges(ctx context.Context, log *slog.Logger, changes []Change) {
	if log == nil {
		return
	}
	for _, ch := range changes {
		var msg string
		switch ch.Outcome {
		case Opened:
			msg = "incident opened"
		case Resolved:
			msg = "incident resolved"
		case Reopened:
			msg = "incident reopened"
		default:
			continue
		}
		attrs := []slog.Attr{
			slog.Int64("incident_id", ch.IncidentID),
			slog.String("key", ch.Key),
			slog.String("severity", string(ch.Severity)),
			slog.Int("alert_count", ch.AlertCount),
		}
		if ch.Actor != "" {
			attrs = append(attrs, slog.String("actor", ch.Actor))
		}
		if ch.EventID != "" {
			attrs = append(attrs, slog.String("event_id", ch.EventID))
		}
		if ch.Alert.Source != "" {
			attrs = append(attrs, slog.String("source", ch.Alert.Source))
		}
		if ch.Reason != "" {
			attrs = append(attrs, slog.String("reason", ch.Reason))
		}
		if ch.Flapping {
			attrs = append(attrs, slog.Bool("flapping", true))
		}
		if !ch.Notify {
			attrs = append(attrs, slog.Bool("notified", false))
		}
		log.LogAttrs(ctx, slog.LevelInfo, msg, attrs...)
	}
}

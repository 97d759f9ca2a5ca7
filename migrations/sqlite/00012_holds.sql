-- +goose Up
-- Notification holds (internal/hold): why an incident's notifications wait.
-- Silences, inhibitions and notification delays decide whether a change
-- notifies; they never stop an alert from being stored and correlated. A
-- gating hold (gate = true: notify_after, min_alerts) stops the incident's
-- alert-driven notifications while it lasts; the others (a silence, an
-- inhibition) only mark the incident for one notification of its current
-- state once they end. One row per (incident, kind, ref).
CREATE TABLE notification_holds (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    ref         TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    gate        BOOLEAN NOT NULL DEFAULT 0,
    until       DATETIME,
    checked_at  DATETIME NOT NULL,
    created_at  DATETIME NOT NULL
);
CREATE UNIQUE INDEX notification_holds_incident ON notification_holds (incident_id, kind, ref);
CREATE INDEX notification_holds_checked ON notification_holds (checked_at);

-- +goose Down
DROP TABLE notification_holds;

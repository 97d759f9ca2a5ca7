-- +goose Up
-- Retention (internal/retention): old raw bodies are blanked, old events,
-- resolved incidents and (only when retention.audit is set) audit records
-- are deleted, in small batches, by one replica at a time.

-- When retention blanked the event's body and headers ('' and {}); NULL:
-- still as received. The row itself stays until retention.events.
ALTER TABLE events ADD COLUMN body_purged_at DATETIME;
-- When retention blanked the attempt's request and response bodies.
ALTER TABLE delivery_attempts ADD COLUMN bodies_purged_at DATETIME;

-- The one row that says who runs retention now (a lease: owner and
-- lease_until, renewed after every batch, so a replica that dies frees it
-- within the lease), when it last ran, and where each body purge got to
-- in id order (so a run never walks again over rows already purged).
CREATE TABLE retention_runs (
    name                 TEXT PRIMARY KEY,
    owner                TEXT NOT NULL DEFAULT '',
    lease_until          DATETIME,
    runs                 BIGINT NOT NULL DEFAULT 0,
    started_at           DATETIME,
    finished_at          DATETIME,
    event_body_cursor    TEXT NOT NULL DEFAULT '',
    attempt_body_cursor  BIGINT NOT NULL DEFAULT 0,
    last_result          TEXT NOT NULL DEFAULT ''
);
INSERT INTO retention_runs (name) VALUES ('retention');

-- The audit trail stays append-only, except for the explicit
-- retention.audit setting: a transaction that holds a row of
-- audit_log_purge (retention inserts one, deletes old records and removes
-- it before commit, so no other transaction ever sees it) may delete.
CREATE TABLE audit_log_purge (
    token TEXT PRIMARY KEY
);
DROP TRIGGER audit_log_no_delete;
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM audit_log_purge)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd
CREATE INDEX audit_log_at ON audit_log (at);

-- Deleting an old incident deletes the correlation_keys rows that route to
-- it (a key routed to a missing incident could not be correlated again).
CREATE INDEX correlation_keys_incident ON correlation_keys (incident_id);

-- +goose Down
DROP INDEX correlation_keys_incident;
DROP INDEX audit_log_at;
DROP TRIGGER audit_log_no_delete;
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd
DROP TABLE audit_log_purge;
DROP TABLE retention_runs;
ALTER TABLE delivery_attempts DROP COLUMN bodies_purged_at;
ALTER TABLE events DROP COLUMN body_purged_at;

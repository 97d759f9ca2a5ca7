-- +goose Up
-- Web UI sessions (web/ui_session.go). A session is created by signing in
-- with an API token. The cookie holds a random id; only its SHA-256 is
-- stored, so a copy of this table opens no session. The token itself is
-- never stored: token_hash (a SHA-256 of it) lets every request check that
-- the token still exists in the running config, so removing or changing a
-- token ends its sessions at the next restart or reload.
CREATE TABLE ui_sessions (
    id_hash      TEXT PRIMARY KEY,          -- hex SHA-256 of the cookie value
    token_name   TEXT NOT NULL,             -- the actor, as for the API
    token_hash   TEXT NOT NULL,             -- hex SHA-256 of the token, truncated
    csrf_token   TEXT NOT NULL,             -- synchronizer token for the session's forms
    created_at   DATETIME NOT NULL,
    expires_at   DATETIME NOT NULL,
    remote_addr  TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ui_sessions_expires ON ui_sessions (expires_at);

-- The incident list's orders and the per-incident target states.
CREATE INDEX incidents_status_activity ON incidents (status, updated_at DESC, id DESC);
CREATE INDEX incidents_activity ON incidents (updated_at DESC, id DESC);
CREATE INDEX deliveries_incident_target ON deliveries (incident_id, target, id);

-- +goose Down
DROP INDEX deliveries_incident_target;
DROP INDEX incidents_activity;
DROP INDEX incidents_status_activity;
DROP TABLE ui_sessions;

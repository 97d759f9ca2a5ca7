-- +goose Up
-- The webhook registry: every inbound source and outbound target, with its
-- owner, secret metadata, rotation schedule and health. Secrets are stored
-- only as AES-256-GCM ciphertext ("v1:<key id>:<base64>").
CREATE TABLE registry_entries (
    id                         INTEGER PRIMARY KEY AUTOINCREMENT,
    name                       TEXT NOT NULL,
    direction                  TEXT NOT NULL,           -- inbound | outbound
    kind                       TEXT NOT NULL,
    managed_by                 TEXT NOT NULL,           -- config | api
    owner_name                 TEXT NOT NULL DEFAULT '',
    owner_contact              TEXT NOT NULL DEFAULT '',
    description                TEXT NOT NULL DEFAULT '',
    events                     TEXT NOT NULL DEFAULT '[]',
    endpoint                   TEXT NOT NULL DEFAULT '',
    auth_method                TEXT NOT NULL DEFAULT '',
    expected_interval_seconds  BIGINT NOT NULL DEFAULT 0,
    rotation_schedule          TEXT NOT NULL DEFAULT '',
    rotation_overlap_seconds   BIGINT NOT NULL DEFAULT 0,
    secret_origin              TEXT NOT NULL DEFAULT '',
    secret_version             INTEGER NOT NULL DEFAULT 0,
    secret_revealed_version    INTEGER NOT NULL DEFAULT 0, -- a scheduled rotation's secret may be revealed once
    secret_set_at              DATETIME,
    secret_current             TEXT,
    secret_previous            TEXT,
    previous_expires_at        DATETIME,
    last_rotated_at            DATETIME,
    next_rotation_at           DATETIME,
    last_success_at            DATETIME,
    last_failure_at            DATETIME,
    last_failure               TEXT NOT NULL DEFAULT '',
    last_verified_at           DATETIME,
    last_verify_error          TEXT NOT NULL DEFAULT '',
    removed_at                 DATETIME,
    created_at                 DATETIME NOT NULL,
    updated_at                 DATETIME NOT NULL
);
CREATE UNIQUE INDEX registry_entries_name ON registry_entries (direction, name);
CREATE INDEX registry_entries_next_rotation ON registry_entries (next_rotation_at) WHERE next_rotation_at IS NOT NULL;

-- The audit trail: append-only (triggers refuse UPDATE and DELETE).
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           DATETIME NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    entity_type  TEXT NOT NULL DEFAULT '',
    entity       TEXT NOT NULL DEFAULT '',
    before       TEXT,
    after        TEXT,
    detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_log;
DROP TABLE registry_entries;

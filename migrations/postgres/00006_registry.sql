-- +goose Up
-- The webhook registry: every inbound source and outbound target, with its
-- owner, secret metadata, rotation schedule and health. Secrets are stored
-- only as AES-256-GCM ciphertext ("v1:<key id>:<base64>").
CREATE TABLE registry_entries (
    id                         BIGSERIAL PRIMARY KEY,
    name                       TEXT NOT NULL,
    direction                  TEXT NOT NULL,           -- inbound | outbound
    kind                       TEXT NOT NULL,
    managed_by                 TEXT NOT NULL,           -- config | api
    owner_name                 TEXT NOT NULL DEFAULT '',
    owner_contact              TEXT NOT NULL DEFAULT '',
    description                TEXT NOT NULL DEFAULT '',
    events                     JSONB NOT NULL DEFAULT '[]',
    endpoint                   TEXT NOT NULL DEFAULT '', -- /hooks/{name} or the target URL
    auth_method                TEXT NOT NULL DEFAULT '',
    expected_interval_seconds  BIGINT NOT NULL DEFAULT 0,
    rotation_schedule          TEXT NOT NULL DEFAULT '',
    rotation_overlap_seconds   BIGINT NOT NULL DEFAULT 0,
    secret_origin              TEXT NOT NULL DEFAULT '', -- '' (none) | config | registry
    secret_version             INTEGER NOT NULL DEFAULT 0,
    secret_revealed_version    INTEGER NOT NULL DEFAULT 0, -- a scheduled rotation's secret may be revealed once
    secret_set_at              TIMESTAMPTZ,
    secret_current             TEXT,                     -- ciphertext
    secret_previous            TEXT,                     -- ciphertext, valid until previous_expires_at
    previous_expires_at        TIMESTAMPTZ,
    last_rotated_at            TIMESTAMPTZ,
    next_rotation_at           TIMESTAMPTZ,
    last_success_at            TIMESTAMPTZ,
    last_failure_at            TIMESTAMPTZ,
    last_failure               TEXT NOT NULL DEFAULT '',
    last_verified_at           TIMESTAMPTZ,
    last_verify_error          TEXT NOT NULL DEFAULT '',
    removed_at                 TIMESTAMPTZ,             -- gone from config / deleted: kept for history
    created_at                 TIMESTAMPTZ NOT NULL,
    updated_at                 TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX registry_entries_name ON registry_entries (direction, name);
CREATE INDEX registry_entries_next_rotation ON registry_entries (next_rotation_at) WHERE next_rotation_at IS NOT NULL;

-- The audit trail: append-only (triggers refuse UPDATE and DELETE).
CREATE TABLE audit_log (
    id           BIGSERIAL PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL,           -- API token name, cli:<user>, scheduler, config
    action       TEXT NOT NULL,           -- e.g. registry.rotate, incident.acknowledge, config.reload
    entity_type  TEXT NOT NULL DEFAULT '',
    entity       TEXT NOT NULL DEFAULT '',
    before       JSONB,
    after        JSONB,
    detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE registry_entries;

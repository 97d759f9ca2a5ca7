-- +goose Up
CREATE TABLE events (
    id            TEXT PRIMARY KEY,            -- UUIDv7: sorts by arrival
    source        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    dedup_key     TEXT,
    received_at   TIMESTAMPTZ NOT NULL,
    remote_addr   TEXT NOT NULL DEFAULT '',
    content_type  TEXT NOT NULL DEFAULT '',
    headers       JSONB NOT NULL DEFAULT '{}',
    body          BYTEA NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending', -- pending | processed | unmapped | failed
    error         TEXT NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    alerts        JSONB,
    processed_at  TIMESTAMPTZ
);
CREATE UNIQUE INDEX events_source_dedup_key ON events (source, dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX events_pending ON events (id) WHERE status = 'pending';
CREATE INDEX events_source_received ON events (source, received_at);

CREATE TABLE incidents (
    id               BIGSERIAL PRIMARY KEY,
    correlation_key  TEXT NOT NULL,
    status           TEXT NOT NULL,           -- open | acknowledged | resolved
    title            TEXT NOT NULL DEFAULT '',
    service          TEXT NOT NULL DEFAULT '',
    alert_type       TEXT NOT NULL DEFAULT '',
    severity         TEXT NOT NULL DEFAULT 'info',
    environment      TEXT NOT NULL DEFAULT '',
    hosts            JSONB NOT NULL DEFAULT '[]',
    targets          JSONB NOT NULL DEFAULT '[]',   -- outbound targets routed to this incident
    event_count      INTEGER NOT NULL DEFAULT 0,
    alert_count      INTEGER NOT NULL DEFAULT 0,
    firing_count     INTEGER NOT NULL DEFAULT 0,
    opened_at        TIMESTAMPTZ NOT NULL,
    last_seen_at     TIMESTAMPTZ NOT NULL,
    resolved_at      TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
-- At most one unresolved incident per key: concurrent alerts for one key
-- race on this index, not on a mutex, so replicas cannot open two.
CREATE UNIQUE INDEX incidents_open_key ON incidents (correlation_key) WHERE status <> 'resolved';
CREATE INDEX incidents_status_updated ON incidents (status, updated_at DESC);
CREATE INDEX incidents_service ON incidents (service);

CREATE TABLE incident_alerts (
    id             BIGSERIAL PRIMARY KEY,
    incident_id    BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    fingerprint    TEXT NOT NULL,
    source         TEXT NOT NULL,
    status         TEXT NOT NULL,             -- firing | resolved
    severity       TEXT NOT NULL DEFAULT 'info',
    title          TEXT NOT NULL DEFAULT '',
    host           TEXT NOT NULL DEFAULT '',
    event_count    INTEGER NOT NULL DEFAULT 0,
    first_seen_at  TIMESTAMPTZ NOT NULL,
    last_seen_at   TIMESTAMPTZ NOT NULL,
    last_event_at  TIMESTAMPTZ NOT NULL,      -- the source's own time of the latest state
    last_event_id  TEXT NOT NULL DEFAULT '',
    alert          JSONB NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX incident_alerts_member ON incident_alerts (incident_id, fingerprint);

-- +goose Down
DROP TABLE incident_alerts;
DROP TABLE incidents;
DROP TABLE events;

-- +goose Up
-- Outbound delivery. River's own tables (river_job, …) are created by
-- rivermigrate from store.Migrate, right after these files.

-- One row per (incident, target): what the target was last brought to, and
-- the coordination that keeps one sync per pair running at a time.
CREATE TABLE delivery_syncs (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id         BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    target              TEXT NOT NULL,
    synced_state        TEXT,                 -- the incident as last delivered; NULL = never
    synced_delivery_id  BIGINT NOT NULL DEFAULT 0,
    ref                 TEXT NOT NULL DEFAULT '{}', -- the target's handle, e.g. Slack channel + ts
    job_queued          BOOLEAN NOT NULL DEFAULT 0, -- a sync job is waiting to look at this pair
    lease_owner         BIGINT,                -- River job id running the sync
    lease_until         DATETIME,
    wake_at             DATETIME,                 -- when the queued job runs (it may be snoozed)
    created_at          DATETIME NOT NULL,
    updated_at          DATETIME NOT NULL
);
CREATE UNIQUE INDEX delivery_syncs_pair ON delivery_syncs (incident_id, target);

-- One row per change to deliver; message_id is the idempotency id, reused
-- on every retry.
CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id      BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    target           TEXT NOT NULL,
    target_type      TEXT NOT NULL,
    event            TEXT NOT NULL,            -- incident.opened | incident.updated | …
    message_id       TEXT NOT NULL,
    status           TEXT NOT NULL,            -- pending | retrying | delivered | dead
    changes          TEXT NOT NULL DEFAULT '[]',
    state            TEXT NOT NULL,           -- the incident snapshot being delivered
    previous         TEXT,                    -- what the target had before
    latest_alert     TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    last_status_code INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  DATETIME,
    window_start     DATETIME NOT NULL,     -- retries stop max_age after this
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL,
    delivered_at     DATETIME
);
CREATE UNIQUE INDEX deliveries_message_id ON deliveries (message_id);
CREATE INDEX deliveries_pair_open ON deliveries (incident_id, target, id) WHERE status IN ('pending', 'retrying');
CREATE INDEX deliveries_target_status ON deliveries (target, status, id);
CREATE INDEX deliveries_status ON deliveries (status, id);

-- Every HTTP exchange of every attempt, secrets redacted, bodies capped.
CREATE TABLE delivery_attempts (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id       BIGINT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt           INTEGER NOT NULL,
    started_at        DATETIME NOT NULL,
    method            TEXT NOT NULL DEFAULT '',
    url               TEXT NOT NULL DEFAULT '',
    request_headers   TEXT NOT NULL DEFAULT '{}',
    request_body      TEXT NOT NULL DEFAULT '',
    response_status   INTEGER NOT NULL DEFAULT 0,
    response_headers  TEXT NOT NULL DEFAULT '{}',
    response_body     TEXT NOT NULL DEFAULT '',
    latency_ms        BIGINT NOT NULL DEFAULT 0,
    error             TEXT NOT NULL DEFAULT '',
    outcome           TEXT NOT NULL DEFAULT '',  -- delivered | retry | dead
    next_attempt_at   DATETIME
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);

-- +goose Down
DROP TABLE delivery_attempts;
DROP TABLE deliveries;
DROP TABLE delivery_syncs;

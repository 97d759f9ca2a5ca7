-- +goose Up
-- Outbound delivery. River's own tables (river_job, …) are created by
-- rivermigrate from store.Migrate, right after these files.

-- One row per (incident, target): what the target was last brought to, and
-- the coordination that keeps one sync per pair running at a time.
CREATE TABLE delivery_syncs (
    id                  BIGSERIAL PRIMARY KEY,
    incident_id         BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    target              TEXT NOT NULL,
    synced_state        JSONB,                 -- the incident as last delivered; NULL = never
    synced_delivery_id  BIGINT NOT NULL DEFAULT 0,
    ref                 JSONB NOT NULL DEFAULT '{}', -- the target's handle, e.g. Slack channel + ts
    job_queued          BOOLEAN NOT NULL DEFAULT FALSE, -- a sync job is waiting to look at this pair
    lease_owner         BIGINT,                -- River job id running the sync
    lease_until         TIMESTAMPTZ,
    wake_at             TIMESTAMPTZ,                 -- when the queued job runs (it may be snoozed)
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX delivery_syncs_pair ON delivery_syncs (incident_id, target);

-- One row per change to deliver; message_id is the idempotency id, reused
-- on every retry.
CREATE TABLE deliveries (
    id               BIGSERIAL PRIMARY KEY,
    incident_id      BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    target           TEXT NOT NULL,
    target_type      TEXT NOT NULL,
    event            TEXT NOT NULL,            -- incident.opened | incident.updated | …
    message_id       TEXT NOT NULL,
    status           TEXT NOT NULL,            -- pending | retrying | delivered | dead
    changes          JSONB NOT NULL DEFAULT '[]',
    state            JSONB NOT NULL,           -- the incident snapshot being delivered
    previous         JSONB,                    -- what the target had before
    latest_alert     JSONB,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    last_status_code INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ,
    window_start     TIMESTAMPTZ NOT NULL,     -- retries stop max_age after this
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    delivered_at     TIMESTAMPTZ
);
CREATE UNIQUE INDEX deliveries_message_id ON deliveries (message_id);
CREATE INDEX deliveries_pair_open ON deliveries (incident_id, target, id) WHERE status IN ('pending', 'retrying');
CREATE INDEX deliveries_target_status ON deliveries (target, status, id);
CREATE INDEX deliveries_status ON deliveries (status, id);

-- Every HTTP exchange of every attempt, secrets redacted, bodies capped.
CREATE TABLE delivery_attempts (
    id                BIGSERIAL PRIMARY KEY,
    delivery_id       BIGINT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt           INTEGER NOT NULL,
    started_at        TIMESTAMPTZ NOT NULL,
    method            TEXT NOT NULL DEFAULT '',
    url               TEXT NOT NULL DEFAULT '',
    request_headers   JSONB NOT NULL DEFAULT '{}',
    request_body      TEXT NOT NULL DEFAULT '',
    response_status   INTEGER NOT NULL DEFAULT 0,
    response_headers  JSONB NOT NULL DEFAULT '{}',
    response_body     TEXT NOT NULL DEFAULT '',
    latency_ms        BIGINT NOT NULL DEFAULT 0,
    error             TEXT NOT NULL DEFAULT '',
    outcome           TEXT NOT NULL DEFAULT '',  -- delivered | retry | dead
    next_attempt_at   TIMESTAMPTZ
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);

-- +goose Down
DROP TABLE delivery_attempts;
DROP TABLE deliveries;
DROP TABLE delivery_syncs;

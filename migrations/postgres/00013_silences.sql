-- +goose Up
-- Runtime silences (internal/silence): created through the API, the CLI or
-- the UI (the cron maintenance windows stay in the rules YAML). Every
-- replica reads them in the processing transaction, so a silence holds on
-- all replicas from the moment it commits. A silence is never deleted:
-- expiring it sets ends_at to the time it was expired (and starts_at too
-- when it had not started), so the list of expired silences is the history.
CREATE TABLE silences (
    id          TEXT PRIMARY KEY,               -- UUIDv7: sorts by creation
    matchers    JSONB NOT NULL DEFAULT '[]',    -- [{"name","op","value"}]: all must match
    expr        TEXT NOT NULL DEFAULT '',       -- an expr condition over the alert; '' for none
    starts_at   TIMESTAMPTZ NOT NULL,
    ends_at     TIMESTAMPTZ NOT NULL,
    created_by  TEXT NOT NULL,                  -- the actor (API token name, slack:<user>, …)
    comment     TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    expired_by  TEXT NOT NULL DEFAULT '',       -- who expired it early; '' when it ran its course
    expired_at  TIMESTAMPTZ,
    CHECK (ends_at >= starts_at)
);
-- The processor's question, "which silences are in force now", reads the
-- silences that have not ended.
CREATE INDEX silences_ends_at ON silences (ends_at);

-- +goose Down
DROP TABLE silences;

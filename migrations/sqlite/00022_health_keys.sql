-- +goose Up
-- Which keys each running hub holds: every `serve` process writes its row
-- at start and on every registry tick (seen_at) and deletes it on a clean
-- shutdown. `registry rotate|revoke|rekey` refuses to seal a secret with a
-- key a live hub lacks. Key ids only (keyring.KeyID), never a key.
CREATE TABLE hub_instances (
    id              TEXT PRIMARY KEY,          -- random per process
    host            TEXT NOT NULL DEFAULT '',
    pid             INTEGER NOT NULL DEFAULT 0,
    current_key_id  TEXT NOT NULL DEFAULT '',  -- '' when the hub has no key
    key_ids         TEXT NOT NULL DEFAULT '',  -- every key id it can decrypt with, comma-separated
    started_at      DATETIME NOT NULL,
    seen_at         DATETIME NOT NULL
);

-- Owner notices of rotations and revocations made where no delivery engine
-- runs (the CLI): a running hub sends each once, then sets sent_at.
CREATE TABLE registry_notices (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  DATETIME NOT NULL,
    entity      TEXT NOT NULL,                 -- direction/name
    action      TEXT NOT NULL,                 -- registry.rotate | registry.revoke
    actor       TEXT NOT NULL,
    notice      TEXT NOT NULL,                -- registry.Notice: metadata only, never a secret
    claimed_at  DATETIME,                   -- a hub is sending it (expires, for a crash)
    sent_at     DATETIME                    -- sent, or failed and audited: done
);
CREATE INDEX registry_notices_pending ON registry_notices (id) WHERE sent_at IS NULL;

-- +goose Down
DROP TABLE registry_notices;
DROP TABLE hub_instances;

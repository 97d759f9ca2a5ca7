-- +goose Up
-- The full correlation engine: lifecycle, flapping, notification throttle,
-- merge/split routing and the incident timeline.
ALTER TABLE incidents ADD COLUMN resolve_policy TEXT NOT NULL DEFAULT 'all';   -- all | any | manual
ALTER TABLE incidents ADD COLUMN acknowledged_at DATETIME;
ALTER TABLE incidents ADD COLUMN acknowledged_by TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN resolved_by TEXT NOT NULL DEFAULT '';         -- '' (its alerts), an actor, or 'auto-resolve'
ALTER TABLE incidents ADD COLUMN merged_into BIGINT;
ALTER TABLE incidents ADD COLUMN flap_count INTEGER NOT NULL DEFAULT 0;        -- reopens, ever
ALTER TABLE incidents ADD COLUMN flap_times TEXT NOT NULL DEFAULT '[]';       -- reopens within the flap window
ALTER TABLE incidents ADD COLUMN last_flap_at DATETIME;
ALTER TABLE incidents ADD COLUMN flapping BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN held_back INTEGER NOT NULL DEFAULT 0;         -- notifications held while flapping
-- Join throttle: state in the row (under its lock), so replicas agree.
ALTER TABLE incidents ADD COLUMN pending_joins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN joins_notified_at DATETIME;
CREATE INDEX incidents_unresolved_seen ON incidents (last_seen_at) WHERE status <> 'resolved';

-- One row per correlation key: every alert for a key locks it first, so all
-- decisions for a key (open, join, reopen) are serialised across replicas.
-- incident_id is where the key routes: its latest incident, or the
-- incident it was merged into.
CREATE TABLE correlation_keys (
    correlation_key TEXT PRIMARY KEY,
    incident_id     BIGINT NOT NULL DEFAULT 0
);

INSERT INTO correlation_keys (correlation_key, incident_id)
SELECT correlation_key, COALESCE(MAX(CASE WHEN status <> 'resolved' THEN id END), MAX(id))
FROM incidents GROUP BY correlation_key;

-- A resolve for an alert the hub has not seen firing (it may arrive before
-- its firing): remembered so the late, older firing is ignored as stale.
CREATE TABLE orphan_resolves (
    source       TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    ended_at     DATETIME NOT NULL,       -- the source's time of the resolve
    event_id     TEXT NOT NULL DEFAULT '',
    received_at  DATETIME NOT NULL,
    PRIMARY KEY (source, fingerprint)
);

-- The latest incarnation of an alert, whatever its incident's key.
CREATE INDEX incident_alerts_source_fingerprint ON incident_alerts (source, fingerprint, id);

CREATE TABLE incident_timeline (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at           DATETIME NOT NULL,
    kind         TEXT NOT NULL,
    actor        TEXT NOT NULL DEFAULT '',
    event_id     TEXT NOT NULL DEFAULT '',
    source       TEXT NOT NULL DEFAULT '',
    fingerprint  TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL DEFAULT '',
    details      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, id);

-- +goose Down
DROP TABLE incident_timeline;
DROP TABLE orphan_resolves;
DROP INDEX incident_alerts_source_fingerprint;
DROP TABLE correlation_keys;
DROP INDEX incidents_unresolved_seen;
ALTER TABLE incidents DROP COLUMN joins_notified_at;
ALTER TABLE incidents DROP COLUMN pending_joins;
ALTER TABLE incidents DROP COLUMN held_back;
ALTER TABLE incidents DROP COLUMN flapping;
ALTER TABLE incidents DROP COLUMN last_flap_at;
ALTER TABLE incidents DROP COLUMN flap_times;
ALTER TABLE incidents DROP COLUMN flap_count;
ALTER TABLE incidents DROP COLUMN merged_into;
ALTER TABLE incidents DROP COLUMN resolved_by;
ALTER TABLE incidents DROP COLUMN acknowledged_by;
ALTER TABLE incidents DROP COLUMN acknowledged_at;
ALTER TABLE incidents DROP COLUMN resolve_policy;

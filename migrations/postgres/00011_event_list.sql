-- +goose Up
-- GET /api/v1/events lists events newest first by id (a UUIDv7, so by
-- arrival). The primary key serves the list without a filter, a common
-- status (processed) or source; the rare statuses an operator looks for get
-- partial indexes. A partial index costs nothing on the ingest path: a new
-- event is pending, in none of them. ListEvents writes the status as a
-- literal so the planner can match these predicates (a bound parameter
-- cannot prove one).
--
-- A repeat of an event already stored (same source and dedup key) is not
-- stored again; it is counted on the original, and status=duplicate lists
-- the originals.
ALTER TABLE events ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN last_duplicate_at TIMESTAMPTZ;

CREATE INDEX events_unmapped ON events (id) WHERE status = 'unmapped';
CREATE INDEX events_source_unmapped ON events (source, id) WHERE status = 'unmapped';
CREATE INDEX events_failed ON events (id) WHERE status = 'failed';
CREATE INDEX events_duplicated ON events (id) WHERE duplicates > 0;

-- +goose Down
DROP INDEX events_duplicated;
DROP INDEX events_failed;
DROP INDEX events_source_unmapped;
DROP INDEX events_unmapped;
ALTER TABLE events DROP COLUMN last_duplicate_at;
ALTER TABLE events DROP COLUMN duplicates;

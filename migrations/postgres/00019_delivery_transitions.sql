-- +goose Up
-- The status changes (opened, acknowledged, resolved, reopened) an
-- (incident, target) pair has still to hear, each with the incident as it
-- was then, in order. The incident change writes them in its own
-- transaction; the pair's sync turns the oldest into a delivery (and
-- deletes it) before it diffs the current state, so an acknowledge quickly
-- followed by a resolve reaches the target as both. Plain updates are not
-- recorded: the state-based sync still collapses a burst of them.
CREATE TABLE delivery_transitions (
    id          BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    target      TEXT NOT NULL,
    event       TEXT NOT NULL,            -- incident.opened | incident.acknowledged | …
    state       JSONB NOT NULL,           -- the incident right after the change
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX delivery_transitions_pair ON delivery_transitions (incident_id, target, id);

-- +goose Down
DROP TABLE delivery_transitions;

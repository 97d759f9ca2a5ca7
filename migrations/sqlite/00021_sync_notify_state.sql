-- +goose Up
-- What an (incident, target) pair's sync brings the target to: the
-- incident as of its last change that notifies (an alert-driven change no
-- silence, inhibition or gating hold kept back, a person's change, a hold's
-- release). A sync that runs for any reason diffs against it, not against
-- the live incident, so a silenced change never rides along with another
-- one's delivery. NULL on pairs older than this column: the live incident.
ALTER TABLE delivery_syncs ADD COLUMN notify_state TEXT;

-- +goose Down
ALTER TABLE delivery_syncs DROP COLUMN notify_state;

-- +goose Up
-- When a failed processing attempt may be tried again: transient failures
-- back off instead of using up every attempt at once.
ALTER TABLE events ADD COLUMN retry_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE events DROP COLUMN retry_at;

-- +goose Up
-- What normalization worked around (e.g. an unreadable starts_at): a JSON
-- list of {field, path, value, message}; NULL for none.
ALTER TABLE events ADD COLUMN warnings TEXT;

-- +goose Down
ALTER TABLE events DROP COLUMN warnings;

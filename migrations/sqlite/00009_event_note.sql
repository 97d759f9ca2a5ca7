-- +goose Up
-- What the hub did with an event that carries no alert, for the operator:
-- "SNS subscription confirmation for topic …; confirmed".
ALTER TABLE events ADD COLUMN note TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE events DROP COLUMN note;

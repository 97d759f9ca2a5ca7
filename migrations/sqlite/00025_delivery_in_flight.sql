-- +goose Up
-- Crash windows: the delivery whose attempt is in flight on the pair, set
-- with the lease renewal right before the send and cleared when the
-- attempt's outcome is recorded. A renewal that finds it still set (the
-- process died mid-send, or lost its lease) moves it to
-- interrupted_delivery_id: that attempt's outcome is unknown, and the
-- connector may look for what it created (Slack: message metadata) before
-- creating it again.
ALTER TABLE delivery_syncs ADD COLUMN sending_delivery_id BIGINT;
ALTER TABLE delivery_syncs ADD COLUMN interrupted_delivery_id BIGINT;

-- +goose Down
ALTER TABLE delivery_syncs DROP COLUMN interrupted_delivery_id;
ALTER TABLE delivery_syncs DROP COLUMN sending_delivery_id;

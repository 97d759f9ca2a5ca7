-- +goose Up
-- Catch-up after a fault: job_id is the River job last queued for (or
-- running) the pair. The engine's resync sweep (internal/delivery/catchup.go)
-- enqueues a fresh job for a pair that needs work, whose lease is free or
-- expired and whose job_id job is not waiting to run: a job left `running`
-- by a dead process or by River giving up on recording its result while
-- the database was down.
ALTER TABLE delivery_syncs ADD COLUMN job_id BIGINT;
CREATE INDEX delivery_syncs_busy ON delivery_syncs (id) WHERE job_queued OR lease_owner IS NOT NULL;

-- +goose Down
DROP INDEX delivery_syncs_busy;
ALTER TABLE delivery_syncs DROP COLUMN job_id;

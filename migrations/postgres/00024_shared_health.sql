-- +goose Up
-- State every replica must report the same (issue 15): authentication
-- failures per inbound source, and each outbound target's circuit breaker
-- state. Both are written only on failures and state changes, never on a
-- request that succeeds.

-- Authentication failures of one inbound source, aggregated: each replica
-- adds what it saw at most once a second. window_* drive the spike
-- warning (registry.auth_failure_spike within five minutes), raised once
-- per window by whichever replica crosses it.
CREATE TABLE registry_auth_failures (
    source        TEXT PRIMARY KEY,
    count         BIGINT NOT NULL DEFAULT 0,
    last_at       TIMESTAMPTZ NOT NULL,
    last_ips      JSONB NOT NULL DEFAULT '[]',  -- newest first, at most 10
    window_start  TIMESTAMPTZ NOT NULL,
    window_count  BIGINT NOT NULL DEFAULT 0,
    spike_raised  BOOLEAN NOT NULL DEFAULT FALSE
);

-- The latest circuit breaker state change of each outbound target, written
-- by the replica whose breaker changed.
CREATE TABLE target_circuits (
    target      TEXT PRIMARY KEY,
    state       TEXT NOT NULL,                 -- closed | open | disabled
    changed_at  TIMESTAMPTZ NOT NULL,
    last_error  TEXT NOT NULL DEFAULT ''       -- redacted; '' when closed
);

-- +goose Down
DROP TABLE target_circuits;
DROP TABLE registry_auth_failures;

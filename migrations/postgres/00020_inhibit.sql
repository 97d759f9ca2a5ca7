-- +goose Up
-- Inhibit rules (rules files' inhibit_rules): a member alert that matches
-- a rule's source side is recorded here, with its values of the rule's
-- equal: list, when it is processed firing (and dropped when it resolves).
-- Processing an alert that matches the rule's target side looks up
-- (rule_key, equal_key) and joins its member row and incident: a firing
-- member of an unresolved incident inhibits it. rule_key is the rule's name
-- and a hash of its definition, so a changed rule never inhibits through
-- rows its old form wrote. Rows follow their member alert through merges
-- and splits (alert_id) and go with it.
CREATE TABLE inhibit_sources (
    alert_id   BIGINT NOT NULL REFERENCES incident_alerts (id) ON DELETE CASCADE,
    rule_key   TEXT NOT NULL,
    equal_key  TEXT NOT NULL,                  -- JSON array of the equal: values
    two_sided  BOOLEAN NOT NULL DEFAULT FALSE, -- the alert matches the target side too
    PRIMARY KEY (alert_id, rule_key)
);
CREATE INDEX inhibit_sources_lookup ON inhibit_sources (rule_key, equal_key);

-- +goose Down
DROP TABLE inhibit_sources;

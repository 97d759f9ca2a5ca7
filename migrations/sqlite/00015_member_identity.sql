-- +goose Up
-- A member alert is identified by (source, fingerprint), as correlation
-- looks it up: the same alert sent through two sources of one kind (an
-- Alertmanager HA pair posting to two hub sources, two Datadog orgs) is two
-- members of its incident, each resolved by its own source. The index was
-- (incident_id, fingerprint), so the second source's alert could not join.
DROP INDEX incident_alerts_member;
CREATE UNIQUE INDEX incident_alerts_member ON incident_alerts (incident_id, source, fingerprint);

-- An alert's latest incarnation is the member row that took its latest
-- event (correlation.LatestIncarnation), not always the newest row: an
-- incident reopened by hand may take the next firing into its older row.
DROP INDEX incident_alerts_source_fingerprint;
CREATE INDEX incident_alerts_latest ON incident_alerts (source, fingerprint, last_seen_at DESC, id DESC);

-- +goose Down
DROP INDEX incident_alerts_latest;
CREATE INDEX incident_alerts_source_fingerprint ON incident_alerts (source, fingerprint, id);
-- The old index allows one member per fingerprint: keep the newest
-- row of each.
DELETE FROM incident_alerts WHERE EXISTS (
    SELECT 1 FROM incident_alerts newer
    WHERE newer.incident_id = incident_alerts.incident_id
      AND newer.fingerprint = incident_alerts.fingerprint
      AND newer.id > incident_alerts.id);
DROP INDEX incident_alerts_member;
CREATE UNIQUE INDEX incident_alerts_member ON incident_alerts (incident_id, fingerprint);

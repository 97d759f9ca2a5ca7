-- +goose Up
-- The registry keeps a target's URL as the hub shows it (package redact):
-- query values and user information hidden. Hubs before this kept the URL
-- whole; hide what an old row may hold. Entries synced from the config get
-- their exact shown URL (with public_query_params) at the next start; an
-- entry made through the API keeps this form. The audit trail is
-- append-only and is not rewritten.
UPDATE registry_entries
   SET endpoint = substr(endpoint, 1, strpos(endpoint, '?')) || 'redacted=%3Credacted%3E'
 WHERE strpos(endpoint, '?') > 0;
UPDATE registry_entries
   SET endpoint = regexp_replace(endpoint, '^([A-Za-z][A-Za-z0-9+.-]*://)[^/]*@', '\1%3Credacted%3E@')
 WHERE endpoint ~ '^[A-Za-z][A-Za-z0-9+.-]*://[^/]*@';

-- +goose Down
-- Nothing to restore: the hidden values are gone.
SELECT 1;

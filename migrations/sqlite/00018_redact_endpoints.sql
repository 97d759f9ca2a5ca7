-- +goose Up
-- The registry keeps a target's URL as the hub shows it (package redact):
-- query values and user information hidden. Hubs before this kept the URL
-- whole; hide what an old row may hold. Entries synced from the config get
-- their exact shown URL (with public_query_params) at the next start; an
-- entry made through the API keeps this form. The audit trail is
-- append-only and is not rewritten.
UPDATE registry_entries
   SET endpoint = substr(endpoint, 1, instr(endpoint, '?')) || 'redacted=%3Credacted%3E'
 WHERE instr(endpoint, '?') > 0;
-- scheme://userinfo@host…: everything between :// and the first @ before
-- the path.
UPDATE registry_entries
   SET endpoint = substr(endpoint, 1, instr(endpoint, '://') + 2) || '%3Credacted%3E@' ||
                  substr(endpoint, instr(endpoint, '://') + 3 + instr(substr(endpoint, instr(endpoint, '://') + 3), '@'))
 WHERE instr(endpoint, '://') > 0
   AND instr(substr(endpoint, instr(endpoint, '://') + 3), '@') > 0
   AND (instr(substr(endpoint, instr(endpoint, '://') + 3), '/') = 0
        OR instr(substr(endpoint, instr(endpoint, '://') + 3), '@') < instr(substr(endpoint, instr(endpoint, '://') + 3), '/'));

-- +goose Down
-- Nothing to restore: the hidden values are gone.
SELECT 1;

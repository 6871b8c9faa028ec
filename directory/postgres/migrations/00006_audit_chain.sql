-- The audit log settles disputes: each entry keeps the source address and
-- user agent of the request, the changed fields before and after, and a
-- hash chained to the entry before it (tamper evidence). Entries written
-- before this migration have no hash and are reported as older than the
-- chain by `switchboard audit verify`.

-- +goose Up
ALTER TABLE audit_log ADD COLUMN ip text NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN user_agent text NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN before text NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN after text NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN prev_hash text NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN hash text NOT NULL DEFAULT '';
CREATE INDEX audit_log_object ON audit_log (object, at DESC, id DESC);

-- +goose Down
DROP INDEX audit_log_object;
ALTER TABLE audit_log DROP COLUMN hash;
ALTER TABLE audit_log DROP COLUMN prev_hash;
ALTER TABLE audit_log DROP COLUMN after;
ALTER TABLE audit_log DROP COLUMN before;
ALTER TABLE audit_log DROP COLUMN user_agent;
ALTER TABLE audit_log DROP COLUMN ip;

-- Keys for the call history and recording writes that are held while the
-- database is away and replayed later: a call is found again by the key
-- its writer chose, a recording by its file's path, so that a write
-- replayed twice (a crash between the write and its being marked done)
-- changes nothing more.

-- +goose Up
ALTER TABLE calls ADD COLUMN call_key TEXT;
CREATE UNIQUE INDEX calls_call_key ON calls (call_key) WHERE call_key IS NOT NULL;
CREATE INDEX recordings_path ON recordings (path);

-- +goose Down
DROP INDEX recordings_path;
DROP INDEX calls_call_key;
ALTER TABLE calls DROP COLUMN call_key;

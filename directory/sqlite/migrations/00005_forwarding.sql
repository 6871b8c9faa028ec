-- A user's call forwarding and Do Not Disturb. A forward target is an
-- extension or a phone number; empty means no forward. forward_ring_seconds
-- 0 means the PBX ring time.

-- +goose Up
ALTER TABLE users ADD COLUMN dnd INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN forward_always TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN forward_busy TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN forward_no_answer TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN forward_offline TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN forward_ring_seconds INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN forward_ring_seconds;
ALTER TABLE users DROP COLUMN forward_offline;
ALTER TABLE users DROP COLUMN forward_no_answer;
ALTER TABLE users DROP COLUMN forward_busy;
ALTER TABLE users DROP COLUMN forward_always;
ALTER TABLE users DROP COLUMN dnd;

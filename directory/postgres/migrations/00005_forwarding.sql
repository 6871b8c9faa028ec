-- A user's call forwarding and Do Not Disturb. A forward target is an
-- extension or a phone number; empty means no forward. forward_ring_seconds
-- 0 means the PBX ring time.

-- +goose Up
ALTER TABLE users
	ADD COLUMN dnd boolean NOT NULL DEFAULT false,
	ADD COLUMN forward_always text NOT NULL DEFAULT '',
	ADD COLUMN forward_busy text NOT NULL DEFAULT '',
	ADD COLUMN forward_no_answer text NOT NULL DEFAULT '',
	ADD COLUMN forward_offline text NOT NULL DEFAULT '',
	ADD COLUMN forward_ring_seconds integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users
	DROP COLUMN forward_ring_seconds,
	DROP COLUMN forward_offline,
	DROP COLUMN forward_no_answer,
	DROP COLUMN forward_busy,
	DROP COLUMN forward_always,
	DROP COLUMN dnd;

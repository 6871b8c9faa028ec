-- Voicemail: the mailbox setting of a user or a group and
-- the messages left in it. pin_hash is argon2id, never the PIN; a message's
-- WAV is a file (path), checked by its sha256.

-- +goose Up
CREATE TABLE voicemail_boxes (
    user_id     INTEGER REFERENCES users (id) ON DELETE CASCADE,
    group_id    INTEGER REFERENCES groups (id) ON DELETE CASCADE,
    enabled     INTEGER NOT NULL DEFAULT 0,
    pin_hash    TEXT    NOT NULL DEFAULT '',
    greeting    TEXT    NOT NULL DEFAULT '',
    to_email    INTEGER NOT NULL DEFAULT 0,
    max_seconds INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL,
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
) STRICT;
CREATE UNIQUE INDEX voicemail_boxes_user ON voicemail_boxes (user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX voicemail_boxes_group ON voicemail_boxes (group_id) WHERE group_id IS NOT NULL;
CREATE TABLE voicemail_messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER REFERENCES users (id) ON DELETE CASCADE,
    group_id    INTEGER REFERENCES groups (id) ON DELETE CASCADE,
    caller      TEXT    NOT NULL DEFAULT '',
    started_at  INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    path        TEXT    NOT NULL,
    sha256      TEXT    NOT NULL DEFAULT '',
    heard       INTEGER NOT NULL DEFAULT 0,
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
) STRICT;
CREATE INDEX voicemail_messages_user ON voicemail_messages (user_id, started_at DESC) WHERE user_id IS NOT NULL;
CREATE INDEX voicemail_messages_group ON voicemail_messages (group_id, started_at DESC) WHERE group_id IS NOT NULL;

-- +goose Down
DROP TABLE voicemail_messages;
DROP TABLE voicemail_boxes;

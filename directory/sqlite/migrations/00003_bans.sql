-- The SIP guard's bans, shared by the nodes and kept over restarts. An
-- empty extension bans the whole source; otherwise the source is locked
-- out of that extension only.

-- +goose Up
CREATE TABLE bans (
    source     TEXT    NOT NULL,
    extension  TEXT    NOT NULL DEFAULT '',
    reason     TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    node       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (source, extension)
) STRICT;
CREATE INDEX bans_expires_at ON bans (expires_at);

-- +goose Down
DROP TABLE bans;

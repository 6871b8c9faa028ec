-- The SIP guard's bans, shared by the nodes and kept over restarts. An
-- empty extension bans the whole source; otherwise the source is locked
-- out of that extension only.

-- +goose Up
CREATE TABLE bans (
    source     text NOT NULL,
    extension  text NOT NULL DEFAULT '',
    reason     text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    node       text NOT NULL DEFAULT '',
    PRIMARY KEY (source, extension)
);
CREATE INDEX bans_expires_at ON bans (expires_at);

-- +goose Down
DROP TABLE bans;

-- Devices that fetch their configuration from Switchboard (provisioning).
-- token_hash: SHA-256 of the secret in the device's URL; sealed: the
-- extension password encrypted with a key derived from that secret. A
-- softphone may have no MAC, so uniqueness holds among the MACs given.

-- +goose Up
CREATE TABLE devices (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    mac           TEXT    NOT NULL DEFAULT '',
    vendor        TEXT    NOT NULL,
    model         TEXT    NOT NULL DEFAULT '',
    user_id       INTEGER NOT NULL REFERENCES users (id),
    label         TEXT    NOT NULL DEFAULT '',
    token_hash    TEXT    NOT NULL,
    sealed        TEXT    NOT NULL DEFAULT '',
    last_fetch_at INTEGER,
    last_fetch_ip TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX devices_mac ON devices (mac) WHERE mac <> '';
CREATE UNIQUE INDEX devices_token ON devices (token_hash);
CREATE INDEX devices_user ON devices (user_id);
-- Recordings listed longest or shortest first.
CREATE INDEX recordings_duration ON recordings (duration_ms DESC, id DESC);

-- +goose Down
DROP INDEX recordings_duration;
DROP TABLE devices;

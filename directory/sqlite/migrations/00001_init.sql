-- Switchboard schema for SQLite. Append-only: change the schema in a new
-- file, never here. Times are INTEGER unix microseconds (UTC), NULL for "none".

-- +goose Up
CREATE TABLE users (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT    NOT NULL,
    email            TEXT    NOT NULL,
    extension        TEXT    NOT NULL,
    mobile           TEXT    NOT NULL DEFAULT '',
    caller_id        TEXT    NOT NULL DEFAULT '',
    notes            TEXT    NOT NULL DEFAULT '',
    language         TEXT    NOT NULL DEFAULT '',
    state            TEXT    NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'blocked', 'deleted')),
    password_hash    TEXT    NOT NULL DEFAULT '',
    sip_realm        TEXT    NOT NULL DEFAULT '',
    sip_ha1_md5      TEXT    NOT NULL DEFAULT '',
    sip_ha1_sha256   TEXT    NOT NULL DEFAULT '',
    sip_max_devices  INTEGER NOT NULL DEFAULT 0,
    sip_allowed_nets TEXT    NOT NULL DEFAULT '', -- comma-separated CIDRs
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;
-- A deleted user keeps its row for history but frees its email.
CREATE UNIQUE INDEX users_email ON users (email) WHERE state <> 'deleted';
CREATE INDEX users_name ON users (name, id);
CREATE INDEX users_mobile ON users (mobile) WHERE mobile <> '';

CREATE TABLE groups (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    parent_id  INTEGER REFERENCES groups (id),
    extension  TEXT,
    prefix     TEXT    NOT NULL DEFAULT '',
    is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX groups_default ON groups (is_default) WHERE is_default = 1;
CREATE INDEX groups_parent ON groups (parent_id);

-- Every extension number in use, of a user or of a group: the primary key
-- keeps numbers unique across both.
CREATE TABLE extensions (
    number   TEXT PRIMARY KEY,
    user_id  INTEGER UNIQUE REFERENCES users (id),
    group_id INTEGER UNIQUE REFERENCES groups (id),
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
) STRICT;

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES groups (id),
    user_id  INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
) STRICT;
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE roles (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    builtin    TEXT UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE role_perms (
    role_id INTEGER NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    perm    TEXT    NOT NULL,
    scope   TEXT    NOT NULL,
    PRIMARY KEY (role_id, perm)
) STRICT;

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users (id),
    role_id INTEGER NOT NULL REFERENCES roles (id),
    PRIMARY KEY (user_id, role_id)
) STRICT;
CREATE INDEX user_roles_role ON user_roles (role_id);

-- Per-user permission overrides.
CREATE TABLE user_perms (
    user_id INTEGER NOT NULL REFERENCES users (id),
    perm    TEXT    NOT NULL,
    scope   TEXT    NOT NULL,
    PRIMARY KEY (user_id, perm)
) STRICT;

CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL DEFAULT '',
    company     TEXT    NOT NULL DEFAULT '',
    email       TEXT    NOT NULL DEFAULT '',
    assigned_to INTEGER REFERENCES users (id),
    created_by  INTEGER REFERENCES users (id),
    public      INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1)),
    notes       TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX contacts_assigned_to ON contacts (assigned_to);
CREATE INDEX contacts_created_by ON contacts (created_by);
CREATE INDEX contacts_name ON contacts (name, id);

CREATE TABLE contact_phones (
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    phone      TEXT    NOT NULL,
    PRIMARY KEY (contact_id, phone)
) STRICT;
CREATE INDEX contact_phones_phone ON contact_phones (phone);

CREATE TABLE calls (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    sip_call_id TEXT    NOT NULL DEFAULT '',
    caller_id   INTEGER,
    callee_id   INTEGER,
    group_id    INTEGER,
    from_number TEXT    NOT NULL DEFAULT '',
    to_number   TEXT    NOT NULL DEFAULT '',
    dialed      TEXT    NOT NULL DEFAULT '',
    direction   TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    answered_at INTEGER,
    ended_at    INTEGER,
    disposition TEXT    NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    hangup_by   TEXT    NOT NULL DEFAULT '',
    node        TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX calls_started ON calls (started_at DESC, id DESC);
CREATE INDEX calls_caller ON calls (caller_id, started_at DESC);
CREATE INDEX calls_callee ON calls (callee_id, started_at DESC);

CREATE TABLE recordings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id     INTEGER NOT NULL REFERENCES calls (id),
    path        TEXT    NOT NULL DEFAULT '',
    size        INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    sha256      TEXT    NOT NULL DEFAULT '',
    state       TEXT    NOT NULL,
    error       TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX recordings_call ON recordings (call_id);

CREATE TABLE bindings (
    extension  TEXT    NOT NULL,
    contact    TEXT    NOT NULL,
    source     TEXT    NOT NULL DEFAULT '',
    transport  TEXT    NOT NULL DEFAULT '',
    expires_at INTEGER NOT NULL,
    call_id    TEXT    NOT NULL DEFAULT '',
    cseq       INTEGER NOT NULL DEFAULT 0,
    user_agent TEXT    NOT NULL DEFAULT '',
    node       TEXT    NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (extension, contact)
) STRICT;
CREATE INDEX bindings_expires ON bindings (expires_at);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    actor_id INTEGER,
    actor    TEXT    NOT NULL DEFAULT '',
    action   TEXT    NOT NULL,
    object   TEXT    NOT NULL DEFAULT '',
    detail   TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);

-- The change log nodes follow to refresh their caches.
CREATE TABLE changes (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT    NOT NULL,
    id   INTEGER NOT NULL DEFAULT 0,
    key  TEXT    NOT NULL DEFAULT '',
    node TEXT    NOT NULL DEFAULT '',
    at   INTEGER NOT NULL
) STRICT;
CREATE INDEX changes_at ON changes (at);

-- Seed: the default group, the built-in roles and the default role.
INSERT INTO groups (name, is_default, created_at)
VALUES ('Default group', 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000000);

INSERT INTO roles (name, builtin, created_at) VALUES
    ('Owner', 'owner', CAST(strftime('%s', 'now') AS INTEGER) * 1000000),
    ('Admin', 'admin', CAST(strftime('%s', 'now') AS INTEGER) * 1000000),
    ('Agent', 'agent', CAST(strftime('%s', 'now') AS INTEGER) * 1000000);

WITH p (builtin, perm, scope) AS (VALUES
    ('owner', 'calls.history', 'any'),
    ('owner', 'recordings.listen', 'any'),
    ('owner', 'recordings.download', 'any'),
    ('owner', 'recordings.delete', 'any'),
    ('owner', 'calls.outbound', 'any'),
    ('owner', 'calls.monitor', 'any'),
    ('owner', 'users.view', 'any'),
    ('owner', 'users.manage', 'any'),
    ('owner', 'users.create', 'any'),
    ('owner', 'groups.manage', 'any'),
    ('owner', 'roles.manage', 'any'),
    ('owner', 'numbers.manage', 'any'),
    ('owner', 'settings.telephony', 'any'),
    ('owner', 'audit.view', 'any'),
    ('owner', 'contacts.view', 'any'),
    ('owner', 'contacts.manage', 'any'),
    ('owner', 'contacts.delete', 'any'),
    ('admin', 'calls.history', 'any'),
    ('admin', 'recordings.listen', 'any'),
    ('admin', 'recordings.download', 'any'),
    ('admin', 'recordings.delete', 'none'),
    ('admin', 'calls.outbound', 'any'),
    ('admin', 'calls.monitor', 'any'),
    ('admin', 'users.view', 'any'),
    ('admin', 'users.manage', 'any'),
    ('admin', 'users.create', 'none'),
    ('admin', 'groups.manage', 'any'),
    ('admin', 'roles.manage', 'none'),
    ('admin', 'numbers.manage', 'any'),
    ('admin', 'settings.telephony', 'any'),
    ('admin', 'audit.view', 'any'),
    ('admin', 'contacts.view', 'any'),
    ('admin', 'contacts.manage', 'any'),
    ('admin', 'contacts.delete', 'any'),
    ('agent', 'calls.history', 'own'),
    ('agent', 'recordings.listen', 'own'),
    ('agent', 'recordings.download', 'none'),
    ('agent', 'recordings.delete', 'none'),
    ('agent', 'calls.outbound', 'any'),
    ('agent', 'calls.monitor', 'none'),
    ('agent', 'users.view', 'own'),
    ('agent', 'users.manage', 'own'),
    ('agent', 'users.create', 'none'),
    ('agent', 'groups.manage', 'none'),
    ('agent', 'roles.manage', 'none'),
    ('agent', 'numbers.manage', 'none'),
    ('agent', 'settings.telephony', 'none'),
    ('agent', 'audit.view', 'none'),
    ('agent', 'contacts.view', 'own'),
    ('agent', 'contacts.manage', 'own'),
    ('agent', 'contacts.delete', 'own')
)
INSERT INTO role_perms (role_id, perm, scope)
SELECT r.id, p.perm, p.scope FROM roles r JOIN p ON p.builtin = r.builtin;

INSERT INTO settings (key, value)
SELECT 'users.default_role', CAST(id AS TEXT) FROM roles WHERE builtin = 'agent';

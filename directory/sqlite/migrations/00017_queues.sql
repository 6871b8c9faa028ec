-- Call queues: queues, their agents, the agents logged in,
-- and the queue columns of call rows. A queue's number is in the dial
-- plan with the extensions of users and groups: the triggers keep the
-- two apart (a clash is a unique violation on queues.number either way).

-- +goose Up
CREATE TABLE queues (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    number                TEXT    NOT NULL UNIQUE,
    name                  TEXT    NOT NULL,
    group_id              INTEGER REFERENCES groups (id) ON DELETE SET NULL,
    strategy              TEXT    NOT NULL DEFAULT 'ring_all',
    ring_seconds          INTEGER NOT NULL DEFAULT 20,
    max_wait_seconds      INTEGER NOT NULL DEFAULT 0,
    max_callers           INTEGER NOT NULL DEFAULT 0,
    wrap_up_seconds       INTEGER NOT NULL DEFAULT 0,
    overflow              TEXT    NOT NULL DEFAULT '',
    music                 TEXT    NOT NULL DEFAULT '',
    service_level_seconds INTEGER NOT NULL DEFAULT 20,
    created_at            INTEGER NOT NULL
) STRICT;
CREATE TABLE queue_members (
    queue_id INTEGER NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (queue_id, user_id)
) STRICT;
CREATE INDEX queue_members_user ON queue_members (user_id);
CREATE TABLE queue_agents (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    paused  INTEGER NOT NULL DEFAULT 0,
    reason  TEXT    NOT NULL DEFAULT ''
) STRICT;
-- A queue may not take a user's or group's extension (the stores check it
-- in the transaction: SQLite has one writer), nor a user or group a
-- queue's number: the insert below then fails on queues' unique number,
-- which the stores report as the extension taken.
-- +goose StatementBegin
CREATE TRIGGER extensions_not_queue BEFORE INSERT ON extensions
WHEN EXISTS (SELECT 1 FROM queues WHERE number = NEW.number)
BEGIN
    INSERT INTO queues (number, name, created_at) VALUES (NEW.number, '', 0);
END;
-- +goose StatementEnd
ALTER TABLE calls ADD COLUMN queue TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN queue_wait_ms INTEGER NOT NULL DEFAULT 0;

-- Permissions: queues.view (the live board and statistics) and
-- queues.manage (queues, their agents, agents' login state). Owners and
-- admins hold them at any; agents, and roles made by admins, hold none:
-- agents log in by phone.
INSERT INTO role_perms (role_id, perm, scope)
SELECT r.id, p.perm, CASE WHEN r.builtin IN ('owner', 'admin') THEN 'any' ELSE 'none' END
FROM roles r, (SELECT 'queues.view' AS perm UNION ALL SELECT 'queues.manage') p;

-- +goose Down
DELETE FROM user_perms WHERE perm IN ('queues.view', 'queues.manage');
DELETE FROM role_perms WHERE perm IN ('queues.view', 'queues.manage');
ALTER TABLE calls DROP COLUMN queue_wait_ms;
ALTER TABLE calls DROP COLUMN queue;
DROP TRIGGER extensions_not_queue;
DROP TABLE queue_agents;
DROP TABLE queue_members;
DROP TABLE queues;

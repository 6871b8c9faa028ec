-- Auto attendant: IVR menus. A menu's number is taken in
-- extensions, like a user's or a group's, so that the three never clash:
-- the table is rebuilt with a third owner column. options is the JSON
-- list of directory.IVROption.

-- +goose Up
CREATE TABLE ivr_menus (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    number         TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    greeting       TEXT    NOT NULL DEFAULT '',
    digit_timeout  INTEGER NOT NULL,
    max_tries      INTEGER NOT NULL,
    options        TEXT    NOT NULL DEFAULT '[]',
    timeout_action TEXT    NOT NULL,
    timeout_target TEXT    NOT NULL DEFAULT '',
    invalid_action TEXT    NOT NULL,
    invalid_target TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL
) STRICT;
CREATE TABLE extensions_new (
    number   TEXT PRIMARY KEY,
    user_id  INTEGER UNIQUE REFERENCES users (id),
    group_id INTEGER UNIQUE REFERENCES groups (id),
    menu_id  INTEGER UNIQUE REFERENCES ivr_menus (id) ON DELETE CASCADE,
    CHECK ((user_id IS NOT NULL) + (group_id IS NOT NULL) + (menu_id IS NOT NULL) = 1)
) STRICT;
INSERT INTO extensions_new (number, user_id, group_id) SELECT number, user_id, group_id FROM extensions;
DROP TABLE extensions;
ALTER TABLE extensions_new RENAME TO extensions;

-- +goose Down
DELETE FROM extensions WHERE menu_id IS NOT NULL;
CREATE TABLE extensions_old (
    number   TEXT PRIMARY KEY,
    user_id  INTEGER UNIQUE REFERENCES users (id),
    group_id INTEGER UNIQUE REFERENCES groups (id),
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
) STRICT;
INSERT INTO extensions_old (number, user_id, group_id) SELECT number, user_id, group_id FROM extensions;
DROP TABLE extensions;
ALTER TABLE extensions_old RENAME TO extensions;
DROP TABLE ivr_menus;

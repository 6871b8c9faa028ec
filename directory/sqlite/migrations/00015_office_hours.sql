-- Office hours: schedules, each optionally a department's, and
-- the inbound numbers that ring elsewhere outside them. hours and holidays
-- hold the text directory.ParseHours and ParseHolidays read.

-- +goose Up
CREATE TABLE schedules (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    group_id   INTEGER REFERENCES groups (id) ON DELETE SET NULL,
    time_zone  TEXT    NOT NULL DEFAULT 'UTC',
    hours      TEXT    NOT NULL DEFAULT '',
    holidays   TEXT    NOT NULL DEFAULT '',
    closed     INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX schedules_one_per_group ON schedules (group_id) WHERE group_id IS NOT NULL;
CREATE TABLE did_hours (
    number      TEXT    PRIMARY KEY,
    schedule_id INTEGER NOT NULL REFERENCES schedules (id),
    outside     TEXT    NOT NULL
) STRICT;
CREATE INDEX did_hours_schedule ON did_hours (schedule_id);

-- +goose Down
DROP TABLE did_hours;
DROP TABLE schedules;

-- A user's own time zone (an IANA name such as Europe/Warsaw); empty means
-- the company's, setting web.timezone.

-- +goose Up
ALTER TABLE users ADD COLUMN time_zone text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN time_zone;

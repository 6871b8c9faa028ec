-- Caller identity and registrations as carriers and RFC 3261 expect them.
-- hide_number: the user's calls out by a trunk present no number (an
-- anonymous From and Privacy: id; P-Asserted-Identity still names them).
-- bindings.direct: the REGISTER did not cross a NAT, so requests go to
-- the Contact; bindings.path: its Path header (RFC 3327), the Route set
-- of requests to the contact.

-- +goose Up
ALTER TABLE users ADD COLUMN hide_number INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bindings ADD COLUMN direct INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bindings ADD COLUMN path TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE bindings DROP COLUMN path;
ALTER TABLE bindings DROP COLUMN direct;
ALTER TABLE users DROP COLUMN hide_number;

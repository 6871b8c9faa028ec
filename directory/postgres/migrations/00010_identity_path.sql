-- Caller identity and registrations as carriers and RFC 3261 expect them.
-- hide_number: the user's calls out by a trunk present no number (an
-- anonymous From and Privacy: id; P-Asserted-Identity still names them).
-- bindings.direct: the REGISTER did not cross a NAT, so requests go to
-- the Contact; bindings.path: its Path header (RFC 3327), the Route set
-- of requests to the contact.

-- +goose Up
ALTER TABLE users ADD COLUMN hide_number boolean NOT NULL DEFAULT false;
ALTER TABLE bindings
	ADD COLUMN direct boolean NOT NULL DEFAULT false,
	ADD COLUMN path text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE bindings
	DROP COLUMN path,
	DROP COLUMN direct;
ALTER TABLE users DROP COLUMN hide_number;

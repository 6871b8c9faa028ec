-- Invitations by e-mail: the colleague's one-time link. The store keeps the
-- SHA-256 of the link's token only; used_at marks it spent.
--
-- The built-in Agent role calls outside numbers only when they are CRM
-- contacts or employees until an admin allows more. A new installation
-- (no user yet: nobody has chosen anything) gets that default; an
-- installation in use keeps what its agents may do today, since taking
-- calls away from working phones on upgrade is not ours to decide (the
-- role page shows the recommendation instead).

-- +goose Up
CREATE TABLE invites (
    id         bigserial PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    user_id    bigint NOT NULL CONSTRAINT invites_user_id_fkey REFERENCES users (id),
    created_by bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX invites_user_id ON invites (user_id);

UPDATE role_perms SET scope = 'crm_and_employees'
WHERE perm = 'calls.outbound' AND scope = 'any'
  AND role_id IN (SELECT id FROM roles WHERE builtin = 'agent')
  AND NOT EXISTS (SELECT 1 FROM users);

-- +goose Down
DROP TABLE invites;

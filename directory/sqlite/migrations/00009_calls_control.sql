-- calls.control: act on other people's calls (take over a call with an
-- INVITE carrying Replaces; later pickup). Owners and admins may, in any
-- scope; agents may not.

-- +goose Up
INSERT INTO role_perms (role_id, perm, scope)
SELECT r.id, 'calls.control', CASE r.builtin WHEN 'agent' THEN 'none' ELSE 'any' END
FROM roles r WHERE r.builtin IN ('owner', 'admin', 'agent');

-- +goose Down
DELETE FROM user_perms WHERE perm = 'calls.control';
DELETE FROM role_perms WHERE perm = 'calls.control';

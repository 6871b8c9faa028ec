-- calls.intercom now decides something: intercom (*90EXT) and paging
-- (*91GROUP), where the phone called answers by itself and its microphone
-- (intercom) or loudspeaker (paging) is open without anyone touching it.
-- The built-in Agent role reaches its own department (the members of the
-- groups the agent belongs to, subgroups included): a team calls and pages
-- each other, but an agent cannot open a phone in another department's
-- office. It was reserved at none, which nobody could have chosen for a
-- reason; a scope an admin set to anything else stays as it is.

-- +goose Up
UPDATE role_perms SET scope = 'department'
WHERE perm = 'calls.intercom' AND scope = 'none'
  AND role_id IN (SELECT id FROM roles WHERE builtin = 'agent');

-- +goose Down
UPDATE role_perms SET scope = 'none'
WHERE perm = 'calls.intercom' AND scope = 'department'
  AND role_id IN (SELECT id FROM roles WHERE builtin = 'agent');

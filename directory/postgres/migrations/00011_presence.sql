-- Seed 002, what a group may do together: presence.observe (see others'
-- status on busy lamps, presence and the dashboard), presence.share (let
-- others see one's own), calls.share (let watchers see who one talks to),
-- calls.intercom, calls.park and ivr.control. Owners and admins hold them
-- all at any; agents see, and show to, their department, may park, and
-- hold no intercom or IVR control. Roles made by admins get the agents'
-- scopes: a custom role without them would hold less than the agents it
-- manages, and its members could no longer manage them.

-- +goose Up
INSERT INTO role_perms (role_id, perm, scope)
SELECT r.id, p.perm, CASE WHEN r.builtin IN ('owner', 'admin') THEN 'any' ELSE p.agent END
FROM roles r,
     (SELECT 'presence.observe' AS perm, 'department' AS agent
      UNION ALL SELECT 'presence.share', 'department'
      UNION ALL SELECT 'calls.share', 'department'
      UNION ALL SELECT 'calls.intercom', 'none'
      UNION ALL SELECT 'calls.park', 'any'
      UNION ALL SELECT 'ivr.control', 'none') p;

-- +goose Down
DELETE FROM user_perms WHERE perm IN ('presence.observe', 'presence.share', 'calls.share', 'calls.intercom', 'calls.park', 'ivr.control');
DELETE FROM role_perms WHERE perm IN ('presence.observe', 'presence.share', 'calls.share', 'calls.intercom', 'calls.park', 'ivr.control');

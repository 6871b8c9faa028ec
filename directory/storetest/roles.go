package storetest

import (
	"maps"
	"strconv"

	"github.com/switchboard-pbx/switchboard/directory"
)

// The permissions the migrations give the built-in roles.
var (
	ownerPerms = map[string]string{
		"calls.history": "any", "recordings.listen": "any", "recordings.download": "any",
		"recordings.delete": "any", "calls.outbound": "any", "calls.monitor": "any", "calls.control": "any", "presence.observe": "any", "presence.share": "any", "calls.share": "any", "calls.intercom": "any", "calls.park": "any", "ivr.control": "any", "queues.view": "any", "queues.manage": "any", "users.view": "any",
		"users.manage": "any", "users.create": "any", "groups.manage": "any", "roles.manage": "any",
		"numbers.manage": "any", "settings.telephony": "any", "audit.view": "any", "contacts.view": "any",
		"contacts.manage": "any", "contacts.delete": "any",
	}
	adminPerms = map[string]string{
		"calls.history": "any", "recordings.listen": "any", "recordings.download": "any",
		"recordings.delete": "none", "calls.outbound": "any", "calls.monitor": "any", "calls.control": "any", "presence.observe": "any", "presence.share": "any", "calls.share": "any", "calls.intercom": "any", "calls.park": "any", "ivr.control": "any", "queues.view": "any", "queues.manage": "any", "users.view": "any",
		"users.manage": "any", "users.create": "none", "groups.manage": "any", "roles.manage": "none",
		"numbers.manage": "any", "settings.telephony": "any", "audit.view": "any", "contacts.view": "any",
		"contacts.manage": "any", "contacts.delete": "any",
	}
	agentPerms = map[string]string{
		"calls.history": "own", "recordings.listen": "own", "recordings.download": "none",
		"recordings.delete": "none", "calls.outbound": "crm_and_employees", "calls.monitor": "none", "calls.control": "none", "presence.observe": "department", "presence.share": "department", "calls.share": "department", "calls.intercom": "none", "calls.park": "any", "ivr.control": "none", "queues.view": "none", "queues.manage": "none", "users.view": "own",
		"users.manage": "own", "users.create": "none", "groups.manage": "none", "roles.manage": "none",
		"numbers.manage": "none", "settings.telephony": "none", "audit.view": "none", "contacts.view": "own",
		"contacts.manage": "own", "contacts.delete": "own",
	}
)

var roleTests = []test{
	{"the built-in roles exist with their permissions", func(e *env) {
		rs, err := e.s.Roles(e.ctx)
		e.ok(err, "roles")
		if len(rs) != 3 {
			e.t.Errorf("a fresh store has %d roles, want Owner, Admin and Agent", len(rs))
		}
		for _, c := range []struct {
			builtin, name string
			perms         map[string]string
		}{
			{directory.BuiltinOwner, "Owner", ownerPerms},
			{directory.BuiltinAdmin, "Admin", adminPerms},
			{directory.BuiltinAgent, "Agent", agentPerms},
		} {
			r := e.role(c.builtin)
			if r.Name != c.name || r.Builtin != c.builtin || r.ID == 0 {
				e.t.Errorf("built-in role %s: %+v", c.builtin, r)
			}
			e.perms(r.Perms, c.perms, c.name+" permissions")
			byID, err := e.s.Role(e.ctx, r.ID)
			e.ok(err, "role %d", r.ID)
			if byID.Name != c.name || byID.Builtin != c.builtin {
				e.t.Errorf("Role(%d): %+v", r.ID, byID)
			}
			e.perms(byID.Perms, c.perms, c.name+" permissions by ID")
			found := false
			for _, x := range rs {
				if x.ID == r.ID {
					found = true
					e.perms(x.Perms, c.perms, c.name+" permissions in Roles")
				}
			}
			if !found {
				e.t.Errorf("Roles lacks %s", c.name)
			}
		}
	}},
	{"create and read a custom role", func(e *env) {
		r := &directory.Role{Name: "Team lead", Perms: map[string]string{"calls.history": "department",
			"recordings.listen": "department", "calls.outbound": "crm"}}
		e.ok(e.s.CreateRole(e.ctx, r), "create role")
		if r.ID == 0 {
			e.t.Fatal("CreateRole set no ID")
		}
		got, err := e.s.Role(e.ctx, r.ID)
		e.ok(err, "role")
		if got.Name != "Team lead" || got.Builtin != "" || got.CreatedAt.IsZero() {
			e.t.Errorf("custom role read back: %+v", got)
		}
		e.perms(got.Perms, r.Perms, "custom role permissions")
		rs, err := e.s.Roles(e.ctx)
		e.ok(err, "roles")
		if len(rs) != 4 {
			e.t.Errorf("%d roles after creating one, want 4", len(rs))
		}
		empty := &directory.Role{Name: "Nothing"}
		e.ok(e.s.CreateRole(e.ctx, empty), "create a role with no permissions")
		got, err = e.s.Role(e.ctx, empty.ID)
		e.ok(err, "role")
		if len(got.Perms) != 0 {
			e.t.Errorf("role with no permissions reads back %v", got.Perms)
		}
	}},
	{"role names are unique", func(e *env) {
		e.ok(e.s.CreateRole(e.ctx, &directory.Role{Name: "Team lead"}), "create role")
		e.conflict(e.s.CreateRole(e.ctx, &directory.Role{Name: "Team lead"}), "name", "second Team lead")
		e.conflict(e.s.CreateRole(e.ctx, &directory.Role{Name: "Admin"}), "name", "custom role named Admin")
		r := &directory.Role{Name: "Billing"}
		e.ok(e.s.CreateRole(e.ctx, r), "create role")
		r.Name = "Team lead"
		e.conflict(e.s.UpdateRole(e.ctx, r, nil), "name", "rename to a name in use")
	}},
	{"built-in roles cannot be renamed or deleted", func(e *env) {
		for _, b := range []string{directory.BuiltinOwner, directory.BuiltinAdmin, directory.BuiltinAgent} {
			r := e.role(b)
			renamed := *r
			renamed.Name = "Boss " + b
			e.is(e.s.UpdateRole(e.ctx, &renamed, nil), directory.ErrBuiltinRole, "rename %s", b)
			if b != directory.BuiltinAgent { // Agent is the default role too
				e.is(e.s.DeleteRole(e.ctx, r.ID), directory.ErrBuiltinRole, "delete %s", b)
			} else if err := e.s.DeleteRole(e.ctx, r.ID); err == nil {
				e.t.Error("the Agent role was deleted")
			}
			if got := e.role(b); got.Name != r.Name {
				e.t.Errorf("%s renamed to %q", b, got.Name)
			}
		}
	}},
	{"Owner's permissions cannot change, Admin's and Agent's can", func(e *env) {
		owner := e.role(directory.BuiltinOwner)
		changed := *owner
		changed.Perms = maps.Clone(owner.Perms)
		changed.Perms["audit.view"] = "none"
		e.is(e.s.UpdateRole(e.ctx, &changed, nil), directory.ErrBuiltinRole, "edit Owner's permissions")
		e.perms(e.role(directory.BuiltinOwner).Perms, ownerPerms, "Owner after the refused edit")

		admin := e.role(directory.BuiltinAdmin)
		admin.Perms["recordings.delete"] = "any"
		e.ok(e.s.UpdateRole(e.ctx, admin, nil), "edit Admin's permissions")
		want := maps.Clone(adminPerms)
		want["recordings.delete"] = "any"
		e.perms(e.role(directory.BuiltinAdmin).Perms, want, "Admin after the edit")

		agent := e.role(directory.BuiltinAgent)
		delete(agent.Perms, "calls.outbound")
		e.ok(e.s.UpdateRole(e.ctx, agent, nil), "edit Agent's permissions")
		want = maps.Clone(agentPerms)
		delete(want, "calls.outbound")
		e.perms(e.role(directory.BuiltinAgent).Perms, want, "Agent after dropping a permission")
	}},
	{"UpdateRole renames a custom role and replaces its permissions", func(e *env) {
		r := &directory.Role{Name: "Team lead", Perms: map[string]string{"calls.history": "department",
			"audit.view": "any"}}
		e.ok(e.s.CreateRole(e.ctx, r), "create role")
		r.Name = "Supervisor"
		r.Perms = map[string]string{"calls.history": "any", "calls.monitor": "department"}
		e.ok(e.s.UpdateRole(e.ctx, r, nil), "update role")
		got, err := e.s.Role(e.ctx, r.ID)
		e.ok(err, "role")
		if got.Name != "Supervisor" {
			e.t.Errorf("name %q", got.Name)
		}
		e.perms(got.Perms, r.Perms, "permissions replaced, not merged")
	}},
	{"a role held by users cannot be deleted", func(e *env) {
		r := &directory.Role{Name: "Team lead"}
		e.ok(e.s.CreateRole(e.ctx, r), "create role")
		u := e.draft("10001")
		u.RoleIDs = []int64{r.ID}
		e.create(u)
		e.is(e.s.DeleteRole(e.ctx, r.ID), directory.ErrRoleInUse, "delete a role an active user holds")
		e.setState(u.ID, directory.UserBlocked)
		e.is(e.s.DeleteRole(e.ctx, r.ID), directory.ErrRoleInUse, "delete a role a blocked user holds")
		e.setState(u.ID, directory.UserDeleted)
		e.ok(e.s.DeleteRole(e.ctx, r.ID), "delete a role only a deleted user holds")
		_, err := e.s.Role(e.ctx, r.ID)
		e.is(err, directory.ErrNotFound, "a deleted role")
		e.is(e.s.DeleteRole(e.ctx, r.ID), directory.ErrNotFound, "delete a role twice")

		unused := &directory.Role{Name: "Unused", Perms: map[string]string{"audit.view": "any"}}
		e.ok(e.s.CreateRole(e.ctx, unused), "create role")
		e.ok(e.s.DeleteRole(e.ctx, unused.ID), "delete an unused role")
	}},
	{"the default role cannot be deleted", func(e *env) {
		r := &directory.Role{Name: "Trainee"}
		e.ok(e.s.CreateRole(e.ctx, r), "create role")
		e.ok(e.s.SetSetting(e.ctx, directory.SettingDefaultRole, strconv.FormatInt(r.ID, 10)), "make it the default")
		e.is(e.s.DeleteRole(e.ctx, r.ID), directory.ErrDefaultRole, "delete the default role")
		_, err := e.s.Role(e.ctx, r.ID)
		e.ok(err, "the default role is still there")
	}},
	{"UpdateRole with keep writes the members' overrides in the same call", func(e *env) {
		r := &directory.Role{Name: "Team lead", Perms: map[string]string{"calls.history": "department"}}
		e.ok(e.s.CreateRole(e.ctx, r), "create role")
		kept := e.draft("10001")
		kept.RoleIDs = []int64{r.ID}
		e.create(kept)
		live := e.draft("10002")
		live.RoleIDs = []int64{r.ID}
		e.create(live)
		e.ok(e.s.SetOverrides(e.ctx, kept.ID, map[string]string{"contacts.view": "any"}), "earlier override")

		r.Perms = map[string]string{"calls.history": "own"}
		keep := map[int64]map[string]string{kept.ID: {"calls.history": "department"}}
		e.ok(e.s.UpdateRole(e.ctx, r, keep), "update with keep")
		got, err := e.s.Role(e.ctx, r.ID)
		e.ok(err, "role")
		e.perms(got.Perms, map[string]string{"calls.history": "own"}, "role after the update")
		e.overrides(kept.ID, map[string]string{"contacts.view": "any", "calls.history": "department"},
			"kept member: the new override added to the existing one")
		e.overrides(live.ID, nil, "member not kept")

		r.Perms = map[string]string{"calls.history": "none"}
		e.ok(e.s.UpdateRole(e.ctx, r, nil), "update live")
		e.overrides(live.ID, nil, "nil keep writes nothing")
	}},
	{"a refused UpdateRole writes none of its overrides", func(e *env) {
		u := e.user("10001")
		owner := e.role(directory.BuiltinOwner)
		owner.Perms["audit.view"] = "none"
		err := e.s.UpdateRole(e.ctx, owner, map[int64]map[string]string{u.ID: {"audit.view": "any"}})
		e.is(err, directory.ErrBuiltinRole, "edit Owner with keep")
		e.overrides(u.ID, nil, "overrides after the refused update")

		r := &directory.Role{Name: "Team lead"}
		e.ok(e.s.CreateRole(e.ctx, r), "create role")
		e.ok(e.s.CreateRole(e.ctx, &directory.Role{Name: "Billing"}), "create role")
		r.Name = "Billing"
		err = e.s.UpdateRole(e.ctx, r, map[int64]map[string]string{u.ID: {"calls.history": "any"}})
		e.conflict(err, "name", "rename to a taken name with keep")
		e.overrides(u.ID, nil, "overrides after the refused rename")
	}},
	{"RoleMembers lists the users not deleted holding the role", func(e *env) {
		r := &directory.Role{Name: "Team lead"}
		e.ok(e.s.CreateRole(e.ctx, r), "create role")
		agent := e.role(directory.BuiltinAgent).ID
		var us []*directory.User
		for _, ext := range []string{"10001", "10002", "10003"} {
			u := e.draft(ext)
			u.RoleIDs = []int64{r.ID, agent}
			us = append(us, e.create(u))
		}
		plain := e.user("10004")
		e.setState(us[1].ID, directory.UserBlocked)
		e.setState(us[2].ID, directory.UserDeleted)
		got, err := e.s.RoleMembers(e.ctx, r.ID)
		e.ok(err, "role members")
		e.set(got, []int64{us[0].ID, us[1].ID}, "RoleMembers of Team lead")
		got, err = e.s.RoleMembers(e.ctx, agent)
		e.ok(err, "role members")
		e.set(got, []int64{us[0].ID, us[1].ID, plain.ID}, "RoleMembers of Agent")
		_, err = e.s.UpdateUser(e.ctx, us[0].ID, directory.UserPatch{RoleIDs: &[]int64{agent}})
		e.ok(err, "take the role away")
		got, err = e.s.RoleMembers(e.ctx, r.ID)
		e.ok(err, "role members")
		e.set(got, []int64{us[1].ID}, "RoleMembers after a user lost the role")
	}},
}

package storetest

import (
	"maps"

	"github.com/switchboard-pbx/switchboard/directory"
)

var accessTests = []test{
	{"Access carries the user, the roles with their permissions and the overrides", func(e *env) {
		lead := &directory.Role{Name: "Team lead", Perms: map[string]string{"calls.history": "department",
			"recordings.listen": "department"}}
		e.ok(e.s.CreateRole(e.ctx, lead), "create role")
		admin := e.role(directory.BuiltinAdmin)
		u := e.draft("10001")
		u.RoleIDs = []int64{admin.ID, lead.ID}
		e.create(u)
		e.ok(e.s.SetOverrides(e.ctx, u.ID, map[string]string{"audit.view": "none"}), "set overrides")

		acc, err := e.s.Access(e.ctx, u.ID)
		e.ok(err, "access")
		if acc.User.ID != u.ID || acc.User.Extension != "10001" || acc.User.State != directory.UserActive {
			e.t.Errorf("access user: %+v", acc.User)
		}
		if !maps.Equal(acc.Overrides, map[string]string{"audit.view": "none"}) {
			e.t.Errorf("overrides %v", acc.Overrides)
		}
		if len(acc.Roles) != 2 {
			e.t.Fatalf("access roles: %+v, want Admin and Team lead", acc.Roles)
		}
		for _, r := range acc.Roles {
			switch r.ID {
			case admin.ID:
				e.perms(r.Perms, adminPerms, "Admin role in Access")
				if r.Builtin != directory.BuiltinAdmin || r.Name != "Admin" {
					e.t.Errorf("Admin role in Access: %q %q", r.Name, r.Builtin)
				}
			case lead.ID:
				e.perms(r.Perms, lead.Perms, "Team lead role in Access")
				if r.Name != "Team lead" || r.Builtin != "" {
					e.t.Errorf("custom role in Access: %q %q", r.Name, r.Builtin)
				}
			default:
				e.t.Errorf("access role %d %q not held", r.ID, r.Name)
			}
		}
		o := e.owner("10002")
		acc, err = e.s.Access(e.ctx, o.ID)
		e.ok(err, "owner access")
		if len(acc.Roles) != 1 || acc.Roles[0].Builtin != directory.BuiltinOwner {
			e.t.Errorf("owner's roles in Access: %+v", acc.Roles)
		}
		if len(acc.Overrides) != 0 {
			e.t.Errorf("owner's overrides: %v", acc.Overrides)
		}
	}},
	{"seeds 001, 004: the department is the user's groups with all their subgroups", func(e *env) {
		// Sales ─┬─ North ── North City
		//        └─ South ── South City
		// Support
		sales := e.group("Sales", 0)
		north := e.group("North", sales.ID)
		northCity := e.group("North City", north.ID)
		south := e.group("South", sales.ID)
		southCity := e.group("South City", south.ID)
		support := e.group("Support", 0)

		uSales := e.user("10001", sales.ID)
		uNorth := e.user("10002", north.ID)
		uNorth2 := e.user("10003", north.ID)
		uNorthCity := e.user("10004", northCity.ID)
		uSouth := e.user("10005", south.ID)
		uSouthCity := e.user("10006", southCity.ID)
		uSupport := e.user("10007", support.ID)
		multi := e.user("10008", northCity.ID, support.ID)
		e.user("10009") // default group only

		for _, c := range []struct {
			name string
			u    *directory.User
			want []int64
		}{
			{"North: own group and subgroup, not the parent, sibling or cousin", uNorth,
				[]int64{uNorth.ID, uNorth2.ID, uNorthCity.ID, multi.ID}},
			{"Sales: the whole subtree", uSales,
				[]int64{uSales.ID, uNorth.ID, uNorth2.ID, uNorthCity.ID, uSouth.ID, uSouthCity.ID, multi.ID}},
			{"North City and Support: both groups", multi, []int64{uNorthCity.ID, uSupport.ID, multi.ID}},
			{"South City: a leaf with one member is the user alone", uSouthCity, []int64{uSouthCity.ID}},
			{"South: own group and subgroup", uSouth, []int64{uSouth.ID, uSouthCity.ID}},
		} {
			acc, err := e.s.Access(e.ctx, c.u.ID)
			e.ok(err, "access %s", c.name)
			e.ids(acc.Department, sorted(c.want), "department of %s (sorted)", c.name)
		}

		// Deleted members stay in the department, for history.
		e.setState(uNorth2.ID, directory.UserDeleted)
		acc, err := e.s.Access(e.ctx, uNorth.ID)
		e.ok(err, "access after a delete")
		e.ids(acc.Department, sorted([]int64{uNorth.ID, uNorth2.ID, uNorthCity.ID, multi.ID}),
			"department keeps a deleted member")

		// A user in no group is their own department.
		e.ok(e.s.RemoveMember(e.ctx, southCity.ID, uSouthCity.ID), "remove the only membership")
		acc, err = e.s.Access(e.ctx, uSouthCity.ID)
		e.ok(err, "access of a user in no group")
		e.ids(acc.Department, []int64{uSouthCity.ID}, "department of a user in no group: the user alone")

		// The department follows the tree when it changes.
		south.ParentID = north.ID
		e.ok(e.s.UpdateGroup(e.ctx, south), "move South under North")
		acc, err = e.s.Access(e.ctx, uNorth.ID)
		e.ok(err, "access after a move")
		e.ids(acc.Department, sorted([]int64{uNorth.ID, uNorth2.ID, uNorthCity.ID, multi.ID, uSouth.ID}),
			"department after South moved under North")
	}},
}

// perms reports the differences between two permission maps.
func (e *env) perms(got, want map[string]string, what string) {
	e.t.Helper()
	if maps.Equal(got, want) {
		return
	}
	for p, s := range want {
		if got[p] != s {
			e.t.Errorf("%s: %s = %q, want %q", what, p, got[p], s)
		}
	}
	for p, s := range got {
		if _, ok := want[p]; !ok {
			e.t.Errorf("%s: unexpected %s = %q", what, p, s)
		}
	}
}

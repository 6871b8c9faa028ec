package storetest

import (
	"slices"

	"github.com/switchboard-pbx/switchboard/directory"
)

var groupTests = []test{
	{"the default group exists from the start", func(e *env) {
		g := e.defaultGroup()
		if !g.Default || g.Name != "Default group" || g.ID == 0 || g.ParentID != 0 {
			e.t.Errorf("default group: %+v", g)
		}
		gs, err := e.s.Groups(e.ctx)
		e.ok(err, "groups")
		if len(gs) != 1 || gs[0].ID != g.ID || !gs[0].Default {
			e.t.Errorf("groups of a fresh store: %+v, want the default group alone", gs)
		}
	}},
	{"create and read a group", func(e *env) {
		sales := &directory.Group{Name: "Sales", Extension: "20000", Prefix: "2"}
		e.ok(e.s.CreateGroup(e.ctx, sales), "create group")
		if sales.ID == 0 {
			e.t.Fatal("CreateGroup set no ID")
		}
		north := &directory.Group{Name: "North", ParentID: sales.ID}
		e.ok(e.s.CreateGroup(e.ctx, north), "create subgroup")
		for _, want := range []*directory.Group{sales, north} {
			got, err := e.s.Group(e.ctx, want.ID)
			e.ok(err, "group %s", want.Name)
			e.sameGroup(got, want)
			if got.CreatedAt.IsZero() {
				e.t.Errorf("group %s has no creation time", want.Name)
			}
		}
		got, err := e.s.GroupByExtension(e.ctx, "20000")
		e.ok(err, "group by extension")
		e.sameGroup(got, sales)
		_, err = e.s.UserByExtension(e.ctx, "20000")
		e.is(err, directory.ErrNotFound, "a group's number is no user")
		e.user("10001")
		_, err = e.s.GroupByExtension(e.ctx, "10001")
		e.is(err, directory.ErrNotFound, "a user's number is no group")
	}},
	{"UpdateGroup changes name, parent, extension and prefix", func(e *env) {
		a := e.group("A", 0)
		b := e.group("B", 0)
		b.Name, b.ParentID, b.Extension, b.Prefix = "Bee", a.ID, "30000", "3"
		e.ok(e.s.UpdateGroup(e.ctx, b), "update")
		got, err := e.s.Group(e.ctx, b.ID)
		e.ok(err, "group")
		e.sameGroup(got, b)
		b.ParentID, b.Extension, b.Prefix = 0, "", ""
		e.ok(e.s.UpdateGroup(e.ctx, b), "back to top level, no number, no prefix")
		got, err = e.s.Group(e.ctx, b.ID)
		e.ok(err, "group")
		e.sameGroup(got, b)
	}},
	{"the parent must exist", func(e *env) {
		err := e.s.CreateGroup(e.ctx, &directory.Group{Name: "Orphan", ParentID: 987654})
		e.invalid(err, "parent", "create under a group that does not exist")
		g := e.group("Sales", 0)
		g.ParentID = 987654
		e.invalid(e.s.UpdateGroup(e.ctx, g), "parent", "move under a group that does not exist")
	}},
	{"Groups lists parents before children", func(e *env) {
		x := e.group("X", 0)
		y := e.group("Y", 0)
		z := e.group("Z", 0)
		// Make the tree Y > Z > X, against the order of the IDs.
		x.ParentID = z.ID
		e.ok(e.s.UpdateGroup(e.ctx, x), "move X under Z")
		z.ParentID = y.ID
		e.ok(e.s.UpdateGroup(e.ctx, z), "move Z under Y")
		w := e.group("W", x.ID)
		gs, err := e.s.Groups(e.ctx)
		e.ok(err, "groups")
		pos := make(map[int64]int)
		for i, g := range gs {
			pos[g.ID] = i
		}
		if len(gs) != 5 {
			e.t.Fatalf("%d groups, want 5: %+v", len(gs), gs)
		}
		for _, g := range gs {
			if g.ParentID == 0 {
				continue
			}
			p, ok := pos[g.ParentID]
			if !ok || p > pos[g.ID] {
				e.t.Errorf("group %s listed before its parent %d: %+v", g.Name, g.ParentID, gs)
			}
		}
		for _, c := range []struct {
			g      *directory.Group
			parent int64
		}{{x, z.ID}, {y, 0}, {z, y.ID}, {w, x.ID}} {
			if i, ok := pos[c.g.ID]; !ok || gs[i].ParentID != c.parent {
				e.t.Errorf("group %s in the list: parent %d, want %d", c.g.Name, gs[i].ParentID, c.parent)
			}
		}
	}},
	{"the default group cannot be renamed or deleted", func(e *env) {
		dg := e.defaultGroup()
		renamed := *dg
		renamed.Name = "Everyone"
		err := e.s.UpdateGroup(e.ctx, &renamed)
		e.is(err, directory.ErrDefaultGroup, "rename the default group")
		e.is(e.s.DeleteGroup(e.ctx, dg.ID), directory.ErrDefaultGroup, "delete the default group")
		// Its other fields may change.
		dg.Extension, dg.Prefix = "19999", "1"
		e.ok(e.s.UpdateGroup(e.ctx, dg), "give the default group a number and a prefix")
		got := e.defaultGroup()
		e.sameGroup(got, dg)
		if !got.Default {
			e.t.Error("the default group lost its flag")
		}
	}},
	{"a group is deleted only when it has no members and no subgroups", func(e *env) {
		g := e.group("Sales", 0)
		sub := e.group("North", g.ID)
		e.is(e.s.DeleteGroup(e.ctx, g.ID), directory.ErrGroupNotEmpty, "delete a group with a subgroup")
		e.ok(e.s.DeleteGroup(e.ctx, sub.ID), "delete the empty subgroup")
		u := e.user("10001", g.ID)
		e.is(e.s.DeleteGroup(e.ctx, g.ID), directory.ErrGroupNotEmpty, "delete a group with an active member")
		e.setState(u.ID, directory.UserBlocked)
		e.is(e.s.DeleteGroup(e.ctx, g.ID), directory.ErrGroupNotEmpty, "delete a group with a blocked member")
		e.ok(e.s.RemoveMember(e.ctx, g.ID, u.ID), "remove the member")
		e.ok(e.s.DeleteGroup(e.ctx, g.ID), "delete the empty group")
		_, err := e.s.Group(e.ctx, g.ID)
		e.is(err, directory.ErrNotFound, "a deleted group")
		e.is(e.s.DeleteGroup(e.ctx, g.ID), directory.ErrNotFound, "delete a group twice")
		e.get(u.ID) // the former member is still there
	}},
	{"a group whose members are all deleted can be deleted", func(e *env) {
		g := e.group("Sales", 0)
		u := e.user("10001", g.ID, e.defaultGroup().ID)
		e.setState(u.ID, directory.UserDeleted)
		e.ok(e.s.DeleteGroup(e.ctx, g.ID), "delete a group with only a deleted member")
		got := e.get(u.ID)
		if slices.Contains(got.GroupIDs, g.ID) {
			e.t.Errorf("deleted user still in the deleted group: %v", got.GroupIDs)
		}
	}},
	{"a group cannot move under itself or its subtree", func(e *env) {
		a := e.group("A", 0)
		b := e.group("B", a.ID)
		c := e.group("C", b.ID)
		for _, p := range []*directory.Group{a, b, c} {
			moved := *a
			moved.ParentID = p.ID
			e.invalid(e.s.UpdateGroup(e.ctx, &moved), "parent", "move A under %s", p.Name)
		}
		got, err := e.s.Group(e.ctx, a.ID)
		e.ok(err, "group")
		if got.ParentID != 0 {
			e.t.Errorf("A's parent after refused moves: %d", got.ParentID)
		}
		c.ParentID = a.ID
		e.ok(e.s.UpdateGroup(e.ctx, c), "move C up under A")
		b.ParentID = c.ID
		e.ok(e.s.UpdateGroup(e.ctx, b), "move B under its former child")
	}},
	{"a group's number is freed when it changes, is removed or the group is deleted", func(e *env) {
		g := &directory.Group{Name: "Sales", Extension: "20000"}
		e.ok(e.s.CreateGroup(e.ctx, g), "create group")
		g.Extension = "20001"
		e.ok(e.s.UpdateGroup(e.ctx, g), "change the number")
		_, err := e.s.GroupByExtension(e.ctx, "20000")
		e.is(err, directory.ErrNotFound, "old number")
		got, err := e.s.GroupByExtension(e.ctx, "20001")
		e.ok(err, "new number")
		if got.ID != g.ID {
			e.t.Errorf("new number finds group %d, want %d", got.ID, g.ID)
		}
		e.user("20000")
		g.Extension = ""
		e.ok(e.s.UpdateGroup(e.ctx, g), "remove the number")
		e.user("20001")
		h := &directory.Group{Name: "Support", Extension: "20002"}
		e.ok(e.s.CreateGroup(e.ctx, h), "create group")
		e.ok(e.s.DeleteGroup(e.ctx, h.ID), "delete group")
		e.user("20002")
		// Keeping its own number is no clash.
		k := &directory.Group{Name: "Billing", Extension: "20003"}
		e.ok(e.s.CreateGroup(e.ctx, k), "create group")
		k.Name = "Billing and accounts"
		e.ok(e.s.UpdateGroup(e.ctx, k), "rename a group that keeps its number")
	}},
	{"members: add, remove, deleted users left out", func(e *env) {
		g := e.group("Sales", 0)
		dg := e.defaultGroup().ID
		a := e.user("10001")
		b := e.user("10002")
		c := e.user("10003")
		for _, u := range []*directory.User{a, b, c} {
			e.ok(e.s.AddMember(e.ctx, g.ID, u.ID), "add %s", u.Extension)
		}
		e.members(g.ID, []int64{a.ID, b.ID, c.ID}, "after adding three")
		e.set(e.get(a.ID).GroupIDs, []int64{dg, g.ID}, "groups of a member")
		e.ok(e.s.RemoveMember(e.ctx, g.ID, b.ID), "remove")
		e.members(g.ID, []int64{a.ID, c.ID}, "after removing one")
		e.set(e.get(b.ID).GroupIDs, []int64{dg}, "groups of a removed member")
		e.setState(c.ID, directory.UserBlocked)
		e.members(g.ID, []int64{a.ID, c.ID}, "a blocked member")
		e.setState(a.ID, directory.UserDeleted)
		e.members(g.ID, []int64{c.ID}, "a deleted member")
		e.members(dg, []int64{b.ID, c.ID}, "default group")
	}},
	{"AddMember checks the group's prefix", func(e *env) {
		g := &directory.Group{Name: "Sales", Prefix: "2"}
		e.ok(e.s.CreateGroup(e.ctx, g), "create group")
		out := e.user("10001")
		e.invalid(e.s.AddMember(e.ctx, g.ID, out.ID), "extension", "add 10001 to a group with prefix 2")
		in := e.user("20001")
		e.ok(e.s.AddMember(e.ctx, g.ID, in.ID), "add 20001 to a group with prefix 2")
		e.members(g.ID, []int64{in.ID}, "after the refused member")
	}},
	{"a prefix change does not re-check the members", func(e *env) {
		g := e.group("Sales", 0)
		u := e.user("10001", g.ID)
		g.Prefix = "2"
		e.ok(e.s.UpdateGroup(e.ctx, g), "set a prefix the member does not match")
		got, err := e.s.Group(e.ctx, g.ID)
		e.ok(err, "group")
		if got.Prefix != "2" {
			e.t.Errorf("prefix %q", got.Prefix)
		}
		e.members(g.ID, []int64{u.ID}, "after the prefix change")
	}},
}

func (e *env) sameGroup(got, want *directory.Group) {
	e.t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.ParentID != want.ParentID ||
		got.Extension != want.Extension || got.Prefix != want.Prefix || got.Default != want.Default {
		e.t.Errorf("group read back\n got %+v\nwant %+v", got, want)
	}
}

func (e *env) members(groupID int64, want []int64, what string) {
	e.t.Helper()
	got, err := e.s.GroupMembers(e.ctx, groupID)
	e.ok(err, "group members")
	e.set(got, want, "GroupMembers %s", what)
}

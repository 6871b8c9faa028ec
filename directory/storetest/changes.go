package storetest

import (
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

var changeTests = []test{
	{"user changes are logged", func(e *env) {
		m := e.mark()
		u := e.user("10001")
		e.logged(m, "CreateUser", userChange(u.ID))
		m = e.mark()
		_, err := e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{Name: ptr("Anna")})
		e.check(err, "update user")
		e.logged(m, "UpdateUser name", userChange(u.ID))
		m = e.mark()
		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{RoleIDs: &[]int64{e.role(directory.BuiltinAdmin).ID}})
		e.check(err, "update user roles")
		e.logged(m, "UpdateUser roles", userChange(u.ID))
		g := e.group("Sales", 0)
		m = e.mark()
		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{GroupIDs: &[]int64{g.ID}})
		e.check(err, "update user groups")
		e.logged(m, "UpdateUser groups", userChange(u.ID))
		m = e.mark()
		e.check(e.s.SetUserState(e.ctx, u.ID, directory.UserBlocked), "block")
		e.logged(m, "SetUserState blocked", userChange(u.ID))
		m = e.mark()
		e.check(e.s.SetUserState(e.ctx, u.ID, directory.UserActive), "unblock")
		e.logged(m, "SetUserState active", userChange(u.ID))
		m = e.mark()
		e.check(e.s.SetPasswordHash(e.ctx, u.ID, e.hash), "set password hash")
		e.logged(m, "SetPasswordHash", userChange(u.ID))
		m = e.mark()
		e.check(e.s.SetSIPSecret(e.ctx, u.ID, directory.NewSIPSecret("10001", "x", "Secret-pw1")), "set SIP secret")
		e.logged(m, "SetSIPSecret", userChange(u.ID))
		m = e.mark()
		e.check(e.s.SetOverrides(e.ctx, u.ID, map[string]string{"audit.view": "none"}), "set overrides")
		e.logged(m, "SetOverrides", userChange(u.ID))
	}},
	{"role changes are logged", func(e *env) {
		role := func(id int64) directory.Change { return directory.Change{Kind: directory.ChangeRole, ID: id} }
		m := e.mark()
		r := &directory.Role{Name: "Team lead"}
		e.ok(e.s.CreateRole(e.ctx, r), "create role")
		e.logged(m, "CreateRole", role(r.ID))
		m = e.mark()
		r.Perms = map[string]string{"calls.history": "department"}
		e.check(e.s.UpdateRole(e.ctx, r, nil), "update role")
		e.logged(m, "UpdateRole", role(r.ID))
		m = e.mark()
		e.check(e.s.DeleteRole(e.ctx, r.ID), "delete role")
		e.logged(m, "DeleteRole", role(r.ID))
	}},
	{"group changes are logged", func(e *env) {
		group := func(id int64) directory.Change { return directory.Change{Kind: directory.ChangeGroup, ID: id} }
		m := e.mark()
		h := e.group("Support", 0)
		e.logged(m, "CreateGroup", group(h.ID))
		m = e.mark()
		h.Extension = "20000"
		e.check(e.s.UpdateGroup(e.ctx, h), "update group")
		e.logged(m, "UpdateGroup number", group(h.ID))
		v := e.user("10002")
		m = e.mark()
		e.check(e.s.AddMember(e.ctx, h.ID, v.ID), "add member")
		e.logged(m, "AddMember", group(h.ID))
		m = e.mark()
		e.check(e.s.RemoveMember(e.ctx, h.ID, v.ID), "remove member")
		e.logged(m, "RemoveMember", group(h.ID))
		m = e.mark()
		e.check(e.s.DeleteGroup(e.ctx, h.ID), "delete group")
		e.logged(m, "DeleteGroup", group(h.ID))
	}},
	{"binding changes are logged with their node", func(e *env) {
		b := binding("10001", "sip:10001@192.0.2.10:5062", fixedTime().Add(time.Hour))
		m := e.mark()
		e.check(e.s.PutBinding(e.ctx, b), "put binding")
		e.logged(m, "PutBinding", bindingChange("10001", "node-a"))
		m = e.mark()
		e.check(e.s.DeleteBinding(e.ctx, directory.Binding{Extension: "10001", Contact: b.Contact, Node: "node-b"}),
			"delete binding")
		e.logged(m, "DeleteBinding", bindingChange("10001", "node-b"))
		e.check(e.s.PutBinding(e.ctx, b), "put binding")
		m = e.mark()
		e.check(e.s.DeleteBindings(e.ctx, "10001", "node-c"), "delete bindings")
		e.logged(m, "DeleteBindings", bindingChange("10001", "node-c"))
	}},
	{"setting changes are logged", func(e *env) {
		m := e.mark()
		e.check(e.s.SetSetting(e.ctx, directory.SettingRecording, "all"), "set setting")
		e.logged(m, "SetSetting", directory.Change{Kind: directory.ChangeSetting, Key: directory.SettingRecording})
	}},
	{"deleting a user logs a user and a binding change", func(e *env) {
		u := e.user("10001")
		e.ok(e.s.PutBinding(e.ctx, binding("10001", "sip:10001@192.0.2.10:5062", fixedTime().Add(time.Hour))), "put binding")
		m := e.mark()
		e.setState(u.ID, directory.UserDeleted)
		e.logged(m, "SetUserState deleted", userChange(u.ID), bindingChange("10001", ""))
	}},
	{"a refused change logs nothing", func(e *env) {
		o := e.owner("10001")
		dup := e.draft("10001")
		dup.Email = "other@example.com"
		m := e.mark()
		e.is(e.s.CreateUser(e.ctx, dup), directory.ErrExtensionTaken, "duplicate extension")
		e.is(e.s.SetUserState(e.ctx, o.ID, directory.UserBlocked), directory.ErrLastOwner, "block the last owner")
		e.is(e.s.DeleteGroup(e.ctx, e.defaultGroup().ID), directory.ErrDefaultGroup, "delete the default group")
		e.is(e.s.SetSetting(e.ctx, directory.SettingRecording, "sometimes"), directory.ErrInvalid, "bad setting")
		e.logged(m, "refused changes")
	}},
	{"Seq increases and Changes pages through the log", func(e *env) {
		for i := range 6 {
			e.ok(e.s.SetSetting(e.ctx, directory.SettingRetentionDays, fmt.Sprint(i+1)), "set setting")
		}
		cs, err := e.s.Changes(e.ctx, 0, 1000)
		e.ok(err, "changes")
		if len(cs) < 6 {
			e.t.Fatalf("%d changes after 6 settings", len(cs))
		}
		e.increasing(cs, 0, "whole log")
		last, err := e.s.LastChange(e.ctx)
		e.ok(err, "last change")
		if last != cs[len(cs)-1].Seq {
			e.t.Errorf("LastChange %d, want the newest Seq %d", last, cs[len(cs)-1].Seq)
		}
		page, err := e.s.Changes(e.ctx, cs[1].Seq, 2)
		e.ok(err, "changes after the second")
		if len(page) != 2 || page[0].Seq != cs[2].Seq || page[1].Seq != cs[3].Seq {
			e.t.Errorf("Changes(after %d, limit 2): %+v, want Seqs %d and %d", cs[1].Seq, page, cs[2].Seq, cs[3].Seq)
		}
		page, err = e.s.Changes(e.ctx, last, 10)
		e.ok(err, "changes after the last")
		if len(page) != 0 {
			e.t.Errorf("Changes after the last: %+v", page)
		}
	}},
	{"PruneChanges drops old entries and Seq keeps increasing", func(e *env) {
		e.user("10001")
		e.user("10002")
		before, err := e.s.Changes(e.ctx, 0, 1000)
		e.ok(err, "changes")
		if len(before) == 0 {
			e.t.Fatal("no changes after creating two users")
		}
		last := before[len(before)-1].Seq
		e.ok(e.s.PruneChanges(e.ctx, time.Now().Add(-time.Hour)), "prune an hour ago")
		after, err := e.s.Changes(e.ctx, 0, 1000)
		e.ok(err, "changes")
		if len(after) != len(before) {
			e.t.Errorf("pruning before an hour ago left %d of %d entries", len(after), len(before))
		}
		e.ok(e.s.PruneChanges(e.ctx, time.Now().Add(time.Hour)), "prune everything")
		after, err = e.s.Changes(e.ctx, 0, 1000)
		e.ok(err, "changes")
		if len(after) != 0 {
			e.t.Errorf("pruning up to an hour from now left %d entries", len(after))
		}
		e.user("10003")
		cs, err := e.s.Changes(e.ctx, 0, 1000)
		e.ok(err, "changes")
		if len(cs) == 0 || cs[0].Seq <= last {
			e.t.Errorf("first change after pruning: %+v, want Seq > %d (followers hold the old Seqs)", cs, last)
		}
	}},
}

func userChange(id int64) directory.Change {
	return directory.Change{Kind: directory.ChangeUser, ID: id}
}

func bindingChange(ext, node string) directory.Change {
	return directory.Change{Kind: directory.ChangeBinding, Key: ext, Node: node}
}

// mark returns the Seq of the newest change.
func (e *env) mark() int64 {
	e.t.Helper()
	seq, err := e.s.LastChange(e.ctx)
	e.ok(err, "last change")
	return seq
}

// logged checks that the changes after mark contain want (a zero ID, an
// empty Key or Node match anything), and nothing when want is empty.
func (e *env) logged(mark int64, what string, want ...directory.Change) {
	e.t.Helper()
	got, err := e.s.Changes(e.ctx, mark, 1000)
	e.ok(err, "changes after %d", mark)
	e.increasing(got, mark, what)
	if len(want) == 0 && len(got) != 0 {
		e.t.Errorf("%s logged %+v, want nothing", what, got)
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			if g.Kind == w.Kind && (w.ID == 0 || g.ID == w.ID) && (w.Key == "" || g.Key == w.Key) &&
				(w.Node == "" || g.Node == w.Node) {
				found = true
			}
		}
		if !found {
			e.t.Errorf("%s logged %+v, want a change %+v", what, got, w)
		}
	}
	if len(got) > 0 {
		if last := e.mark(); last != got[len(got)-1].Seq {
			e.t.Errorf("%s: LastChange %d, want the newest Seq %d", what, last, got[len(got)-1].Seq)
		}
	}
}

// increasing checks that cs come oldest first after seq, with times.
func (e *env) increasing(cs []directory.Change, after int64, what string) {
	e.t.Helper()
	prev := after
	for _, c := range cs {
		if c.Seq <= prev {
			e.t.Errorf("%s: Seq %d after %d, want increasing: %+v", what, c.Seq, prev, cs)
		}
		prev = c.Seq
		if d := time.Since(c.At); c.At.IsZero() || d > 24*time.Hour || d < -24*time.Hour {
			e.t.Errorf("%s: change %d at %v, want about now", what, c.Seq, c.At)
		}
	}
}

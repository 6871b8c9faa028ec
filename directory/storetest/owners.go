package storetest

import (
	"fmt"

	"github.com/switchboard-pbx/switchboard/directory"
)

var ownerTests = []test{
	{"the last owner can be neither blocked, deleted nor demoted", func(e *env) {
		o := e.owner("10001")
		admin := e.draft("10002")
		admin.RoleIDs = []int64{e.role(directory.BuiltinAdmin).ID}
		e.create(admin) // an admin is no owner
		e.lastOwner(e.s.SetUserState(e.ctx, o.ID, directory.UserBlocked), "block the last owner")
		e.lastOwner(e.s.SetUserState(e.ctx, o.ID, directory.UserDeleted), "delete the last owner")
		_, err := e.s.UpdateUser(e.ctx, o.ID, directory.UserPatch{RoleIDs: &[]int64{e.role(directory.BuiltinAdmin).ID}})
		e.lastOwner(err, "demote the last owner")
		got := e.get(o.ID)
		if got.State != directory.UserActive {
			e.t.Errorf("last owner's state %q after refusals, want active", got.State)
		}
		e.ids(got.RoleIDs, []int64{e.role(directory.BuiltinOwner).ID}, "last owner's roles after refusals")
		// Other edits of the last owner are fine, a second role too.
		owner, adminID := e.role(directory.BuiltinOwner).ID, e.role(directory.BuiltinAdmin).ID
		_, err = e.s.UpdateUser(e.ctx, o.ID, directory.UserPatch{Name: ptr("Olivia"), RoleIDs: &[]int64{owner, adminID}})
		e.ok(err, "rename the last owner and add a role")
	}},
	{"another active owner lets an owner go", func(e *env) {
		a := e.owner("10001")
		b := e.owner("10002")
		owner, agent := e.role(directory.BuiltinOwner).ID, e.role(directory.BuiltinAgent).ID
		e.setState(a.ID, directory.UserBlocked)
		e.setState(a.ID, directory.UserActive)
		_, err := e.s.UpdateUser(e.ctx, a.ID, directory.UserPatch{RoleIDs: &[]int64{agent}})
		e.ok(err, "demote one of two owners")
		e.lastOwner(e.s.SetUserState(e.ctx, b.ID, directory.UserDeleted), "delete the one owner left")
		_, err = e.s.UpdateUser(e.ctx, a.ID, directory.UserPatch{RoleIDs: &[]int64{owner}})
		e.ok(err, "promote again")
		e.setState(b.ID, directory.UserDeleted)
		e.lastOwner(e.s.SetUserState(e.ctx, a.ID, directory.UserBlocked), "block the owner left after a delete")
	}},
	{"a blocked or deleted owner is no remaining owner", func(e *env) {
		a := e.owner("10001")
		blocked := e.owner("10002")
		deleted := e.owner("10003")
		e.setState(blocked.ID, directory.UserBlocked)
		e.setState(deleted.ID, directory.UserDeleted)
		e.lastOwner(e.s.SetUserState(e.ctx, a.ID, directory.UserBlocked), "block the only active owner")
		e.lastOwner(e.s.SetUserState(e.ctx, a.ID, directory.UserDeleted), "delete the only active owner")
		_, err := e.s.UpdateUser(e.ctx, a.ID, directory.UserPatch{RoleIDs: &[]int64{e.role(directory.BuiltinAgent).ID}})
		e.lastOwner(err, "demote the only active owner")
		// The blocked owner may go: the active one stays.
		e.setState(blocked.ID, directory.UserDeleted)
	}},
	{"concurrent changes of the last two owners: exactly one wins", func(e *env) {
		a := e.owner("10001")
		b := e.owner("10002")
		owner, agent := e.role(directory.BuiltinOwner).ID, e.role(directory.BuiltinAgent).ID
		block := func(id int64) error { return e.s.SetUserState(e.ctx, id, directory.UserBlocked) }
		demote := func(id int64) error {
			_, err := e.s.UpdateUser(e.ctx, id, directory.UserPatch{RoleIDs: &[]int64{agent}})
			return err
		}
		restore := func(id int64) {
			e.t.Helper()
			if e.get(id).State == directory.UserBlocked {
				e.setState(id, directory.UserActive)
			}
			_, err := e.s.UpdateUser(e.ctx, id, directory.UserPatch{RoleIDs: &[]int64{owner}})
			e.ok(err, "restore owner %d", id)
		}
		ops := []struct {
			name   string
			fa, fb func(int64) error
		}{
			{"block both", block, block},
			{"block one, demote the other", block, demote},
			{"demote both", demote, demote},
			{"demote one, block the other", demote, block},
		}
		for round := range 3 {
			for _, op := range ops {
				errs := race(2, func(i int) error {
					if i == 0 {
						return op.fa(a.ID)
					}
					return op.fb(b.ID)
				})
				e.oneWins(errs, directory.ErrLastOwner, fmt.Sprintf("round %d: %s", round, op.name))
				restore(a.ID)
				restore(b.ID)
			}
		}
	}},
	{"HasOwner", func(e *env) {
		e.hasOwner(false, "fresh store")
		e.user("10001")
		e.hasOwner(false, "an agent")
		a := e.owner("10002")
		e.hasOwner(true, "an owner")
		b := e.owner("10003")
		e.setState(a.ID, directory.UserDeleted)
		e.hasOwner(true, "one of two owners deleted")
		e.setState(e.owner("10004").ID, directory.UserActive)
		e.setState(b.ID, directory.UserBlocked)
		e.hasOwner(true, "a blocked owner and an active one")
	}},
}

// lastOwner reports an error unless err is ErrLastOwner.
func (e *env) lastOwner(err error, what string) {
	e.t.Helper()
	if e.is(err, directory.ErrLastOwner, "%s", what) {
		e.conflict(err, "owner", "%s", what)
	}
}

func (e *env) hasOwner(want bool, what string) {
	e.t.Helper()
	has, err := e.s.HasOwner(e.ctx)
	e.ok(err, "has owner")
	if has != want {
		e.t.Errorf("HasOwner with %s: %v, want %v", what, has, want)
	}
}

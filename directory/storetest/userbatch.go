package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

// batch returns n drafts with extensions from first on.
func (e *env) batch(first, n int) []*directory.User {
	us := make([]*directory.User, n)
	for i := range us {
		us[i] = e.draft(fmt.Sprint(first + i))
	}
	return us
}

// refusedAt reports an error unless err is a *RowError at index whose
// error is about field; kind is directory.ErrConflict or ErrInvalid.
func (e *env) refusedAt(err error, index int, kind error, field, what string) {
	e.t.Helper()
	var re *directory.RowError
	if !errors.As(err, &re) {
		e.t.Errorf("%s: error %v, want a *RowError at index %d", what, err, index)
		return
	}
	if re.Index != index {
		e.t.Errorf("%s: refused at index %d (%v), want %d", what, re.Index, err, index)
	}
	if kind == directory.ErrConflict {
		e.conflict(err, field, "%s", what)
	} else {
		e.invalid(err, field, "%s", what)
	}
}

// countAll counts users in every state.
func (e *env) countAll() int {
	e.t.Helper()
	n, err := e.s.CountUsers(e.ctx, directory.UserFilter{Vis: directory.Visibility{All: true},
		States: []directory.UserState{directory.UserActive, directory.UserBlocked, directory.UserDeleted}})
	e.ok(err, "count users")
	return n
}

// nothingStored checks that a refused batch left no user, number or change.
func (e *env) nothingStored(us []*directory.User, users int, mark int64, what string) {
	e.t.Helper()
	if n := e.countAll(); n != users {
		e.t.Errorf("%s: %d users stored, want %d (all or none)", what, n, users)
	}
	e.logged(mark, what)
	for _, u := range us {
		if u.ID != 0 {
			e.t.Errorf("%s: user %s was given ID %d", what, u.Extension, u.ID)
		}
	}
}

var userBatchTests = []test{
	{"batch: every user stored with the default role and group, one change each", func(e *env) {
		mark := e.mark()
		us := e.batch(10001, 50)
		e.ok(e.s.CreateUsers(e.ctx, us), "create 50 users")
		agent, def := e.role(directory.BuiltinAgent).ID, e.defaultGroup().ID
		var want []directory.Change
		seen := map[int64]bool{}
		for _, u := range us {
			if u.ID == 0 || seen[u.ID] || u.CreatedAt.IsZero() || u.State != directory.UserActive {
				e.t.Fatalf("user %s after the batch: ID %d (seen %v), created %v, state %q", u.Extension, u.ID,
					seen[u.ID], u.CreatedAt, u.State)
			}
			seen[u.ID] = true
			got := e.get(u.ID)
			e.ids(got.RoleIDs, []int64{agent}, "user %s holds the default role", u.Extension)
			e.ids(got.GroupIDs, []int64{def}, "user %s is in the default group", u.Extension)
			e.ids(u.RoleIDs, got.RoleIDs, "roles set on the batch's user %s", u.Extension)
			e.ids(u.GroupIDs, got.GroupIDs, "groups set on the batch's user %s", u.Extension)
			if got.SIP != u.SIP || got.PasswordHash != u.PasswordHash || got.Email != u.Email {
				e.t.Errorf("user %s read back: %+v, want secrets and email as given", u.Extension, got)
			}
			want = append(want, userChange(u.ID))
		}
		// Running nodes learn of the new extensions from the change log.
		e.logged(mark, "a batch of 50", want...)
		byExt, err := e.s.UserByExtension(e.ctx, "10050")
		e.ok(err, "user by extension of the last of the batch")
		if byExt.ID != us[49].ID {
			e.t.Errorf("extension 10050 is user %d, want %d", byExt.ID, us[49].ID)
		}
		sip, err := e.s.SIPUsers(e.ctx)
		e.ok(err, "SIP users")
		if len(sip) != 50 {
			e.t.Errorf("%d SIP users, want 50", len(sip))
		}
	}},
	{"batch: roles, groups and blocked state are kept", func(e *env) {
		sales := e.group("Sales", 0)
		admin, agent := e.role(directory.BuiltinAdmin).ID, e.role(directory.BuiltinAgent).ID
		us := e.batch(10001, 3)
		us[0].RoleIDs, us[0].GroupIDs = []int64{agent, admin, admin}, []int64{sales.ID, e.defaultGroup().ID}
		us[1].GroupIDs = []int64{sales.ID}
		us[2].State = directory.UserBlocked
		e.ok(e.s.CreateUsers(e.ctx, us), "create users")
		got := e.get(us[0].ID)
		e.ids(got.RoleIDs, sorted([]int64{admin, agent}), "roles of the first user")
		e.ids(got.GroupIDs, sorted([]int64{sales.ID, e.defaultGroup().ID}), "groups of the first user")
		e.ids(us[0].RoleIDs, got.RoleIDs, "roles set on the first user")
		e.ids(e.get(us[1].ID).GroupIDs, []int64{sales.ID}, "groups of the second user")
		e.members(sales.ID, []int64{us[0].ID, us[1].ID}, "Sales after the batch")
		if st := e.get(us[2].ID).State; st != directory.UserBlocked {
			e.t.Errorf("third user is %s, want blocked", st)
		}
	}},
	{"batch: an empty batch stores nothing", func(e *env) {
		mark := e.mark()
		e.ok(e.s.CreateUsers(e.ctx, nil), "create no users")
		e.nothingStored(nil, 0, mark, "an empty batch")
	}},
	{"batch: all or none, a taken extension in the middle", func(e *env) {
		e.named("Zed", "zed@example.com", "10005")
		mark := e.mark()
		us := e.batch(10001, 10) // 10005 is the fifth
		err := e.s.CreateUsers(e.ctx, us)
		e.refusedAt(err, 4, directory.ErrConflict, "extension", "a batch holding a stored user's extension")
		e.is(err, directory.ErrExtensionTaken, "a batch holding a stored user's extension")
		e.nothingStored(us, 1, mark, "a batch refused in the middle")
		// Every number of the batch but 10005 is still free.
		us = slices.Delete(e.batch(10001, 10), 4, 5)
		e.ok(e.s.CreateUsers(e.ctx, us), "the batch without the taken extension")
		if n := e.countAll(); n != 10 {
			e.t.Errorf("%d users after the corrected batch, want 10", n)
		}
	}},
	{"batch: all or none, a group's extension", func(e *env) {
		e.ok(e.s.CreateGroup(e.ctx, &directory.Group{Name: "Sales", Extension: "10003"}), "group with 10003")
		mark := e.mark()
		us := e.batch(10001, 5)
		e.refusedAt(e.s.CreateUsers(e.ctx, us), 2, directory.ErrConflict, "extension", "a batch holding a group's number")
		e.nothingStored(us, 0, mark, "a batch holding a group's number")
	}},
	{"batch: all or none, a taken email in the middle", func(e *env) {
		e.named("Anna", "anna@example.com", "20000")
		mark := e.mark()
		us := e.batch(10001, 6)
		us[3].Email = "anna@example.com"
		e.refusedAt(e.s.CreateUsers(e.ctx, us), 3, directory.ErrConflict, "email", "a batch holding a stored email")
		e.nothingStored(us, 1, mark, "a batch holding a stored email")
	}},
	{"batch: all or none, an extension twice in the batch", func(e *env) {
		mark := e.mark()
		us := e.batch(10001, 6)
		us[4].Extension = "10002"
		us[4].SIP = directory.NewSIPSecret("10002", "switchboard.local", "Ext-pass-1!")
		e.refusedAt(e.s.CreateUsers(e.ctx, us), 4, directory.ErrConflict, "extension", "an extension twice in a batch")
		e.nothingStored(us, 0, mark, "an extension twice in a batch")
	}},
	{"batch: all or none, an email twice in the batch", func(e *env) {
		mark := e.mark()
		us := e.batch(10001, 6)
		us[5].Email = us[1].Email
		e.refusedAt(e.s.CreateUsers(e.ctx, us), 5, directory.ErrConflict, "email", "an email twice in a batch")
		e.nothingStored(us, 0, mark, "an email twice in a batch")
	}},
	{"batch: a member outside the group's prefix refuses the batch", func(e *env) {
		g := &directory.Group{Name: "Sales", Prefix: "2"}
		e.ok(e.s.CreateGroup(e.ctx, g), "group with prefix 2")
		mark := e.mark()
		us := e.batch(20001, 4)
		for _, u := range us {
			u.GroupIDs = []int64{g.ID}
		}
		us[2] = e.draft("10003")
		us[2].GroupIDs = []int64{g.ID}
		err := e.s.CreateUsers(e.ctx, us)
		e.refusedAt(err, 2, directory.ErrInvalid, "extension", "extension 10003 into a group with prefix 2")
		if err != nil && !strings.Contains(err.Error(), "must start with 2") {
			e.t.Errorf("refusal %q does not say which prefix", err)
		}
		e.nothingStored(us, 0, mark, "a batch with a member outside the prefix")
	}},
	{"batch: the default group's prefix applies to users without groups", func(e *env) {
		def := e.defaultGroup()
		def.Prefix = "3"
		e.ok(e.s.UpdateGroup(e.ctx, def), "give the default group prefix 3")
		mark := e.mark()
		us := []*directory.User{e.draft("30001"), e.draft("40001")}
		e.refusedAt(e.s.CreateUsers(e.ctx, us), 1, directory.ErrInvalid, "extension", "40001 into the default group with prefix 3")
		e.nothingStored(us, 0, mark, "a batch outside the default group's prefix")
	}},
	{"batch: an unknown role or group refuses the batch", func(e *env) {
		us := e.batch(10001, 3)
		us[1].RoleIDs = []int64{987654}
		e.refusedAt(e.s.CreateUsers(e.ctx, us), 1, directory.ErrInvalid, "roles", "an unknown role")
		us = e.batch(10001, 3)
		us[2].GroupIDs = []int64{987654}
		e.refusedAt(e.s.CreateUsers(e.ctx, us), 2, directory.ErrInvalid, "groups", "an unknown group")
		e.nothingStored(us, 0, 0, "batches with unknown roles and groups")
	}},
	{"batch: a deleted state is refused", func(e *env) {
		us := e.batch(10001, 2)
		us[1].State = directory.UserDeleted
		e.refusedAt(e.s.CreateUsers(e.ctx, us), 1, directory.ErrInvalid, "state", "a user created deleted")
		e.nothingStored(us, 0, 0, "a batch with a deleted user")
	}},
	{"batch: a thousand users in one go", func(e *env) {
		us := e.batch(100000, 1000)
		e.ok(e.s.CreateUsers(e.ctx, us), "create 1000 users")
		if n := e.countAll(); n != 1000 {
			e.t.Errorf("%d users, want 1000", n)
		}
		e.listUsers(directory.UserFilter{Search: "100999", Vis: directory.Visibility{All: true}},
			[]int64{us[999].ID}, "the last of a thousand")
	}},
}

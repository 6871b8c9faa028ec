package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

var userTests = []test{
	{"create sets ID, times, the default role and the default group", func(e *env) {
		u := e.user("10001")
		if u.ID == 0 || u.CreatedAt.IsZero() || u.UpdatedAt.IsZero() {
			e.t.Fatalf("created user: ID %d, created %v, updated %v; want all set", u.ID, u.CreatedAt, u.UpdatedAt)
		}
		got := e.get(u.ID)
		e.ids(got.RoleIDs, []int64{e.role(directory.BuiltinAgent).ID}, "empty RoleIDs get the default role (Agent)")
		e.ids(got.GroupIDs, []int64{e.defaultGroup().ID}, "empty GroupIDs get the default group")
		e.sameTime(got.CreatedAt, u.CreatedAt, "created at read back")
		v := e.user("10002")
		if v.ID == u.ID {
			e.t.Errorf("two users got ID %d", u.ID)
		}
	}},
	{"create keeps every field", func(e *env) {
		sales := e.group("Sales", 0)
		u := e.draft("10001")
		u.Name, u.Email, u.Mobile, u.CallerID = "Anna Nowak", "anna@example.com", "+48601000200", "+48221234567"
		u.Notes, u.Language = "night shift\nline two", "pl"
		u.RoleIDs = []int64{e.role(directory.BuiltinAdmin).ID, e.role(directory.BuiltinAgent).ID}
		u.GroupIDs = []int64{sales.ID, e.defaultGroup().ID}
		e.create(u)
		want := *u
		e.sameUser(e.get(u.ID), &want, "User")
		byEmail, err := e.s.UserByEmail(e.ctx, "anna@example.com")
		e.ok(err, "user by email")
		e.sameUser(byEmail, &want, "UserByEmail")
		byExt, err := e.s.UserByExtension(e.ctx, "10001")
		e.ok(err, "user by extension")
		e.sameUser(byExt, &want, "UserByExtension")
	}},
	{"create keeps the SIP device limit and allowed networks", func(e *env) {
		u := e.draft("10001")
		u.SIPMaxDevices = 3
		u.SIPAllowedNets = []string{"192.0.2.0/24", "2001:db8::/32"}
		e.create(u)
		got := e.get(u.ID)
		if got.SIPMaxDevices != 3 || !slices.Equal(sortedStrings(got.SIPAllowedNets), []string{"192.0.2.0/24", "2001:db8::/32"}) {
			e.t.Errorf("SIP limits read back: max devices %d, nets %q; want 3, [192.0.2.0/24 2001:db8::/32]",
				got.SIPMaxDevices, got.SIPAllowedNets)
		}
		sip, err := e.s.SIPUsers(e.ctx)
		e.ok(err, "SIP users")
		if len(sip) != 1 || sip[0].SIPMaxDevices != 3 || len(sip[0].SIPAllowedNets) != 2 {
			e.t.Errorf("SIPUsers does not carry the SIP limits: %+v", sip)
		}
	}},
	{"email is unique among users not deleted", func(e *env) {
		e.named("Anna", directory.NormalizeEmail(" Anna@Example.com "), "10001")
		dup := e.draft("10002")
		dup.Email = directory.NormalizeEmail("ANNA@example.COM")
		err := e.s.CreateUser(e.ctx, dup)
		e.conflict(err, "email", "second user with the same (normalized) email")
		e.is(err, directory.ErrConflict, "duplicate email")
	}},
	{"SIPAccount gives the holder, state and secret of an extension, not a deleted one's", func(e *env) {
		u := e.user("10001")
		a, err := e.s.SIPAccount(e.ctx, "10001")
		e.ok(err, "sip account")
		if a.UserID != u.ID || a.State != directory.UserActive || a.SIP != u.SIP {
			e.t.Errorf("SIPAccount = %+v, want user %d active with its secret", a, u.ID)
		}
		e.setState(u.ID, directory.UserBlocked)
		if a, err := e.s.SIPAccount(e.ctx, "10001"); err != nil || a.State != directory.UserBlocked {
			e.t.Errorf("blocked: %+v %v", a, err)
		}
		e.setState(u.ID, directory.UserDeleted)
		_, err = e.s.SIPAccount(e.ctx, "10001")
		e.is(err, directory.ErrNotFound, "sip account of a deleted user")
		_, err = e.s.SIPAccount(e.ctx, "19999")
		e.is(err, directory.ErrNotFound, "sip account of an unknown extension")
	}},
	{"a refused create leaves nothing behind", func(e *env) {
		e.named("Anna", "anna@example.com", "10001")
		dup := e.draft("10002")
		dup.Email = "anna@example.com"
		e.conflict(e.s.CreateUser(e.ctx, dup), "email", "duplicate email")
		bad := e.draft("10003")
		bad.RoleIDs = []int64{987654}
		e.invalid(e.s.CreateUser(e.ctx, bad), "roles", "unknown role")
		// The numbers of the refused users are still free.
		e.user("10002")
		e.user("10003")
		_, err := e.s.UserByEmail(e.ctx, "u10002@example.com")
		e.ok(err, "user created after the refused one")
	}},
	{"extension unique between users", func(e *env) {
		e.user("10001")
		dup := e.draft("10001")
		dup.Email = "other@example.com"
		err := e.s.CreateUser(e.ctx, dup)
		e.is(err, directory.ErrExtensionTaken, "second user with extension 10001")
		e.conflict(err, "extension", "second user with extension 10001")
	}},
	{"extension unique across users and groups, user first", func(e *env) {
		e.user("10001")
		err := e.s.CreateGroup(e.ctx, &directory.Group{Name: "Sales", Extension: "10001"})
		e.is(err, directory.ErrExtensionTaken, "group with a user's number")
		g := e.group("Support", 0)
		g.Extension = "10001"
		e.is(e.s.UpdateGroup(e.ctx, g), directory.ErrExtensionTaken, "group given a user's number")
	}},
	{"extension unique across users and groups, group first", func(e *env) {
		g := &directory.Group{Name: "Sales", Extension: "20000"}
		e.ok(e.s.CreateGroup(e.ctx, g), "create group")
		e.is(e.s.CreateUser(e.ctx, e.draft("20000")), directory.ErrExtensionTaken, "user with a group's number")
		err := e.s.CreateGroup(e.ctx, &directory.Group{Name: "Support", Extension: "20000"})
		e.is(err, directory.ErrExtensionTaken, "two groups with one number")
	}},
	{"concurrent creates of one extension: exactly one wins", func(e *env) {
		errs := race(8, func(i int) error {
			u := e.draft("10001")
			u.Email = "racer" + string(rune('a'+i)) + "@example.com"
			return e.s.CreateUser(e.ctx, u)
		})
		e.oneWins(errs, directory.ErrExtensionTaken, "8 users with extension 10001")
		users, err := e.s.Users(e.ctx, directory.UserFilter{Vis: directory.Visibility{All: true}})
		e.ok(err, "users")
		if len(users) != 1 {
			e.t.Errorf("%d users stored after the race, want 1", len(users))
		}
	}},
	{"concurrent users and groups on one extension: exactly one wins", func(e *env) {
		errs := race(8, func(i int) error {
			if i%2 == 0 {
				u := e.draft("20000")
				u.Email = "racer" + string(rune('a'+i)) + "@example.com"
				return e.s.CreateUser(e.ctx, u)
			}
			return e.s.CreateGroup(e.ctx, &directory.Group{Name: "Racers " + string(rune('a'+i)), Extension: "20000"})
		})
		e.oneWins(errs, directory.ErrExtensionTaken, "4 users and 4 groups with number 20000")
	}},
	{"create outside a group's prefix is refused", func(e *env) {
		g := &directory.Group{Name: "Sales", Prefix: "2"}
		e.ok(e.s.CreateGroup(e.ctx, g), "create group")
		bad := e.draft("10001")
		bad.GroupIDs = []int64{g.ID}
		e.invalid(e.s.CreateUser(e.ctx, bad), "extension", "user 10001 in a group with prefix 2")
		e.user("20001", g.ID)
		// The refused number was not kept.
		e.user("10001")
	}},
	{"UpdateUser into a group with another prefix is refused", func(e *env) {
		g := &directory.Group{Name: "Sales", Prefix: "2"}
		e.ok(e.s.CreateGroup(e.ctx, g), "create group")
		u := e.user("10001")
		_, err := e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{GroupIDs: &[]int64{e.defaultGroup().ID, g.ID}})
		e.invalid(err, "extension", "move user 10001 into a group with prefix 2")
		e.ids(e.get(u.ID).GroupIDs, []int64{e.defaultGroup().ID}, "groups after the refused update")
	}},
	{"unknown roles and groups are refused", func(e *env) {
		u := e.draft("10001")
		u.RoleIDs = []int64{987654}
		e.invalid(e.s.CreateUser(e.ctx, u), "roles", "create with an unknown role")
		u = e.draft("10001")
		u.GroupIDs = []int64{987654}
		e.invalid(e.s.CreateUser(e.ctx, u), "groups", "create with an unknown group")
		u = e.user("10001")
		_, err := e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{RoleIDs: &[]int64{987654}})
		e.invalid(err, "roles", "update with an unknown role")
		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{GroupIDs: &[]int64{987654}})
		e.invalid(err, "groups", "update with an unknown group")
	}},
	{"lookups by email and extension skip deleted users", func(e *env) {
		u := e.user("10001")
		e.setState(u.ID, directory.UserDeleted)
		_, err := e.s.UserByEmail(e.ctx, u.Email)
		e.is(err, directory.ErrNotFound, "UserByEmail of a deleted user")
		_, err = e.s.UserByExtension(e.ctx, u.Extension)
		e.is(err, directory.ErrNotFound, "UserByExtension of a deleted user")
		got := e.get(u.ID)
		if got.State != directory.UserDeleted || got.Name != u.Name || got.Extension != "10001" {
			e.t.Errorf("deleted user reads back as %q %q %q, want state deleted with name and number kept",
				got.State, got.Name, got.Extension)
		}
	}},
	{"blocked users are found and can be unblocked", func(e *env) {
		u := e.user("10001")
		e.setState(u.ID, directory.UserBlocked)
		got, err := e.s.UserByExtension(e.ctx, "10001")
		e.ok(err, "a blocked user keeps the extension")
		if got.State != directory.UserBlocked {
			e.t.Errorf("state %q, want blocked", got.State)
		}
		e.setState(u.ID, directory.UserActive)
		if st := e.get(u.ID).State; st != directory.UserActive {
			e.t.Errorf("state after unblock %q", st)
		}
		e.is(e.s.SetUserState(e.ctx, u.ID, "archived"), directory.ErrInvalid, "unknown state")
	}},
	{"deleting frees the email and the extension", func(e *env) {
		old := e.named("Anna", "anna@example.com", "10001")
		e.setState(old.ID, directory.UserDeleted)
		reuse := e.named("Anna Second", "anna@example.com", "10001")
		got, err := e.s.UserByExtension(e.ctx, "10001")
		e.ok(err, "user by extension")
		if got.ID != reuse.ID {
			e.t.Errorf("extension 10001 finds user %d, want the new user %d", got.ID, reuse.ID)
		}
		got, err = e.s.UserByEmail(e.ctx, "anna@example.com")
		e.ok(err, "user by email")
		if got.ID != reuse.ID {
			e.t.Errorf("email finds user %d, want the new user %d", got.ID, reuse.ID)
		}
		if ext := e.get(old.ID).Extension; ext != "10001" {
			e.t.Errorf("deleted user's extension reads %q, want 10001 kept for history", ext)
		}
		// A freed number may go to a group too.
		g := e.group("Second", 0)
		e.setState(reuse.ID, directory.UserDeleted)
		g.Extension = "10001"
		e.ok(e.s.UpdateGroup(e.ctx, g), "group takes a deleted user's number")
	}},
	{"deleting drops the bindings and keeps the history", func(e *env) {
		sales := e.group("Sales", 0)
		u := e.user("10001", sales.ID)
		peer := e.user("10002", sales.ID)
		other := e.user("10003")
		now := fixedTime()
		for _, b := range []directory.Binding{
			binding("10001", "sip:10001@192.0.2.1:5060", now.Add(time.Hour)),
			binding("10001", "sip:10001@192.0.2.2:5060", now.Add(time.Hour)),
			binding("10003", "sip:10003@192.0.2.3:5060", now.Add(time.Hour)),
		} {
			e.ok(e.s.PutBinding(e.ctx, b), "put binding")
		}
		call := &directory.Call{SIPCallID: "a", CallerID: u.ID, CalleeID: other.ID, From: "10001", To: "10003",
			Dialed: "10003", Direction: directory.Internal, StartedAt: now, EndedAt: now.Add(time.Minute),
			Disposition: directory.Busy}
		e.ok(e.s.CreateCall(e.ctx, call), "create call")

		e.setState(u.ID, directory.UserDeleted)
		bs, err := e.s.Bindings(e.ctx, now)
		e.ok(err, "bindings")
		if len(bs) != 1 || bs[0].Extension != "10003" {
			e.t.Errorf("bindings after deleting 10001: %+v; want only 10003's", bs)
		}
		calls, err := e.s.Calls(e.ctx, directory.CallFilter{Vis: directory.Visibility{UserIDs: []int64{u.ID}}})
		e.ok(err, "calls")
		e.ids(callIDs(calls), []int64{call.ID}, "the deleted user's calls stay visible")
		got := e.get(u.ID)
		e.ids(got.GroupIDs, []int64{sales.ID}, "a deleted user keeps its groups for history")
		e.ids(got.RoleIDs, []int64{e.role(directory.BuiltinAgent).ID}, "a deleted user keeps its roles for history")
		acc, err := e.s.Access(e.ctx, peer.ID)
		e.ok(err, "access")
		e.ids(acc.Department, sorted([]int64{u.ID, peer.ID}), "department keeps deleted members for history")
	}},
	{"deleting twice or unblocking a deleted user is not found", func(e *env) {
		u := e.user("10001")
		e.setState(u.ID, directory.UserDeleted)
		e.is(e.s.SetUserState(e.ctx, u.ID, directory.UserDeleted), directory.ErrNotFound, "delete a deleted user")
		e.is(e.s.SetUserState(e.ctx, u.ID, directory.UserActive), directory.ErrNotFound, "unblock a deleted user")
		e.is(e.s.SetUserState(e.ctx, u.ID, directory.UserBlocked), directory.ErrNotFound, "block a deleted user")
		if st := e.get(u.ID).State; st != directory.UserDeleted {
			e.t.Errorf("state %q, want deleted", st)
		}
	}},
	{"Users searches name, email and extension", func(e *env) {
		f := newUserFixture(e)
		for _, c := range []struct {
			search string
			want   []int64
		}{
			{"Brown", []int64{f.bob.ID}},
			{"example.net", []int64{f.carol.ID}},
			{"1000", []int64{f.alice.ID, f.bob.ID, f.carol.ID}},
			{"0002", []int64{f.bob.ID}},
			{"Doe", nil}, // deleted
			{"nobody", nil},
			{"%", nil}, // literal, not a pattern
			{"_", nil},
		} {
			e.listUsers(directory.UserFilter{Search: c.search, Vis: all}, c.want, "search %q", c.search)
		}
	}},
	{"Users filters states", func(e *env) {
		f := newUserFixture(e)
		e.listUsers(directory.UserFilter{Vis: all}, []int64{f.alice.ID, f.bob.ID, f.carol.ID}, "no states: active and blocked")
		e.listUsers(directory.UserFilter{States: []directory.UserState{directory.UserDeleted}, Vis: all},
			[]int64{f.dave.ID}, "deleted")
		e.listUsers(directory.UserFilter{States: []directory.UserState{directory.UserActive}, Vis: all},
			[]int64{f.alice.ID, f.bob.ID}, "active")
		e.listUsers(directory.UserFilter{States: []directory.UserState{directory.UserBlocked, directory.UserDeleted}, Vis: all},
			[]int64{f.carol.ID, f.dave.ID}, "blocked and deleted")
		e.listUsers(directory.UserFilter{States: []directory.UserState{directory.UserActive, directory.UserBlocked,
			directory.UserDeleted}, Search: "Doe", Vis: all}, []int64{f.dave.ID}, "search among deleted")
	}},
	{"Users filters by group", func(e *env) {
		f := newUserFixture(e)
		e.listUsers(directory.UserFilter{GroupID: f.sales.ID, Vis: all}, []int64{f.alice.ID, f.carol.ID}, "group Sales")
		e.listUsers(directory.UserFilter{GroupID: e.defaultGroup().ID, Vis: all}, []int64{f.bob.ID}, "default group")
	}},
	{"Users visibility: the zero value shows nothing", func(e *env) {
		f := newUserFixture(e)
		e.listUsers(directory.UserFilter{}, nil, "zero visibility")
		e.listUsers(directory.UserFilter{Vis: directory.Visibility{Unassigned: true, Public: true}}, nil,
			"contact-only visibility flags")
		e.listUsers(directory.UserFilter{Vis: directory.Visibility{UserIDs: []int64{f.carol.ID, f.alice.ID}}},
			[]int64{f.alice.ID, f.carol.ID}, "UserIDs")
		e.listUsers(directory.UserFilter{Vis: directory.Visibility{UserIDs: []int64{f.bob.ID}}, Search: "Alice"}, nil,
			"UserIDs and search")
		e.listUsers(directory.UserFilter{Vis: all}, []int64{f.alice.ID, f.bob.ID, f.carol.ID}, "All")
	}},
	{"Users lists by name then ID, in pages", func(e *env) {
		var want []int64
		for i, name := range []string{"Eve", "Ben", "Ann", "Dan", "Ben", "Cid"} {
			e.named(name, fmt.Sprintf("p%d@example.com", i), fmt.Sprintf("1000%d", i))
		}
		list := e.listUsers(directory.UserFilter{Vis: all}, nil, "")
		var names []string
		for _, u := range list {
			names = append(names, u.Name)
			want = append(want, u.ID)
		}
		if !slices.Equal(names, []string{"Ann", "Ben", "Ben", "Cid", "Dan", "Eve"}) {
			e.t.Errorf("order by name: %q", names)
		}
		if len(list) == 6 && list[1].ID > list[2].ID {
			e.t.Errorf("two users named Ben listed as %d, %d; want ID order", list[1].ID, list[2].ID)
		}
		var paged []int64
		for n := 1; n <= 4; n++ {
			page := e.listUsers(directory.UserFilter{Vis: directory.Visibility{All: true},
				Page: directory.Page{Number: n, Size: 2}}, nil, "")
			if n < 4 && len(page) != 2 || n == 4 && len(page) != 0 {
				e.t.Errorf("page %d of size 2 has %d users", n, len(page))
			}
			paged = append(paged, userIDs(page)...)
		}
		e.ids(paged, want, "pages put together")
	}},
	{"SIPUsers returns every user not deleted with the secret", func(e *env) {
		a := e.user("10001")
		b := e.user("10002")
		c := e.user("10003")
		e.setState(b.ID, directory.UserBlocked)
		e.setState(c.ID, directory.UserDeleted)
		us, err := e.s.SIPUsers(e.ctx)
		e.ok(err, "SIP users")
		e.set(userIDs(us), []int64{a.ID, b.ID}, "blocked users keep SIP, deleted ones lose it")
		for _, u := range us {
			if u.SIP != directory.NewSIPSecret(u.Extension, "switchboard.local", "Ext-pass-1!") {
				e.t.Errorf("SIP secret of %s: %+v", u.Extension, u.SIP)
			}
			if u.Extension == "" || u.State == "" {
				e.t.Errorf("SIP user without extension or state: %+v", u)
			}
		}
	}},
	{"Employees match the extension or the mobile", func(e *env) {
		a := e.draft("10001")
		a.Mobile = "+48601000200"
		e.create(a)
		b := e.user("10002")
		c := e.draft("10003")
		c.Mobile = "+48601000200"
		e.create(c)
		e.setState(c.ID, directory.UserBlocked)
		d := e.draft("10004")
		d.Mobile = "+48601000300"
		e.create(d)
		e.setState(d.ID, directory.UserDeleted)
		for _, tc := range []struct {
			number string
			want   []int64
		}{
			{"+48601000200", []int64{a.ID, c.ID}},
			{"10002", []int64{b.ID}},
			{"+48601000300", nil}, // deleted
			{"10004", nil},        // deleted
			{"+48999999999", nil},
			{"1000", nil}, // whole numbers only
		} {
			us, err := e.s.Employees(e.ctx, tc.number)
			e.ok(err, "employees %s", tc.number)
			e.set(userIDs(us), tc.want, "001: employees with number %s", tc.number)
		}
	}},
	{"hide my number is kept on create and changed by a patch alone", func(e *env) {
		u := e.draft("10001")
		u.CallerID, u.HideNumber = "+48221234567", true
		e.create(u)
		want := e.get(u.ID)
		if !want.HideNumber {
			e.t.Errorf("created with HideNumber: read back false")
		}
		got, err := e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{Name: ptr("Renamed")})
		e.ok(err, "rename")
		want.Name = "Renamed"
		e.sameUser(got, want, "a rename keeps the number hidden")
		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{HideNumber: ptr(false)})
		e.ok(err, "show the number")
		want.HideNumber = false
		e.sameUser(e.get(u.ID), want, "read after showing the number")
	}},
	{"UpdateUser changes only the fields the patch sets", func(e *env) {
		sales := e.group("Sales", 0)
		u := e.draft("10001")
		u.Mobile, u.CallerID, u.Notes, u.Language = "+48601000200", "+48221234567", "notes", "en"
		e.create(u)
		want := e.get(u.ID)

		got, err := e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{Name: ptr("Renamed")})
		e.ok(err, "rename")
		want.Name = "Renamed"
		e.sameUser(got, want, "returned after rename")
		e.sameUser(e.get(u.ID), want, "read after rename")

		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{Mobile: ptr(""), Language: ptr("vi"),
			Email: ptr("new@example.com"), CallerID: ptr("+48221000000"), Notes: ptr("")})
		e.ok(err, "update contact fields")
		want.Mobile, want.Language, want.Email, want.CallerID, want.Notes = "", "vi", "new@example.com", "+48221000000", ""
		e.sameUser(e.get(u.ID), want, "read after clearing the mobile")

		admin := e.role(directory.BuiltinAdmin).ID
		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{RoleIDs: &[]int64{admin},
			GroupIDs: &[]int64{sales.ID}})
		e.ok(err, "update roles and groups")
		want.RoleIDs, want.GroupIDs = []int64{admin}, []int64{sales.ID}
		e.sameUser(e.get(u.ID), want, "read after new roles and groups")

		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{})
		e.ok(err, "empty patch")
		e.sameUser(e.get(u.ID), want, "read after an empty patch")
	}},
	{"UpdateUser refuses another user's email, not a deleted user's", func(e *env) {
		a := e.named("Anna", "anna@example.com", "10001")
		b := e.named("Bob", "bob@example.com", "10002")
		_, err := e.s.UpdateUser(e.ctx, b.ID, directory.UserPatch{Email: ptr("anna@example.com")})
		e.conflict(err, "email", "take Anna's email")
		if got := e.get(b.ID).Email; got != "bob@example.com" {
			e.t.Errorf("email after the refused update %q", got)
		}
		e.setState(a.ID, directory.UserDeleted)
		_, err = e.s.UpdateUser(e.ctx, b.ID, directory.UserPatch{Email: ptr("anna@example.com")})
		e.ok(err, "take a deleted user's email")
	}},
	{"SetPasswordHash and SetSIPSecret", func(e *env) {
		u := e.user("10001")
		e.ok(e.s.SetPasswordHash(e.ctx, u.ID, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$a2V5"), "set password hash")
		if got := e.get(u.ID).PasswordHash; got != "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$a2V5" {
			e.t.Errorf("password hash read back %q", got)
		}
		sec := directory.NewSIPSecret("10001", "pbx.example.com", "N3w-secret")
		e.ok(e.s.SetSIPSecret(e.ctx, u.ID, sec), "set SIP secret")
		if got := e.get(u.ID).SIP; got != sec {
			e.t.Errorf("SIP secret read back %+v, want %+v", got, sec)
		}
		us, err := e.s.SIPUsers(e.ctx)
		e.ok(err, "SIP users")
		if len(us) != 1 || us[0].SIP != sec {
			e.t.Errorf("SIPUsers after the new secret: %+v", us)
		}
	}},
	{"SetOverrides replaces, an empty map resets", func(e *env) {
		u := e.user("10001")
		e.ok(e.s.SetOverrides(e.ctx, u.ID, map[string]string{"calls.history": "department", "audit.view": "any"}), "set")
		e.overrides(u.ID, map[string]string{"calls.history": "department", "audit.view": "any"}, "after the first set")
		e.ok(e.s.SetOverrides(e.ctx, u.ID, map[string]string{"contacts.view": "any"}), "replace")
		e.overrides(u.ID, map[string]string{"contacts.view": "any"}, "replaced, not merged")
		e.ok(e.s.SetOverrides(e.ctx, u.ID, map[string]string{}), "reset")
		e.overrides(u.ID, nil, "reset to role")
		e.ok(e.s.SetOverrides(e.ctx, u.ID, map[string]string{"calls.history": "any"}), "set again")
		e.ok(e.s.SetOverrides(e.ctx, u.ID, nil), "reset with nil")
		e.overrides(u.ID, nil, "reset with nil")
	}},
}

// all is the visibility that shows everything.
var all = directory.Visibility{All: true}

// userFixture is a small directory for list tests: Alice (Sales) and Bob
// active, Carol (Sales) blocked, Dave deleted.
type userFixture struct {
	sales                   *directory.Group
	alice, bob, carol, dave *directory.User
}

func newUserFixture(e *env) userFixture {
	e.t.Helper()
	var f userFixture
	f.sales = e.group("Sales", 0)
	f.alice = e.named("Alice Adams", "alice@example.com", "10001", f.sales.ID)
	f.bob = e.named("Bob Brown", "bob@example.com", "10002")
	f.carol = e.named("Carol Clark", "carol@example.net", "10003", f.sales.ID)
	f.dave = e.named("Dave Doe", "dave@example.com", "10004", f.sales.ID)
	e.setState(f.carol.ID, directory.UserBlocked)
	e.setState(f.dave.ID, directory.UserDeleted)
	return f
}

// listUsers lists and counts users with f and, when want is not nil or the
// format is set, checks the IDs in order. It returns the list.
func (e *env) listUsers(f directory.UserFilter, want []int64, format string, args ...any) []directory.User {
	e.t.Helper()
	us, err := e.s.Users(e.ctx, f)
	e.ok(err, "users")
	if format != "" {
		e.ids(userIDs(us), want, "Users "+format, args...)
		f.Page = directory.Page{}
		n, err := e.s.CountUsers(e.ctx, f)
		e.ok(err, "count users")
		if n != len(want) {
			e.t.Errorf("CountUsers "+format+": %d, want %d", append(args, n, len(want))...)
		}
	}
	return us
}

// sameUser reports the fields of got that differ from want.
func (e *env) sameUser(got, want *directory.User, what string) {
	e.t.Helper()
	type fields struct {
		ID                                                    int64
		Name, Email, Extension, Mobile, CallerID, Notes, Lang string
		State                                                 directory.UserState
		PasswordHash                                          string
		SIP                                                   directory.SIPSecret
		HideNumber                                            bool
	}
	f := func(u *directory.User) fields {
		return fields{u.ID, u.Name, u.Email, u.Extension, u.Mobile, u.CallerID, u.Notes, u.Language, u.State,
			u.PasswordHash, u.SIP, u.HideNumber}
	}
	if f(got) != f(want) {
		e.t.Errorf("%s: user\n got %+v\nwant %+v", what, f(got), f(want))
	}
	e.set(got.RoleIDs, want.RoleIDs, "%s: roles", what)
	e.set(got.GroupIDs, want.GroupIDs, "%s: groups", what)
}

// overrides checks a user's overrides through Access.
func (e *env) overrides(id int64, want map[string]string, what string) {
	e.t.Helper()
	acc, err := e.s.Access(e.ctx, id)
	e.ok(err, "access")
	if len(acc.Overrides) != len(want) || !maps.Equal(acc.Overrides, want) {
		e.t.Errorf("%s: overrides %v, want %v", what, acc.Overrides, want)
	}
}

// race runs fn n times at once and returns what each returned.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWins checks that exactly one of errs is nil and all others are lost.
func (e *env) oneWins(errs []error, lost error, what string) {
	e.t.Helper()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, lost):
			e.t.Errorf("%s: a loser got %v, want %v", what, err, lost)
		}
	}
	if wins != 1 {
		e.t.Errorf("%s: %d succeeded, want exactly 1", what, wins)
	}
}

func sortedStrings(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

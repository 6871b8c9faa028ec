// Package storetest is the conformance suite every directory.Store backend
// must pass. A backend's test calls Run with a function that opens a fresh,
// migrated store (and registers its own cleanup):
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) directory.Store { return openTestStore(t) })
//	}
//
// Each behaviour is a subtest with a store of its own, so a failure names the
// rule that broke and nothing leaks from one case into the next. The cases
// follow the doc comments of directory/store.go: each is a rule to test.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// test is one behaviour, run against a fresh store.
type test struct {
	name string
	fn   func(e *env)
}

// area groups the tests of one part of the Store interface.
type area struct {
	name  string
	tests []test
}

// Run runs the conformance suite against the stores that open returns; open
// is called once per subtest and must return a fresh, migrated store.
func Run(t *testing.T, open func(t *testing.T) directory.Store) {
	// argon2 takes a while: one hash serves every user the suite creates.
	hash, err := directory.HashPassword("Storetest-pass-1!")
	if err != nil {
		t.Fatalf("hash password: %v", err)
	}
	areas := []area{
		{"store", storeTests},
		{"users", userTests},
		{"user batches", userBatchTests},
		{"user imports", userImportTests},
		{"mobile numbers", mobileTests},
		{"time zones", timeZoneTests},
		{"forwarding", forwardTests},
		{"owners", ownerTests},
		{"access", accessTests},
		{"groups", groupTests},
		{"roles", roleTests},
		{"contacts", contactTests},
		{"calls", callTests},
		{"recordings", recordingTests},
		{"recording search", recordingSearchTests},
		{"devices", deviceTests},
		{"voicemail", voicemailTests},
		{"keyed writes", keyedTests},
		{"bindings", bindingTests},
		{"bans", banTests},
		{"settings", settingTests},
		{"audit", auditTests},
		{"changes", changeTests},
		{"user version", userVersionTests},
		{"changes except", changesExceptTests},
		{"sessions", sessionTests},
		{"invites", inviteTests},
		{"tokens", tokenTests},
		{"rules", ruleTests},
		{"schedules", scheduleTests},
		{"queues", queueTests},
		{"ivr menus", ivrTests},
	}
	for _, a := range areas {
		t.Run(a.name, func(t *testing.T) {
			for _, tc := range a.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.fn(&env{t: t, s: open(t), ctx: t.Context(), hash: hash})
				})
			}
		})
	}
}

// env is what a test works with: its store and helpers that fail the test
// when a step that is not under test goes wrong.
type env struct {
	t    *testing.T
	s    directory.Store
	ctx  context.Context
	hash string // argon2id hash of a valid password
}

// draft returns a valid user with extension ext that is not stored yet.
func (e *env) draft(ext string) *directory.User {
	return &directory.User{
		Name:         "User " + ext,
		Email:        "u" + ext + "@example.com",
		Extension:    ext,
		State:        directory.UserActive,
		PasswordHash: e.hash,
		SIP:          directory.NewSIPSecret(ext, "switchboard.local", "Ext-pass-1!"),
	}
}

// create stores u and fails the test if the store refuses it.
func (e *env) create(u *directory.User) *directory.User {
	e.t.Helper()
	if err := e.s.CreateUser(e.ctx, u); err != nil {
		e.t.Fatalf("create user %s: %v", u.Extension, err)
	}
	return u
}

// user creates an active user with extension ext in the given groups (the
// default group when none) holding the default role.
func (e *env) user(ext string, groupIDs ...int64) *directory.User {
	e.t.Helper()
	u := e.draft(ext)
	u.GroupIDs = groupIDs
	return e.create(u)
}

// named is user with a name and an email of its own.
func (e *env) named(name, email, ext string, groupIDs ...int64) *directory.User {
	e.t.Helper()
	u := e.draft(ext)
	u.Name, u.Email, u.GroupIDs = name, email, groupIDs
	return e.create(u)
}

// owner creates an active user holding the Owner role.
func (e *env) owner(ext string) *directory.User {
	e.t.Helper()
	u := e.draft(ext)
	u.RoleIDs = []int64{e.role(directory.BuiltinOwner).ID}
	return e.create(u)
}

// get reads a user back.
func (e *env) get(id int64) *directory.User {
	e.t.Helper()
	u, err := e.s.User(e.ctx, id)
	if err != nil {
		e.t.Fatalf("user %d: %v", id, err)
	}
	return u
}

// setState changes a user's state and fails the test if the store refuses.
func (e *env) setState(id int64, st directory.UserState) {
	e.t.Helper()
	if err := e.s.SetUserState(e.ctx, id, st); err != nil {
		e.t.Fatalf("set user %d %s: %v", id, st, err)
	}
}

// role returns a built-in role.
func (e *env) role(builtin string) *directory.Role {
	e.t.Helper()
	r, err := e.s.RoleByBuiltin(e.ctx, builtin)
	if err != nil {
		e.t.Fatalf("role %s: %v", builtin, err)
	}
	return r
}

// group creates a group under parent (0: top level).
func (e *env) group(name string, parent int64) *directory.Group {
	e.t.Helper()
	g := &directory.Group{Name: name, ParentID: parent}
	if err := e.s.CreateGroup(e.ctx, g); err != nil {
		e.t.Fatalf("create group %s: %v", name, err)
	}
	return g
}

// defaultGroup returns the default group.
func (e *env) defaultGroup() *directory.Group {
	e.t.Helper()
	g, err := e.s.DefaultGroup(e.ctx)
	if err != nil {
		e.t.Fatalf("default group: %v", err)
	}
	return g
}

// ok fails the test now when err is not nil.
func (e *env) ok(err error, format string, args ...any) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}

// check reports an error when err is not nil, for steps whose failure does
// not stop the rest of the test.
func (e *env) check(err error, format string, args ...any) {
	e.t.Helper()
	if err != nil {
		e.t.Errorf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}

// is reports an error unless errors.Is(err, target).
func (e *env) is(err, target error, format string, args ...any) bool {
	e.t.Helper()
	if !errors.Is(err, target) {
		e.t.Errorf("%s: got error %v, want %v", fmt.Sprintf(format, args...), err, target)
		return false
	}
	return true
}

// invalid reports an error unless err is an *InvalidError about field.
func (e *env) invalid(err error, field string, format string, args ...any) {
	e.t.Helper()
	var ie *directory.InvalidError
	switch {
	case !errors.Is(err, directory.ErrInvalid):
		e.t.Errorf("%s: got error %v, want ErrInvalid on field %q", fmt.Sprintf(format, args...), err, field)
	case !errors.As(err, &ie):
		e.t.Errorf("%s: %v is ErrInvalid but no *InvalidError", fmt.Sprintf(format, args...), err)
	case ie.Field != field:
		e.t.Errorf("%s: invalid field %q (%v), want %q", fmt.Sprintf(format, args...), ie.Field, err, field)
	}
}

// conflict reports an error unless err is a *ConflictError about field.
func (e *env) conflict(err error, field string, format string, args ...any) {
	e.t.Helper()
	var ce *directory.ConflictError
	switch {
	case !errors.Is(err, directory.ErrConflict):
		e.t.Errorf("%s: got error %v, want ErrConflict on field %q", fmt.Sprintf(format, args...), err, field)
	case !errors.As(err, &ce):
		e.t.Errorf("%s: %v is ErrConflict but no *ConflictError", fmt.Sprintf(format, args...), err)
	case ce.Field != field:
		e.t.Errorf("%s: conflict on field %q (%v), want %q", fmt.Sprintf(format, args...), ce.Field, err, field)
	}
}

// ids reports an error unless got and want hold the same IDs in the same order.
func (e *env) ids(got, want []int64, format string, args ...any) {
	e.t.Helper()
	if !slices.Equal(got, want) {
		e.t.Errorf("%s: got IDs %v, want %v", fmt.Sprintf(format, args...), got, want)
	}
}

// set reports an error unless got and want hold the same IDs in any order.
func (e *env) set(got, want []int64, format string, args ...any) {
	e.t.Helper()
	e.ids(sorted(got), sorted(want), format, args...)
}

// sameTime reports an error unless got is want at microsecond precision
// (stores may keep no more).
func (e *env) sameTime(got, want time.Time, format string, args ...any) {
	e.t.Helper()
	if got.IsZero() != want.IsZero() {
		e.t.Errorf("%s: got time %v, want %v", fmt.Sprintf(format, args...), got, want)
		return
	}
	if d := got.Sub(want); d <= -time.Microsecond || d >= time.Microsecond {
		e.t.Errorf("%s: got time %v, want %v (off by %v)", fmt.Sprintf(format, args...), got, want, d)
	}
}

func sorted(ids []int64) []int64 {
	s := slices.Clone(ids)
	slices.Sort(s)
	return s
}

func userIDs(us []directory.User) []int64 {
	out := make([]int64, 0, len(us))
	for _, u := range us {
		out = append(out, u.ID)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// storeTests are about the store as a whole.
var storeTests = []test{
	{"a fresh store answers ping and has no users", func(e *env) {
		e.ok(e.s.Ping(e.ctx), "ping")
		us, err := e.s.Users(e.ctx, directory.UserFilter{
			States: []directory.UserState{directory.UserActive, directory.UserBlocked, directory.UserDeleted},
			Vis:    directory.Visibility{All: true}})
		e.ok(err, "users")
		if len(us) != 0 {
			e.t.Errorf("fresh store has %d users, want none", len(us))
		}
		has, err := e.s.HasOwner(e.ctx)
		e.ok(err, "has owner")
		if has {
			e.t.Error("fresh store has an owner")
		}
	}},
	{"not found everywhere", testNotFound},
	{"a closed store answers with an error, not a panic", func(e *env) {
		e.ok(e.s.Close(), "close")
		for _, c := range []struct {
			name string
			fn   func() error
		}{
			{"User", func() error { _, err := e.s.User(e.ctx, 1); return err }},
			{"Users", func() error {
				_, err := e.s.Users(e.ctx, directory.UserFilter{Vis: directory.Visibility{All: true}})
				return err
			}},
			{"CreateUser", func() error { return e.s.CreateUser(e.ctx, e.draft("10001")) }},
			{"Setting", func() error { _, err := e.s.Setting(e.ctx, directory.SettingDomain); return err }},
			{"Ping", func() error { return e.s.Ping(e.ctx) }},
		} {
			err := noPanic(e.t, c.name, c.fn)
			if err == nil {
				e.t.Errorf("%s after Close: no error", c.name)
				continue
			}
			// schema: a closed pool is a connection-level failure.
			if !errors.Is(err, directory.ErrUnavailable) {
				e.t.Errorf("%s after Close: %v, want ErrUnavailable", c.name, err)
			}
		}
	}},
}

// noPanic runs fn, turning a panic into a test error.
func noPanic(t *testing.T, name string, fn func() error) (err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s panicked: %v", name, r)
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}

func testNotFound(e *env) {
	const id = 987654
	ctx, s := e.ctx, e.s
	u := e.user("10001")
	g := e.group("Sales", 0)
	for _, c := range []struct {
		name string
		err  error
	}{
		{"User", second(s.User(ctx, id))},
		{"UserByEmail", second(s.UserByEmail(ctx, "nobody@example.com"))},
		{"UserByExtension", second(s.UserByExtension(ctx, "99999"))},
		{"UpdateUser", second(s.UpdateUser(ctx, id, directory.UserPatch{Name: ptr("X")}))},
		{"SetUserState blocked", s.SetUserState(ctx, id, directory.UserBlocked)},
		{"SetUserState deleted", s.SetUserState(ctx, id, directory.UserDeleted)},
		{"SetPasswordHash", s.SetPasswordHash(ctx, id, e.hash)},
		{"SetSIPSecret", s.SetSIPSecret(ctx, id, directory.NewSIPSecret("10001", "x", "Secret-pw1"))},
		{"SetOverrides", s.SetOverrides(ctx, id, map[string]string{"calls.history": "any"})},
		{"Access", second(s.Access(ctx, id))},
		{"Group", second(s.Group(ctx, id))},
		{"GroupByExtension", second(s.GroupByExtension(ctx, "99999"))},
		{"UpdateGroup", s.UpdateGroup(ctx, &directory.Group{ID: id, Name: "X"})},
		{"DeleteGroup", s.DeleteGroup(ctx, id)},
		{"GroupMembers", second(s.GroupMembers(ctx, id))},
		{"AddMember of an unknown group", s.AddMember(ctx, id, u.ID)},
		{"AddMember of an unknown user", s.AddMember(ctx, g.ID, id)},
		{"RemoveMember of an unknown group", s.RemoveMember(ctx, id, u.ID)},
		{"Role", second(s.Role(ctx, id))},
		{"RoleByBuiltin", second(s.RoleByBuiltin(ctx, "nobody"))},
		{"UpdateRole", s.UpdateRole(ctx, &directory.Role{ID: id, Name: "X"}, nil)},
		{"DeleteRole", s.DeleteRole(ctx, id)},
		{"RoleMembers", second(s.RoleMembers(ctx, id))},
		{"Contact", second(s.Contact(ctx, id))},
		{"UpdateContact", s.UpdateContact(ctx, &directory.Contact{ID: id, Name: "X"})},
		{"DeleteContact", s.DeleteContact(ctx, id)},
		{"Call", second(s.Call(ctx, id))},
		{"Recording", second(s.Recording(ctx, id))},
		{"UpdateRecording", s.UpdateRecording(ctx, &directory.Recording{ID: id, State: directory.RecordingDone})},
	} {
		e.is(c.err, directory.ErrNotFound, "%s of something that does not exist", c.name)
	}
}

func second[T any](_ T, err error) error { return err }

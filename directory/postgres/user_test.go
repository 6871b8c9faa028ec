package postgres

import (
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

func newUser(ext string, roles ...int64) *directory.User {
	return &directory.User{Name: "User " + ext, Email: "u" + ext + "@example.com", Extension: ext,
		State: directory.UserActive, RoleIDs: roles,
		SIP: directory.NewSIPSecret(ext, "switchboard.local", "Ext-pass-1!")}
}

func mustCreate(t *testing.T, s *Store, u *directory.User) *directory.User {
	t.Helper()
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("create user %s: %v", u.Extension, err)
	}
	return u
}

// TestLastOwnerRace blocks (or demotes) the last two owners from two
// goroutines at once, many times over: exactly one change may win, every
// time, and an active owner must remain.
func TestLastOwnerRace(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	owner, err := s.RoleByBuiltin(ctx, directory.BuiltinOwner)
	if err != nil {
		t.Fatal(err)
	}
	agent, _ := s.RoleByBuiltin(ctx, directory.BuiltinAgent)
	a := mustCreate(t, s, newUser("10001", owner.ID))
	b := mustCreate(t, s, newUser("10002", owner.ID))

	block := func(id int64) error { return s.SetUserState(ctx, id, directory.UserBlocked) }
	demote := func(id int64) error {
		_, err := s.UpdateUser(ctx, id, directory.UserPatch{RoleIDs: &[]int64{agent.ID}})
		return err
	}
	del := func(id int64) error { return s.SetUserState(ctx, id, directory.UserDeleted) }
	cases := []struct {
		name   string
		fa, fb func(int64) error
	}{
		{"block both", block, block},
		{"block one, demote the other", block, demote},
		{"demote both", demote, demote},
		{"delete one, block the other", del, block},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for round := range 15 {
				var wg sync.WaitGroup
				start := make(chan struct{})
				var errA, errB error
				wg.Go(func() { <-start; errA = c.fa(a.ID) })
				wg.Go(func() { <-start; errB = c.fb(b.ID) })
				close(start)
				wg.Wait()
				if (errA == nil) == (errB == nil) {
					t.Fatalf("round %d: errors %v and %v, want exactly one to succeed", round, errA, errB)
				}
				for _, err := range []error{errA, errB} {
					if err != nil && !errors.Is(err, directory.ErrLastOwner) {
						t.Fatalf("round %d: %v, want ErrLastOwner", round, err)
					}
				}
				if has, err := s.HasOwner(ctx); err != nil || !has {
					t.Fatalf("round %d: has owner %v, %v", round, has, err)
				}
				// Put the loser's victim back: a fresh owner replaces a
				// deleted one, a demoted one is promoted, a blocked one
				// unblocked.
				for _, u := range []**directory.User{&a, &b} {
					cur, err := s.User(ctx, (*u).ID)
					if err != nil {
						t.Fatal(err)
					}
					switch {
					case cur.State == directory.UserDeleted:
						*u = mustCreate(t, s, newUser(strconv.Itoa(20000+round*10+int(cur.ID%10)), owner.ID))
					case cur.State == directory.UserBlocked:
						if err := s.SetUserState(ctx, cur.ID, directory.UserActive); err != nil {
							t.Fatal(err)
						}
					case len(cur.RoleIDs) == 1 && cur.RoleIDs[0] == agent.ID:
						if _, err := s.UpdateUser(ctx, cur.ID, directory.UserPatch{RoleIDs: &[]int64{owner.ID}}); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
		})
	}
}

func TestConflictsByCode(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	u := mustCreate(t, s, newUser("10001"))

	dup := newUser("10001")
	dup.Email = "other@example.com"
	if err := s.CreateUser(ctx, dup); !errors.Is(err, directory.ErrExtensionTaken) {
		t.Errorf("user with a taken extension: %v, want ErrExtensionTaken", err)
	}
	if err := s.CreateGroup(ctx, &directory.Group{Name: "Sales", Extension: "10001"}); !errors.Is(err, directory.ErrExtensionTaken) {
		t.Errorf("group with a user's extension: %v, want ErrExtensionTaken", err)
	}
	g := &directory.Group{Name: "Sales", Extension: "20000"}
	if err := s.CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, newUser("20000")); !errors.Is(err, directory.ErrExtensionTaken) {
		t.Errorf("user with a group's extension: %v, want ErrExtensionTaken", err)
	}
	same := newUser("10002")
	same.Email = u.Email
	if err := s.CreateUser(ctx, same); !errors.Is(err, directory.ErrEmailTaken) {
		t.Errorf("user with a taken email: %v, want ErrEmailTaken", err)
	}
	bad := newUser("10003", 987654)
	var ie *directory.InvalidError
	if err := s.CreateUser(ctx, bad); !errors.As(err, &ie) || ie.Field != "roles" {
		t.Errorf("user with an unknown role: %v, want *InvalidError on roles", err)
	}
	if err := s.CreateRole(ctx, &directory.Role{Name: "Agent"}); !errors.Is(err, directory.ErrConflict) {
		t.Errorf("role with a taken name: %v, want ErrConflict", err)
	}

	// Deleting frees extension and email, in the same transaction.
	if err := s.SetUserState(ctx, u.ID, directory.UserDeleted); err != nil {
		t.Fatal(err)
	}
	again := mustCreate(t, s, newUser("10001"))
	if got, err := s.UserByExtension(ctx, "10001"); err != nil || got.ID != again.ID {
		t.Errorf("extension of a deleted user, taken again: %v, %v", got, err)
	}
	if err := s.SetUserState(ctx, u.ID, directory.UserDeleted); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("delete a deleted user: %v, want ErrNotFound", err)
	}
}

func TestClosedIsUnavailable(t *testing.T) {
	s := open(t)
	s.Close()
	if _, err := s.User(t.Context(), 1); !errors.Is(err, directory.ErrUnavailable) {
		t.Errorf("user after close: %v, want ErrUnavailable", err)
	}
	if err := s.SetSetting(t.Context(), directory.SettingRecording, "all"); !errors.Is(err, directory.ErrUnavailable) {
		t.Errorf("set setting after close: %v, want ErrUnavailable", err)
	}
}

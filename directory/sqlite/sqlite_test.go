package sqlite_test

import (
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/sqlite"
	"github.com/switchboard-pbx/switchboard/directory/storetest"
)

// open opens a fresh store in a temporary directory, closed when the test ends.
func open(t testing.TB) *sqlite.Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "switchboard.db"))
}

func openAt(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) directory.Store { return open(t) })
}

// draft is a valid user with extension ext.
func draft(ext string) *directory.User {
	return &directory.User{
		Name:      "User " + ext,
		Email:     "u" + ext + "@example.com",
		Extension: ext,
		State:     directory.UserActive,
		SIP:       directory.NewSIPSecret(ext, "switchboard.local", "Ext-pass-1!"),
	}
}

func TestMigrationsOnceAndDataSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	s, err := sqlite.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Applied(); len(got) < 2 || got[0] != "00001_init.sql" || got[1] != "00002_web.sql" {
		t.Errorf("first open applied %v, want [00001_init.sql 00002_web.sql …]", got)
	}
	u := draft("10001")
	u.SIPMaxDevices, u.SIPAllowedNets = 2, []string{"10.0.0.0/8", "192.168.1.0/24"}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(t.Context(), directory.SettingRecording, "all"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path)
	if got := s.Applied(); len(got) != 0 {
		t.Errorf("reopen applied %v again", got)
	}
	if got, err := s.Migrate(t.Context()); err != nil || len(got) != 0 {
		t.Errorf("migrate an up-to-date store: %v, %v", got, err)
	}
	got, err := s.UserByExtension(t.Context(), "10001")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID || got.SIP != u.SIP || got.SIPMaxDevices != 2 || len(got.SIPAllowedNets) != 2 {
		t.Errorf("after reopen: %+v, want %+v", got, u)
	}
	if v, err := s.Setting(t.Context(), directory.SettingRecording); err != nil || v != "all" {
		t.Errorf("setting after reopen: %q, %v", v, err)
	}
	roles, err := s.Roles(t.Context())
	if err != nil || len(roles) != 3 {
		t.Fatalf("seeded roles once: %d roles, %v", len(roles), err)
	}
}

func TestSeededRoles(t *testing.T) {
	s := open(t)
	want := map[string]map[string]string{
		directory.BuiltinAdmin: {"calls.history": "any", "recordings.delete": "none", "users.create": "none",
			"roles.manage": "none", "contacts.delete": "any", "audit.view": "any"},
		directory.BuiltinAgent: {"calls.history": "own", "recordings.download": "none", "calls.outbound": "crm_and_employees",
			"users.manage": "own", "contacts.delete": "own", "calls.monitor": "none"},
		directory.BuiltinOwner: {"recordings.delete": "any", "users.create": "any", "calls.outbound": "any"},
	}
	for builtin, perms := range want {
		r, err := s.RoleByBuiltin(t.Context(), builtin)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Perms) != 26 {
			t.Errorf("%s has %d permissions, want all 26", builtin, len(r.Perms))
		}
		for p, scope := range perms {
			if r.Perms[p] != scope {
				t.Errorf("%s %s = %q, want %q", builtin, p, r.Perms[p], scope)
			}
		}
	}
	agent, _ := s.RoleByBuiltin(t.Context(), directory.BuiltinAgent)
	u := draft("10001")
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if len(u.RoleIDs) != 1 || u.RoleIDs[0] != agent.ID {
		t.Errorf("new user roles %v, want the default role Agent %d", u.RoleIDs, agent.ID)
	}
}

// TestConstraintMapping checks that the database's own constraints, not
// only the checks before them, turn into the directory's errors.
func TestConstraintMapping(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	a := draft("10001")
	if err := s.CreateUser(ctx, a); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"user extension taken by a user", s.CreateUser(ctx, func() *directory.User {
			u := draft("10001")
			u.Email = "other@example.com"
			return u
		}()), directory.ErrExtensionTaken},
		{"email taken", s.CreateUser(ctx, func() *directory.User {
			u := draft("10002")
			u.Email = a.Email
			return u
		}()), directory.ErrEmailTaken},
		{"group extension taken by a user", s.CreateGroup(ctx, &directory.Group{Name: "Sales", Extension: "10001"}),
			directory.ErrExtensionTaken},
		{"role name taken", s.CreateRole(ctx, &directory.Role{Name: "Agent"}), directory.ErrConflict},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	// The failed creations left nothing behind.
	n, err := s.CountUsers(ctx, directory.UserFilter{Vis: directory.Visibility{All: true}})
	if err != nil || n != 1 {
		t.Errorf("users after refused creations: %d, %v; want 1", n, err)
	}
}

func TestConcurrentCreateOneExtensionWins(t *testing.T) {
	s := open(t)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			u := draft("10001")
			u.Email = "racer" + string(rune('a'+i)) + "@example.com"
			errs[i] = s.CreateUser(t.Context(), u)
		})
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, directory.ErrExtensionTaken):
			t.Errorf("racer %d: %v, want ErrExtensionTaken", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d creations of extension 10001 succeeded, want exactly 1", wins)
	}
}

func TestConcurrentBlockLeavesAnOwner(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	owner, err := s.RoleByBuiltin(ctx, directory.BuiltinOwner)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, ext := range []string{"10001", "10002", "10003"} {
		u := draft(ext)
		u.RoleIDs = []int64{owner.ID}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { errs[i] = s.SetUserState(ctx, id, directory.UserBlocked) })
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		if errors.Is(err, directory.ErrLastOwner) {
			refused++
		} else if err != nil {
			t.Errorf("block owner: %v", err)
		}
	}
	if refused != 1 {
		t.Errorf("%d blocks refused, want exactly 1 (the last active owner)", refused)
	}
}

func TestClosedIsUnavailable(t *testing.T) {
	s := open(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := s.Calls(t.Context(), directory.CallFilter{Vis: directory.Visibility{All: true}}); !errors.Is(err, directory.ErrUnavailable) {
		t.Errorf("calls after close: %v, want ErrUnavailable", err)
	}
	if err := s.PutBinding(t.Context(), directory.Binding{Extension: "10001", Contact: "sip:x"}); !errors.Is(err, directory.ErrUnavailable) {
		t.Errorf("put binding after close: %v, want ErrUnavailable", err)
	}
}

func TestOpenRefusesBadPath(t *testing.T) {
	for _, p := range []string{"", filepath.Join(t.TempDir(), "a?b.db"), filepath.Join(t.TempDir(), "missing", "dir", "x.db")} {
		if s, err := sqlite.Open(t.Context(), p, nil); err == nil {
			s.Close()
			t.Errorf("open %q: no error", p)
		}
	}
}

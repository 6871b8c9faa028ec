package sip

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// accountReads counts the registrar's per-request account lookups of a
// store that counts its user changes.
type accountReads struct {
	directory.Store
	n atomic.Int64
}

func (c *accountReads) SIPAccount(ctx context.Context, ext string) (*directory.SIPAccount, error) {
	c.n.Add(1)
	return c.Store.SIPAccount(ctx, ext)
}

func (c *accountReads) UserVersion() uint64 { return c.Store.(directory.UserVersioner).UserVersion() }

// TestAccountCheckSkippedWhileNothingChanged: an extension the directory
// confirmed is not looked up again until a user changes; then once.
func TestAccountCheckSkippedWhileNothingChanged(t *testing.T) {
	for _, bk := range []struct {
		name string
		open func(testing.TB) (directory.Store, func() directory.Store)
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(bk.name, func(t *testing.T) {
			raw, _ := bk.open(t)
			st, p, other := accountServer(t, raw)
			before := st.n.Load()
			for range 3 {
				wantStatus(t, p.register(300), 200)
			}
			if n := st.n.Load() - before; n != 0 {
				t.Errorf("%d account lookups for 3 REGISTERs with nothing changed, want 0", n)
			}
			if _, err := st.UpdateUser(t.Context(), other.ID, directory.UserPatch{Name: sp("Renamed")}); err != nil {
				t.Fatal(err)
			}
			before = st.n.Load()
			for range 2 {
				wantStatus(t, p.register(300), 200)
			}
			if n := st.n.Load() - before; n != 1 {
				t.Errorf("%d account lookups for 2 REGISTERs after a user changed, want 1", n)
			}
		})
	}
}

// TestAccountCheckNotAtFirstRegister: the directory's load at start
// confirms every extension it read, so a phone's first REGISTER after a
// start needs no account lookup of its own (at 10,000 phones coming back
// after a restart, 10,000 queries); a user changed after the load is
// looked up again once.
func TestAccountCheckNotAtFirstRegister(t *testing.T) {
	raw, _ := openSQLite(t)
	st, p, other := accountServer(t, raw)
	if n := st.n.Load(); n != 0 {
		t.Errorf("%d account lookups for the first REGISTER after the load, want 0", n)
	}
	if _, err := st.UpdateUser(t.Context(), other.ID, directory.UserPatch{Name: sp("Renamed")}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, p.register(300), 200)
	if n := st.n.Load(); n != 1 {
		t.Errorf("%d account lookups after a user changed, want 1", n)
	}
}

// TestAccountCheckRefusesAtOnce: with the lookup skipped for an extension
// already confirmed, a new extension password and a deletion still take
// effect on the very next request (the change log is read hourly here).
func TestAccountCheckRefusesAtOnce(t *testing.T) {
	for _, bk := range []struct {
		name string
		open func(testing.TB) (directory.Store, func() directory.Store)
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(bk.name, func(t *testing.T) {
			raw, _ := bk.open(t)
			st := &accountReads{Store: raw}
			u := addUser(t, st, "10001")
			ts := startServer(t, st, nil)
			p := newPhone(t, ts, "10001", testPassword)
			wantStatus(t, p.register(300), 200)
			wantStatus(t, p.register(300), 200)
			before := st.n.Load()
			wantStatus(t, p.register(300), 200)
			if n := st.n.Load() - before; n != 0 {
				t.Fatalf("%d account lookups: the check is not skipped, so this test proves nothing", n)
			}

			if err := st.SetSIPSecret(t.Context(), u.ID, directory.NewSIPSecret("10001", ts.realm(), "New-pass-456")); err != nil {
				t.Fatal(err)
			}
			if res := p.register(300); res.StatusCode != 401 {
				t.Errorf("old extension password after a change: %d %s, want 401", res.StatusCode, res.Reason)
			}
			p.pw = "New-pass-456"
			wantStatus(t, p.register(300), 200)
			wantStatus(t, p.register(300), 200)

			if err := st.SetUserState(t.Context(), u.ID, directory.UserDeleted); err != nil {
				t.Fatal(err)
			}
			if res := p.register(300); res.StatusCode != 403 {
				t.Errorf("REGISTER of a deleted account: %d %s, want 403", res.StatusCode, res.Reason)
			}
			if bs := ts.Bindings("10001"); len(bs) != 0 {
				t.Errorf("the deleted account's bindings: %+v", bs)
			}
		})
	}
}

// accountServer starts a server on raw whose account lookups are counted,
// with extensions 10001 (its phone registered) and 10002 (other).
func accountServer(t *testing.T, raw directory.Store) (*accountReads, *phone, *directory.User) {
	t.Helper()
	st := &accountReads{Store: raw}
	addUser(t, st, "10001")
	other := addUser(t, st, "10002")
	ts := startServer(t, st, nil)
	p := newPhone(t, ts, "10001", testPassword)
	wantStatus(t, p.register(300), 200)
	return st, p, other
}

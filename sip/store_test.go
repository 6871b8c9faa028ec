package sip

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/clock"
)

// Bindings survive a restart of the server, on both backends: a new server
// over the same database lists them, and the phone refreshes against it.
func TestBindingsSurviveRestart(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			st, reopen := be.open(t)
			addUser(t, st, "10001")
			clk := clock.NewManual()
			a := startServer(t, st, clk)
			p := newPhone(t, a, "10001", testPassword)
			wantStatus(t, p.register(600), 200)
			tp := newPhone(t, a, "10001", testPassword, overTCP)
			wantStatus(t, tp.register(600, "sip:10001@192.168.1.60;transport=tcp"), 200)
			before := a.Registrations()
			a.stop()
			st.Close()

			clk.Advance(time.Minute)
			b := startServer(t, reopen(), clk)
			if err := b.Sync(t.Context()); err != nil {
				t.Fatal(err)
			}
			after := b.Registrations()
			if len(after) != 2 || len(before) != 2 {
				t.Fatalf("before restart %+v\nafter %+v", before, after)
			}
			for i := range after {
				x, y := before[i], after[i]
				if x.Contact != y.Contact || x.Source != y.Source || x.Transport != y.Transport ||
					!x.Expires.Equal(y.Expires) || x.CallID != y.CallID || x.CSeq != y.CSeq || x.Node != y.Node {
					t.Errorf("binding changed by the restart:\n%+v\n%+v", x, y)
				}
			}
			p.srv = b // the phone refreshes against the new server
			res := p.register(600)
			wantStatus(t, res, 200)
			if got := contacts(res); len(got) != 2 {
				t.Errorf("refresh after restart lists %v", got)
			}
		})
	}
}

// Two servers sharing one PostgreSQL see each other's bindings, and a user
// deleted through one loses its phones on both.
func TestTwoNodesShareBindings(t *testing.T) {
	st, open := openPostgres(t)
	u := addUser(t, st, "10001")
	addUser(t, st, "10002")
	clk := clock.NewManual()
	a := startServer(t, st, clk, func(c *Config) { c.Node = "node-a" })
	b := startServer(t, open(), clk, func(c *Config) { c.Node = "node-b" })

	pa := newPhone(t, a, "10001", testPassword)
	wantStatus(t, pa.register(600, "sip:10001@192.168.1.50"), 200)
	if err := b.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := b.Bindings("10001")
	if len(got) != 1 || got[0].Node != "node-a" || got[0].Contact != "sip:10001@192.168.1.50" {
		t.Fatalf("node b sees %+v", got)
	}

	// A second phone of the same extension registers on node b; the 200
	// lists both, and node a learns of the new one.
	pb := newPhone(t, b, "10001", testPassword)
	res := pb.register(600, "sip:10001@192.168.1.51")
	wantStatus(t, res, 200)
	if c := contacts(res); len(c) != 2 {
		t.Errorf("node b's 200 lists %v", c)
	}
	if err := a.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(a.Bindings("10001")); n != 2 {
		t.Errorf("node a sees %d bindings, want 2", n)
	}

	// Unregistering everything on b clears a as well.
	wantStatus(t, pb.register(0, "*"), 200)
	if err := a.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(a.Bindings("10001")); n != 0 {
		t.Errorf("node a still sees %d bindings after Contact * on b", n)
	}

	// Deleted through node a's store: node b drops the phones and refuses.
	wantStatus(t, pb.register(600, "sip:10001@192.168.1.51"), 200)
	if err := st.SetUserState(t.Context(), u.ID, directory.UserDeleted); err != nil {
		t.Fatal(err)
	}
	if err := b.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(b.Bindings("10001")); n != 0 {
		t.Errorf("node b keeps %d bindings of a deleted user", n)
	}
	wantStatus(t, pb.register(600, "sip:10001@192.168.1.51"), 403)
}

// With PostgreSQL a node learns of changes without polling: the store
// wakes it (LISTEN/NOTIFY).
func TestNodesWakenByNotifications(t *testing.T) {
	st, open := openPostgres(t)
	addUser(t, st, "10001")
	clk := clock.NewManual()
	a := startServer(t, st, clk, func(c *Config) { c.Node = "node-a" })
	bst := open()
	if _, ok := bst.(notifier); !ok {
		t.Fatal("the PostgreSQL store offers no Notifications: the multi-node wake-up is gone")
	}
	synced := make(chan struct{}, 100)
	b := startServerHooked(t, bst, clk, func(s *Server) {
		s.hooks.synced = func() { synced <- struct{}{} }
	}, func(c *Config) { c.Node = "node-b" })
	_ = b
	pa := newPhone(t, a, "10001", testPassword)
	wantStatus(t, pa.register(600, "sip:10001@192.168.1.50"), 200)
	for len(b.Bindings("10001")) == 0 {
		<-synced // FollowInterval is an hour: only a notification gets here
	}
}

// A store failure is not a wrong password: known extensions keep
// authenticating from the cache and their binding writes are held; an
// uncached extension gets 503 with Retry-After, is not cached as unknown,
// and registers once the store is back, when the held writes are flushed.
func TestStoreUnavailable(t *testing.T) {
	real, _ := openSQLite(t)
	st := &flakyStore{Store: real}
	addUser(t, st, "10001")
	ts := startServer(t, st, nil)
	addUser(t, st, "10002") // after the load: not cached

	st.down.Store(true)
	if err := ts.Sync(t.Context()); err == nil {
		t.Fatal("Sync with the store down succeeded")
	}
	known := newPhone(t, ts, "10001", testPassword)
	wantStatus(t, known.register(600), 200)
	if n := len(storeBindings(t, real, "10001", ts.clock.Now())); n != 0 {
		t.Fatal("written while the store was down?")
	}
	if ts.loc.Held() == 0 {
		t.Error("binding write not held")
	}

	other := newPhone(t, ts, "10002", testPassword)
	res := other.register(600)
	wantStatus(t, res, 503)
	if h := res.GetHeader("Retry-After"); h == nil || h.Value() == "" {
		t.Errorf("503 without Retry-After:\n%s", res)
	}
	wrong := newPhone(t, ts, "10001", "wrong-password") // a wrong password is still one
	wantStatus(t, wrong.register(600), 401)
	<-ts.failed
	select {
	case ext := <-ts.failed:
		t.Errorf("the store failure counted as a failed authentication of %s", ext)
	default:
	}

	st.down.Store(false)
	if err := ts.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ts.loc.Held() != 0 {
		t.Error("held writes not flushed")
	}
	if n := len(storeBindings(t, real, "10001", ts.clock.Now())); n != 1 {
		t.Errorf("store holds %d bindings of 10001 after the flush, want 1", n)
	}
	wantStatus(t, other.register(600), 200)
	for _, want := range []string{"directory unavailable; serving from cache", "directory available again",
		"held binding writes flushed"} {
		if !strings.Contains(ts.log.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

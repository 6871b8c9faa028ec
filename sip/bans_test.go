package sip

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/clock"
)

// startStoring starts a server whose guard reports each ban write on the
// returned channel.
func startStoring(t *testing.T, st directory.Store, clk *clock.Manual, opts ...serverOption) (*testServer, chan error) {
	t.Helper()
	stored := make(chan error, 100)
	ts := startServerHooked(t, st, clk, func(s *Server) {
		s.bans.Stored = func(_ Ban, err error) { stored <- err }
	}, append([]serverOption{guardConfig}, opts...)...)
	return ts, stored
}

// banFrom fails MaxFailures (3) REGISTERs of 10001 from ip on ts and
// waits until the ban is written to the store.
func banFrom(t *testing.T, ts *testServer, stored chan error, ip string) {
	t.Helper()
	attacker := newPhone(t, ts, "10001", "guess", from(ip))
	for range 3 {
		wantStatus(t, attacker.register(60), 401)
		<-ts.failed
	}
	if err := <-stored; err != nil {
		t.Fatalf("ban of %s not stored: %v", ip, err)
	}
}

// droppedFrom checks that ts drops a REGISTER from ip as banned.
func droppedFrom(t *testing.T, ts *testServer, ip, what string) {
	t.Helper()
	p := newPhone(t, ts, "10001", testPassword, from(ip))
	if reason := p.expectDropped(p.request(60)); reason != "banned" {
		t.Errorf("%s: dropped as %q, want banned", what, reason)
	}
}

// Node A bans a source after failed REGISTERs; node B, on the same
// PostgreSQL, refuses it too. The ban outlives a restart of node A, and an
// operator lifting it in the store (as `switchboard bans lift` does) lets
// the source in again on the running nodes.
func TestBanSharedByNodes(t *testing.T) {
	st, open := openPostgres(t)
	addUser(t, st, "10001")
	clk := clock.NewManual()
	a, stored := startStoring(t, st, clk, func(c *Config) { c.Node = "node-a" })
	b, _ := startStoring(t, open(), clk, func(c *Config) { c.Node = "node-b" })

	banFrom(t, a, stored, "127.0.0.9")
	droppedFrom(t, a, "127.0.0.9", "node a")
	bs, err := st.Bans(t.Context(), clk.Now())
	if err != nil || len(bs) != 1 || bs[0].Source != "127.0.0.9" || bs[0].Node != "node-a" ||
		bs[0].Extension != "" || !bs[0].Expires.Equal(clk.Now().Add(30*time.Minute)) {
		t.Fatalf("stored bans %+v, %v", bs, err)
	}
	// The ban is in the audit log with its source.
	if es, err := st.AuditLog(t.Context(), directory.AuditFilter{Action: "ban.create"}); err != nil || len(es) != 1 ||
		es[0].IP != "127.0.0.9" || es[0].Object != "ban:127.0.0.9" || es[0].Actor != "system" {
		t.Fatalf("audit of the ban: %+v, %v", es, err)
	}

	if err := b.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	droppedFrom(t, b, "127.0.0.9", "node b")
	if got := b.Bans(); len(got) != 1 || got[0].Source != "127.0.0.9" || got[0].Node != "node-a" {
		t.Errorf("node b lists %+v", got)
	}
	// Others are not affected on node b.
	wantStatus(t, newPhone(t, b, "10001", testPassword, from("127.0.0.10")).register(60), 200)

	// A restart of node A keeps the ban.
	a.stop()
	a2, _ := startStoring(t, open(), clk, func(c *Config) { c.Node = "node-a" })
	droppedFrom(t, a2, "127.0.0.9", "node a after restart")
	if got := a2.Bans(); len(got) != 1 || !got[0].Until.Equal(clk.Now().Add(30*time.Minute)) {
		t.Errorf("node a after restart lists %+v", got)
	}

	// The operator lifts it from another process.
	cli := open()
	if n, err := cli.DeleteBans(t.Context(), "127.0.0.9"); err != nil || n != 1 {
		t.Fatalf("DeleteBans: %d, %v", n, err)
	}
	for _, ts := range []*testServer{a2, b} {
		if err := ts.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(ts.Bans()) != 0 {
			t.Errorf("%s still lists %+v", ts.cfg.Node, ts.Bans())
		}
		wantStatus(t, newPhone(t, ts, "10001", testPassword, from("127.0.0.9")).register(60), 200)
	}
}

// A running node follows the change log on its own: a ban lifted in the
// store is dropped at the next notification or poll, with no Sync.
func TestBanLiftedWhileRunning(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			st, open := be.open(t)
			addUser(t, st, "10001")
			synced := make(chan struct{}, 1)
			ts := startServerHooked(t, st, nil, func(s *Server) {
				s.hooks.synced = func() {
					select {
					case synced <- struct{}{}:
					default:
					}
				}
			}, guardConfig, func(c *Config) { c.FollowInterval = 20 * time.Millisecond })
			attacker := newPhone(t, ts, "10001", "guess", from("127.0.0.9"))
			for range 3 {
				wantStatus(t, attacker.register(60), 401)
				<-ts.failed
			}
			ip := netip.MustParseAddr("127.0.0.9")
			if !ts.guard.Banned(ip) {
				t.Fatal("not banned")
			}
			cli := open()
			for {
				// The ban is written in the background: lift it once it is
				// there.
				n, err := cli.DeleteBans(t.Context(), "127.0.0.9")
				if err != nil {
					t.Fatal(err)
				}
				if n == 1 {
					break
				}
				<-synced
			}
			for ts.guard.Banned(ip) {
				<-synced
			}
			wantStatus(t, newPhone(t, ts, "10001", testPassword, from("127.0.0.9")).register(60), 200)
			if !strings.Contains(ts.log.String(), `msg="source unbanned elsewhere" src=127.0.0.9`) {
				t.Errorf("lift not logged:\n%s", ts.log.String())
			}
		})
	}
}

// Bans and extension locks survive a restart on both backends, and
// Server.Unban lifts them from the store as well.
func TestBansSurviveRestartAndUnban(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			st, reopen := be.open(t)
			addUser(t, st, "10001")
			addUser(t, st, "10002")
			clk := clock.NewManual()
			a, stored := startStoring(t, st, clk)
			banFrom(t, a, stored, "127.0.0.9")
			// A registered office that keeps failing on another extension
			// gets that extension locked.
			office := newPhone(t, a, "10001", testPassword, from("127.0.0.20"))
			wantStatus(t, office.register(600), 200)
			bad := newPhone(t, a, "10002", "guess", from("127.0.0.20"))
			for range 3 {
				wantStatus(t, bad.register(60), 401)
				<-a.failed
			}
			if err := <-stored; err != nil {
				t.Fatalf("lock not stored: %v", err)
			}
			a.stop()

			clk.Advance(time.Minute)
			b, _ := startStoring(t, reopen(), clk)
			droppedFrom(t, b, "127.0.0.9", "after restart")
			got := b.Bans()
			// Same time: by source, and "127.0.0.20" < "127.0.0.9".
			if len(got) != 2 || got[1].Source != "127.0.0.9" || got[1].Extension != "" ||
				got[0].Source != "127.0.0.20" || got[0].Extension != "10002" {
				t.Fatalf("after restart %+v", got)
			}
			if !b.guard.Locked(netip.MustParseAddr("127.0.0.20"), "10002") || b.guard.Locked(netip.MustParseAddr("127.0.0.20"), "10001") {
				t.Error("extension lock not restored as it was")
			}

			if !b.Unban("127.0.0.9") {
				t.Error("Unban found nothing")
			}
			bs, err := b.store.Bans(t.Context(), clk.Now())
			if err != nil || len(bs) != 1 || bs[0].Source != "127.0.0.20" {
				t.Errorf("store after Unban: %+v, %v", bs, err)
			}
			wantStatus(t, newPhone(t, b, "10001", testPassword, from("127.0.0.9")).register(60), 200)

			// Expired bans are not restored.
			clk.Advance(30 * time.Minute)
			b.stop()
			c, _ := startStoring(t, reopen(), clk)
			if got := c.Bans(); len(got) != 0 {
				t.Errorf("expired bans restored: %+v", got)
			}
		})
	}
}

// When the store cannot take a ban the source is banned on this node all
// the same, and the log says the ban is local.
func TestBanAppliesWhenStoreFails(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	ts, stored := startStoring(t, st, nil)
	st.Close()
	attacker := newPhone(t, ts, "10001", "guess", from("127.0.0.9"))
	for range 3 {
		wantStatus(t, attacker.register(60), 401)
		<-ts.failed
	}
	if err := <-stored; err == nil {
		t.Fatal("ban stored in a closed store")
	}
	droppedFrom(t, ts, "127.0.0.9", "store down")
	if !strings.Contains(ts.log.String(), `msg="ban not stored; it applies on this node only" src=127.0.0.9`) {
		t.Errorf("failure not logged:\n%s", ts.log.String())
	}
}

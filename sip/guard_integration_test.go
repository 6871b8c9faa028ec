package sip

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func guardConfig(c *Config) {
	c.Guard.MaxFailures, c.Guard.MaxExtFailures = 3, 50
	c.Guard.Window, c.Guard.BanTime = 10*time.Minute, 30*time.Minute
}

// A source guessing passwords is banned after MaxFailures, its requests
// are then dropped unanswered (UDP and TCP), operators see the ban, and it
// is lifted after the ban time.
func TestBruteForceBanAndUnban(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	ts := startServer(t, st, nil, guardConfig)
	attacker := newPhone(t, ts, "10001", "guess", from("127.0.0.9"))
	for i := range 3 {
		wantStatus(t, attacker.register(60), 401)
		<-ts.failed
		_ = i
	}
	if reason := attacker.expectDropped(attacker.request(60)); reason != "banned" {
		t.Errorf("dropped as %q", reason)
	}
	tcp := newPhone(t, ts, "10001", testPassword, from("127.0.0.9"), overTCP)
	if reason := tcp.expectDropped(tcp.request(60)); reason != "banned" {
		t.Errorf("TCP: dropped as %q", reason)
	}
	bans := ts.Bans()
	if len(bans) != 1 || bans[0].Source != "127.0.0.9" || bans[0].Extension != "" ||
		!bans[0].Until.Equal(ts.clock.Now().Add(30*time.Minute)) {
		t.Fatalf("bans %+v", bans)
	}
	if !strings.Contains(ts.log.String(), `msg="source banned" src=127.0.0.9 failures=3`) {
		t.Errorf("ban not logged:\n%s", ts.log.String())
	}
	// Others are not affected.
	wantStatus(t, newPhone(t, ts, "10001", testPassword, from("127.0.0.10")).register(60), 200)

	ts.clock.Advance(30 * time.Minute)
	if len(ts.Bans()) != 0 {
		t.Error("ban listed after the ban time")
	}
	good := newPhone(t, ts, "10001", testPassword, from("127.0.0.9"))
	wantStatus(t, good.register(60, "sip:10001@192.168.1.77"), 200)
}

// An office behind one public IP: one phone there registers fine, another
// keeps failing on a second extension. The office is not banned; only the
// failing extension is locked for it, and the registered phone refreshes.
func TestOfficeBehindOneIPIsNotBanned(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	ts := startServer(t, st, nil, guardConfig)
	const office = "127.0.0.20"
	good := newPhone(t, ts, "10001", testPassword, from(office))
	wantStatus(t, good.register(600), 200)

	bad := newPhone(t, ts, "10002", "old-password", from(office))
	for range 3 {
		wantStatus(t, bad.register(60), 401)
	}
	res := bad.register(60)
	wantStatus(t, res, 403) // locked: no more guesses, not even right ones
	bad.pw = testPassword
	wantStatus(t, bad.register(60), 403)

	wantStatus(t, good.register(600), 200)
	bans := ts.Bans()
	if len(bans) != 1 || bans[0].Source != office || bans[0].Extension != "10002" {
		t.Errorf("bans %+v, want only 10002 locked for the office", bans)
	}
	// The extension itself still works from elsewhere.
	wantStatus(t, newPhone(t, ts, "10002", testPassword, from("127.0.0.21")).register(60), 200)

	if !ts.Unban(office) || len(ts.Bans()) != 0 {
		t.Error("Unban did not lift the lock")
	}
	wantStatus(t, bad.register(60), 200)
}

// Requests from known scanners are dropped unanswered, before parsing; a
// normal OPTIONS is answered.
func TestScannersDroppedOptionsAnswered(t *testing.T) {
	st, _ := openSQLite(t)
	ts := startServer(t, st, nil)
	p := newPhone(t, ts, "10001", testPassword)
	opts := func(agent string) *sip.Request {
		req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", User: "100", Host: "127.0.0.1"})
		req.SetDestination(ts.udp)
		if agent != "" {
			req.AppendHeader(sip.NewHeader("User-Agent", agent))
		}
		return req
	}
	for _, agent := range []string{"friendly-scanner", "sipvicious", "SIPVicious 0.3.4"} {
		if reason := p.expectDropped(opts(agent)); reason != "scanner" {
			t.Errorf("%s dropped as %q", agent, reason)
		}
	}
	res, err := p.do(t.Context(), opts("Yealink SIP-T46S"))
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 200)
	if h := res.GetHeader("Allow"); h == nil || !strings.Contains(h.Value(), "REGISTER") {
		t.Errorf("OPTIONS 200 without Allow:\n%s", res)
	}
	if len(ts.Bans()) != 0 {
		t.Error("scanners banned: spoofed UDP sources could ban anyone")
	}
}

// NAT: the phone's Via and Contact name a private address it cannot be
// reached at. The server answers the REGISTER where it came from (rport),
// records the real source, and reaches the phone there, over UDP through
// the pinhole and over TCP on the phone's own connection.
func TestReachPhoneBehindNAT(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	ts := startServer(t, st, nil)
	for _, tc := range []struct {
		name string
		opts []phoneOption
	}{
		{"udp", []phoneOption{behindNAT}},
		{"tcp", []phoneOption{overTCP, behindNAT}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPhone(t, ts, "10001", testPassword, tc.opts...)
			wantStatus(t, p.register(600), 200)
			var b *struct{ src, transport string }
			for _, x := range ts.Bindings("10001") {
				if x.Contact == p.contact {
					b = &struct{ src, transport string }{x.Source, x.Transport}
					code, err := ts.Ping(t.Context(), x)
					if err != nil {
						t.Fatalf("ping: %v", err)
					}
					if code != 200 {
						t.Errorf("ping answered %d", code)
					}
				}
			}
			if b == nil {
				t.Fatalf("no binding for %s", p.contact)
			}
			if strings.HasPrefix(b.src, "10.") || b.transport != p.transport {
				t.Errorf("binding source %s over %s, want the real address", b.src, b.transport)
			}
			if p.pings.Load() != 1 {
				t.Errorf("phone got %d pings", p.pings.Load())
			}
			wantStatus(t, p.register(0), 200)
		})
	}
}

package sip

import (
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
)

// failingCarrier is a sipgo UAS on 127.0.0.2 that answers every INVITE
// with one final status.
type failingCarrier struct {
	addr    string
	invites chan *sip.Request
}

func startFailingCarrier(t testing.TB, code int, reason string) *failingCarrier {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("TestCarrier"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	srv, _ := sipgo.NewServer(ua)
	conn, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2 (all of 127.0.0.0/8 is loopback): %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &failingCarrier{addr: conn.LocalAddr().String(), invites: make(chan *sip.Request, 8)}
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		c.invites <- req
		tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
	})
	go srv.ServeUDP(conn)
	return c
}

func (c *failingCarrier) trunk(name string) Trunk {
	host, port, _ := net.SplitHostPort(c.addr)
	return Trunk{Name: name, Host: host, Port: atoiPort(port)}
}

// closedTCPPort returns a loopback port nothing listens on.
func closedTCPPort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func allowOutbound(t testing.TB, st directory.Store, u *directory.User) {
	t.Helper()
	if err := st.SetOverrides(t.Context(), u.ID, map[string]string{"calls.outbound": "any"}); err != nil {
		t.Fatal(err)
	}
}

// TestCallTrunkFailover: a trunk that fails with a timeout, a 5xx or a
// transport error hands the call to the next one; a 4xx or 6xx ends it.
func TestCallTrunkFailover(t *testing.T) {
	for _, tc := range []struct {
		name     string
		first    func(t *testing.T) (Trunk, chan *sip.Request)
		failover bool
		status   int
		disp     directory.Disposition
	}{
		{"503", func(t *testing.T) (Trunk, chan *sip.Request) {
			c := startFailingCarrier(t, 503, "Service Unavailable")
			return c.trunk("first"), c.invites
		}, true, 0, directory.Answered},
		{"500", func(t *testing.T) (Trunk, chan *sip.Request) {
			c := startFailingCarrier(t, 500, "Server Internal Error")
			return c.trunk("first"), c.invites
		}, true, 0, directory.Answered},
		{"408", func(t *testing.T) (Trunk, chan *sip.Request) {
			c := startFailingCarrier(t, 408, "Request Timeout")
			return c.trunk("first"), c.invites
		}, true, 0, directory.Answered},
		{"transport error", func(t *testing.T) (Trunk, chan *sip.Request) {
			return Trunk{Name: "first", Host: "127.0.0.2", Port: closedTCPPort(t), Transport: "TCP"}, nil
		}, true, 0, directory.Answered},
		{"no response", func(t *testing.T) (Trunk, chan *sip.Request) {
			// A socket that reads and never answers: no 100 Trying either.
			conn, err := net.ListenPacket("udp", "127.0.0.2:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			got := make(chan *sip.Request, 8)
			go func() {
				buf := make([]byte, 65535)
				for {
					n, _, err := conn.ReadFrom(buf)
					if err != nil {
						return
					}
					if m, err := sip.ParseMessage(buf[:n]); err == nil {
						if req, ok := m.(*sip.Request); ok && req.IsInvite() {
							select {
							case got <- req:
							default:
							}
						}
					}
				}
			}()
			host, port, _ := net.SplitHostPort(conn.LocalAddr().String())
			return Trunk{Name: "first", Host: host, Port: atoiPort(port)}, got
		}, true, 0, directory.Answered},
		{"486 does not fail over", func(t *testing.T) (Trunk, chan *sip.Request) {
			c := startFailingCarrier(t, 486, "Busy Here")
			return c.trunk("first"), c.invites
		}, false, 486, directory.Busy},
		{"404 does not fail over", func(t *testing.T) (Trunk, chan *sip.Request) {
			c := startFailingCarrier(t, 404, "Not Found")
			return c.trunk("first"), c.invites
		}, false, 404, directory.Unavailable},
		{"603 does not fail over", func(t *testing.T) (Trunk, chan *sip.Request) {
			c := startFailingCarrier(t, 603, "Decline")
			return c.trunk("first"), c.invites
		}, false, 603, directory.Busy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := openSQLite(t)
			allowOutbound(t, st, addUser(t, st, "10001"))
			first, firstInvites := tc.first(t)
			second := startCarrier(t, true)
			tr2 := second.trunk()
			tr2.Name = "second"
			cs := startCallServer(t, st, CallConfig{Trunks: []Trunk{first, tr2}, TrunkWait: 300 * time.Millisecond})
			pa := newCallPhone(t, cs, "10001", answerOK)

			sess, err := pa.dial(t.Context(), "+48221234567")
			if firstInvites != nil {
				wait(t, firstInvites, "INVITE at the first trunk")
			}
			if !tc.failover {
				if status(err) != tc.status {
					t.Fatalf("dial: %v, want %d", err, tc.status)
				}
				row := cs.nextCDR(t)
				if row.Disposition != tc.disp || row.Direction != directory.Outbound {
					t.Errorf("cdr: %+v", row)
				}
				select {
				case inv := <-second.invites:
					t.Errorf("the second trunk got an INVITE:\n%s", inv)
				default:
				}
				cs.noCallLeft(t)
				return
			}
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			if inv := wait(t, second.invites, "INVITE at the second trunk"); inv.Recipient.User != "+48221234567" {
				t.Errorf("second trunk got INVITE %s", inv.Recipient.String())
			}
			pa.sendRTP(t, &callPhone{phone: pa.phone, rtp: second.rtp}, 5) // audio reaches the second carrier
			if err := sess.Bye(t.Context()); err != nil {
				t.Fatalf("bye: %v", err)
			}
			row := cs.nextCDR(t)
			if row.Disposition != directory.Answered || row.Direction != directory.Outbound || row.To != "+48221234567" {
				t.Errorf("cdr: %+v", row)
			}
			cs.noCallLeft(t)
		})
	}
}

// TestCallTrunkPrefixes: a number goes to the trunk with the longest
// matching prefix, then to trunks without prefixes; a number no trunk
// serves gets 404.
func TestCallTrunkPrefixes(t *testing.T) {
	st, _ := openSQLite(t)
	allowOutbound(t, st, addUser(t, st, "10001"))
	catchAll, pl, vn, hanoi := startCarrier(t, false), startCarrier(t, false), startCarrier(t, false), startCarrier(t, false)
	named := func(c *carrier, name string, prefixes ...string) directory.TrunkSetting {
		tr := c.trunk()
		return directory.TrunkSetting{Name: name, Host: tr.Host, Port: tr.Port, Prefixes: prefixes}
	}
	setSetting(t, st, directory.SettingTrunks, directory.MarshalTrunks([]directory.TrunkSetting{
		named(catchAll, "any"), named(vn, "vn", "+84"), named(pl, "pl", "+48", "+420"), named(hanoi, "hanoi", "+8424")}))
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	for _, tc := range []struct {
		number string
		want   *carrier
	}{
		{"+48221234567", pl},
		{"+420212345678", pl},
		{"+842838123456", vn},
		{"+842438123456", hanoi},
		{"+12025550123", catchAll},
	} {
		t.Run(tc.number, func(t *testing.T) {
			sess, err := pa.dial(t.Context(), tc.number)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			if inv := wait(t, tc.want.invites, "INVITE at the trunk"); inv.Recipient.User != tc.number {
				t.Errorf("INVITE for %s", inv.Recipient.String())
			}
			sess.Bye(t.Context())
			if row := cs.nextCDR(t); row.Disposition != directory.Answered || row.To != tc.number {
				t.Errorf("cdr: %+v", row)
			}
			for _, c := range []*carrier{catchAll, pl, vn, hanoi} {
				select {
				case inv := <-c.invites:
					t.Errorf("another trunk got INVITE %s", inv.Recipient.String())
				default:
				}
			}
		})
	}
	// Without the catch-all trunk, a number no prefix matches goes nowhere.
	setSetting(t, st, directory.SettingTrunks, directory.MarshalTrunks([]directory.TrunkSetting{named(vn, "vn", "+84")}))
	if err := cs.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := pa.dial(t.Context(), "+48221234567"); status(err) != 404 {
		t.Errorf("dial with no trunk for the number: %v, want 404", err)
	}
	if row := cs.nextCDR(t); row.Disposition != directory.Failed || row.Reason != "no trunk" {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

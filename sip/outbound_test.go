package sip

import (
	"net/netip"
	"testing"
)

// TestTrunkLegLeavesFromListener: the INVITE to a carrier that never sent
// us anything leaves from our SIP listening socket, and its Via names that
// address and port with rport, so the carrier can answer to the Via or to
// the source alike.
func TestTrunkLegLeavesFromListener(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	car := startCarrier(t, true) // challenges: the retried INVITE must leave from there too
	cs := startCallServer(t, st, CallConfig{Trunks: []Trunk{car.trunk()}})
	pa := newCallPhone(t, cs, "10001", answerOK)
	sess, err := pa.dial(t.Context(), "+48221234567")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	inv := wait(t, car.invites, "INVITE at the carrier")
	if inv.Source() != cs.udp {
		t.Errorf("INVITE came from %s, want our listener %s", inv.Source(), cs.udp)
	}
	via := inv.Via()
	listen := netip.MustParseAddrPort(cs.udp)
	if via.Host != listen.Addr().String() || via.Port != int(listen.Port()) || !via.Params.Has("rport") {
		t.Errorf("Via %s, want %s with rport", via.Value(), cs.udp)
	}
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	cs.nextCDR(t)
	cs.noCallLeft(t)
}

// TestPublicAddress: with a public address set, peers outside the node's
// networks are given it in Via, Contact and SDP; phones and trunks on
// private or local networks keep seeing the local address.
func TestPublicAddress(t *testing.T) {
	st, _ := openSQLite(t)
	pub := netip.MustParseAddr("198.51.100.7")
	cs := startCallServer(t, st, CallConfig{PublicIP: pub})
	b := cs.b
	for _, tc := range []struct {
		dest string
		want string
	}{
		{"203.0.113.9:5060", "198.51.100.7"}, // a carrier on the internet
		{"127.0.0.1:5060", "127.0.0.1"},      // loopback
		{"192.168.1.50:5060", ""},            // the office LAN: the local address
		{"10.8.0.3:5060", ""},                // a VPN
		{"100.64.1.2:5060", ""},              // carrier-grade NAT space
	} {
		got := b.LocalIP(tc.dest)
		if tc.want != "" && got.String() != tc.want {
			t.Errorf("localIP(%s) = %s, want %s", tc.dest, got, tc.want)
		}
		if tc.want == "" && got == pub {
			t.Errorf("localIP(%s) = the public address, want a local one", tc.dest)
		}
		if c := b.ContactFor(tc.dest, "UDP"); (c.Address.Host == pub.String()) != (tc.want == pub.String()) {
			t.Errorf("contactFor(%s) = %s", tc.dest, c.Address.String())
		}
		if m := b.MediaIP(tc.dest); (m == pub) != (tc.want == pub.String()) {
			t.Errorf("mediaIP(%s) = %s", tc.dest, m)
		}
	}
}

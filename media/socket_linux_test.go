package media

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// relayAddrs are the kinds of address a relay binds to, each with the
// phones' address: loopback, and the unspecified address of each family,
// which takes IPv4 and IPv6 alike.
func relayAddrs(t *testing.T) []struct{ relay, phone netip.Addr } {
	v6 := netip.IPv6Loopback()
	addrs := []struct{ relay, phone netip.Addr }{
		{loopback, loopback},
		{netip.IPv4Unspecified(), loopback},
		{netip.IPv6Unspecified(), loopback},
		{v6, v6},
		{netip.IPv6Unspecified(), v6},
	}
	if c, err := net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.AddrPortFrom(v6, 0))); err == nil {
		c.Close()
	} else if os.Getenv("CI") == "true" {
		t.Fatal("no IPv6 loopback (CI=true):", err)
	} else {
		t.Log("no IPv6 loopback:", err)
		addrs = addrs[:3]
	}
	return addrs
}

// A relay's sockets are its poller's from the start (listenPair), never
// net.UDPConns, which registered each with the runtime's poller only for
// the relay to take it back (a duplicate, a close) when it started. They
// are opened as the net package opens a listening UDP socket.
func TestRelaySocketsOpenedForThePoller(t *testing.T) {
	p := pickPoller()
	releasePoller(p)
	if p == nil {
		t.Fatal("no poller on Linux")
	}
	for _, a := range relayAddrs(t) {
		r, err := NewRelay(RelayConfig{Pool: testPool(t, 2), IP: a.relay})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for i := range r.legs {
			pp := r.legs[i].ports
			if pp.RTP != nil || pp.RTCP != nil || pp.detached == nil || pp.poller == nil {
				t.Fatalf("%s leg %d: conns %v %v, sockets %v, poller %v: want the poller's sockets alone",
					a.relay, i, pp.RTP, pp.RTCP, pp.detached, pp.poller)
			}
			for k, s := range []*sock{pp.detached.rtp, pp.detached.rtcp} {
				checkRelaySocket(t, a.relay, pp.Port()+k, s)
			}
		}
	}
}

// checkRelaySocket checks that s is bound to ip and port, and has the
// flags and options of a socket that net.ListenUDP binds to ip (whose
// receive queue's drops are counted, countOverflow), but SO_BROADCAST,
// which the net package sets and the relay leaves off (listenUDP).
func checkRelaySocket(t *testing.T, ip netip.Addr, port int, s *sock) {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	countOverflow(c)
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	want := c.LocalAddr().(*net.UDPAddr).AddrPort()
	want = netip.AddrPortFrom(want.Addr(), uint16(port))
	sa, err := unix.Getsockname(s.fd)
	if err != nil {
		t.Fatal(err)
	}
	var got netip.AddrPort
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		got = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		got = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
	}
	if got != want {
		t.Errorf("relay on %s: socket bound to %s, want %s", ip, got, want)
	}
	if s.v6 != (socketDomain(rc) == unix.AF_INET6) {
		t.Errorf("%s: IPv6 %v, the net package's %v", want, s.v6, !s.v6)
	}
	type opt struct {
		name       string
		fcntl      int // F_GETFL, F_GETFD, or 0 for the option
		level, opt int
	}
	read := func(fd int, o opt) (int, error) {
		if o.fcntl != 0 {
			return unix.FcntlInt(uintptr(fd), o.fcntl, 0)
		}
		return unix.GetsockoptInt(fd, o.level, o.opt)
	}
	for _, o := range []opt{
		{"file status flags", unix.F_GETFL, 0, 0}, // O_NONBLOCK
		{"descriptor flags", unix.F_GETFD, 0, 0},  // FD_CLOEXEC
		{"SO_DOMAIN", 0, unix.SOL_SOCKET, unix.SO_DOMAIN},
		{"SO_TYPE", 0, unix.SOL_SOCKET, unix.SO_TYPE},
		{"SO_PROTOCOL", 0, unix.SOL_SOCKET, unix.SO_PROTOCOL},
		{"SO_REUSEADDR", 0, unix.SOL_SOCKET, unix.SO_REUSEADDR},
		{"SO_RXQ_OVFL", 0, unix.SOL_SOCKET, unix.SO_RXQ_OVFL},
		{"SO_RCVBUF", 0, unix.SOL_SOCKET, unix.SO_RCVBUF},
		{"IPV6_V6ONLY", 0, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY},
	} {
		v, err := read(s.fd, o)
		var w int
		var werr error
		rc.Control(func(fd uintptr) { w, werr = read(int(fd), o) })
		if v != w || (err == nil) != (werr == nil) {
			t.Errorf("%s: %s %#x (%v), the net package's %#x (%v)", want, o.name, v, err, w, werr)
		}
	}
	if v, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_BROADCAST); v != 0 || err != nil {
		t.Errorf("%s: SO_BROADCAST %d (%v), want 0: the relay never broadcasts", want, v, err)
	}
}

// A relay relays on every kind of address it binds to, the unspecified
// ones taking IPv4 as well as IPv6.
func TestRelayOnEveryKindOfAddress(t *testing.T) {
	for _, a := range relayAddrs(t) {
		r, _ := newRelay(t, RelayConfig{IP: a.relay})
		pa, pb := newEndpointOn(t, a.phone), newEndpointOn(t, a.phone)
		r.SetRemote(LegA, pa.addr(), netip.AddrPort{})
		r.SetRemote(LegB, pb.addr(), netip.AddrPort{})
		toA := netip.AddrPortFrom(a.phone, r.Local(LegA).Port())
		toB := netip.AddrPortFrom(a.phone, r.Local(LegB).Port())
		payload := bytes.Repeat([]byte{0xD5}, 160)
		for j := range 3 {
			p := rtpPacket(0, uint16(100+j), uint32(160*j), 0xAAAA, false, payload)
			pa.send(toA, p)
			if got, from := pb.recv(); !bytes.Equal(got, p) || from != toB {
				t.Fatalf("relay on %s, phones on %s: a→b packet %d from %s, want %s", a.relay, a.phone, j, from, toB)
			}
			p = rtpPacket(0, uint16(200+j), uint32(160*j), 0xBBBB, false, payload)
			pb.send(toB, p)
			if got, from := pa.recv(); !bytes.Equal(got, p) || from != toA {
				t.Fatalf("relay on %s, phones on %s: b→a packet %d from %s, want %s", a.relay, a.phone, j, from, toA)
			}
		}
		r.Close()
	}
}

// A relay closed before it started gives its ports back only once its
// poller has closed them: the next to take them can bind them at once.
func TestRelayClosedUnstartedFreesItsPorts(t *testing.T) {
	// A relay that runs keeps the poller going round, so that the other's
	// sockets close at its next round, not at once.
	connectedRelay(t, RelayConfig{})
	pool := testPool(t, 2)
	for range 20 {
		r, err := NewRelay(RelayConfig{Pool: pool, IP: loopback})
		if err != nil {
			t.Fatal(err)
		}
		ports := []netip.AddrPort{r.Local(LegA), r.Local(LegB)}
		r.Close()
		for _, p := range ports {
			for _, port := range []netip.AddrPort{p, rtcpPort(p)} {
				c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(port))
				if err != nil {
					t.Fatalf("port %s still bound after Close: %v", port, err)
				}
				c.Close()
			}
		}
	}
}

// newEndpointOn is newEndpoint on ip.
func newEndpointOn(t *testing.T, ip netip.Addr) *endpoint {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &endpoint{t: t, conn: c, buf: make([]byte, 2048)}
}

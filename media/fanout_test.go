package media

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// newFanout builds a fanout on loopback with n listeners, each with a
// fake phone as its endpoint, and starts Run; the channel yields Run's
// result.
func newFanout(t *testing.T, pool *PortPool, n int) (*Fanout, *endpoint, []*Listener, []*endpoint, <-chan error) {
	t.Helper()
	f, err := NewFanout(FanoutConfig{Pool: pool, IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	talker := newEndpoint(t)
	f.SetRemote(talker.addr(), netip.AddrPort{})
	var ls []*Listener
	var eps []*endpoint
	for range n {
		l, err := f.AddListener()
		if err != nil {
			t.Fatal(err)
		}
		ep := newEndpoint(t)
		l.SetRemote(ep.addr(), netip.AddrPort{})
		ls, eps = append(ls, l), append(eps, ep)
	}
	done := make(chan error, 1)
	go func() { done <- f.Run(context.Background()) }()
	return f, talker, ls, eps, done
}

// hears checks that ep receives pkt, sent out of l's port.
func hears(t *testing.T, ep *endpoint, l *Listener, pkt []byte) {
	t.Helper()
	got, from := ep.recv()
	if !bytes.Equal(got, pkt) || from != l.Local() {
		t.Fatalf("listener got %x from %s, want %x from %s", got, from, pkt, l.Local())
	}
}

// nothing checks that no datagram reaches ep for a while: what it proves
// absent would have crossed loopback long before.
func nothing(t *testing.T, ep *endpoint) {
	t.Helper()
	ep.conn.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	defer ep.conn.SetReadDeadline(time.Time{})
	if n, from, err := ep.conn.ReadFromUDPAddrPort(ep.buf); err == nil {
		t.Fatalf("%s got %d bytes from %s, want nothing", ep.addr(), n, from)
	}
}

func TestFanoutTalkerReachesEveryListener(t *testing.T) {
	t.Parallel()
	pool := testPool(t, 4)
	f, talker, ls, eps, _ := newFanout(t, pool, 3)
	for seq := uint16(1); seq <= 5; seq++ {
		pkt := rtpPacket(0, seq, uint32(seq)*160, 0x7A1C, false, []byte("page"))
		talker.send(f.Local(), pkt)
		for i := range ls {
			hears(t, eps[i], ls[i], pkt)
		}
	}
	// The talker's RTCP goes to each listener's RTCP address.
	rtcpEP := newEndpoint(t)
	ls[0].SetRemote(eps[0].addr(), rtcpEP.addr())
	tr := newEndpoint(t) // the talker's RTCP socket: same host as its RTP
	f.SetRemote(talker.addr(), tr.addr())
	tr.send(rtcpPort(f.Local()), rtcpRR(0x7A1C))
	if got, from := rtcpEP.recv(); !bytes.Equal(got, rtcpRR(0x7A1C)) || from != rtcpPort(ls[0].Local()) {
		t.Fatalf("listener's rtcp got %x from %s", got, from)
	}
	if s := f.Stats(); s.Packets != 5 || s.RTCPPackets != 1 || s.Rejected != 0 {
		t.Errorf("talker stats %+v", s)
	}
	for i, l := range ls {
		if s := l.Stats(); s.Sent < 5 || s.Dropped != 0 {
			t.Errorf("listener %d stats %+v", i, s)
		}
	}
}

// TestFanoutListenersAreNotRelayed: a page is one-way; what a listener's
// phone sends is read (it latches the leg) and dropped.
func TestFanoutListenersAreNotRelayed(t *testing.T) {
	t.Parallel()
	pool := testPool(t, 3)
	f, talker, ls, eps, _ := newFanout(t, pool, 2)
	for seq := uint16(1); seq <= 5; seq++ {
		eps[0].send(ls[0].Local(), rtpPacket(0, seq, uint32(seq)*160, 0xB0, false, []byte("back")))
	}
	for i := 0; ls[0].Stats().Packets < 5; i++ {
		if i == 1000 {
			t.Fatalf("listener's packets not read: %+v", ls[0].Stats())
		}
		time.Sleep(time.Millisecond)
	}
	nothing(t, talker)
	nothing(t, eps[1])
	// And the talker still reaches both.
	pkt := rtpPacket(0, 1, 160, 0x7A1C, false, []byte("page"))
	talker.send(f.Local(), pkt)
	hears(t, eps[0], ls[0], pkt)
	hears(t, eps[1], ls[1], pkt)
}

// TestFanoutStrangerCannotHijack: a stranger on another host neither
// speaks into the page nor draws a listener's copy to itself.
func TestFanoutStrangerCannotHijack(t *testing.T) {
	t.Parallel()
	pool := testPool(t, 3)
	f, talker, ls, eps, _ := newFanout(t, pool, 2)
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	stranger := &endpoint{t: t, conn: c, buf: make([]byte, 2048)}
	t.Cleanup(func() { c.Close() })
	for seq := uint16(1); seq <= 2*Probation; seq++ {
		stranger.send(f.Local(), rtpPacket(0, seq, uint32(seq)*160, 0xBAD, false, []byte("spoof")))
		stranger.send(ls[0].Local(), rtpPacket(0, seq, uint32(seq)*160, 0xBAD, false, []byte("spoof")))
	}
	pkt := rtpPacket(0, 1, 160, 0x7A1C, false, []byte("page"))
	talker.send(f.Local(), pkt)
	hears(t, eps[0], ls[0], pkt) // the spoofed packets came first, if at all
	hears(t, eps[1], ls[1], pkt)
	nothing(t, stranger)
	if s := f.Stats(); s.Rejected != 2*Probation || s.Packets != 1 {
		t.Errorf("talker stats %+v", s)
	}
	for i := 0; ls[0].Stats().Rejected < 2*Probation; i++ {
		if i == 1000 {
			t.Fatalf("listener's stranger packets: %+v", ls[0].Stats())
		}
		time.Sleep(time.Millisecond)
	}
	if pool.Rejected() != 4*Probation {
		t.Errorf("pool rejected %d, want %d", pool.Rejected(), 4*Probation)
	}
}

// TestFanoutAddAndRemoveWhileRunning: a listener joins a page under way
// and hears from then on; one removed gets nothing more and its ports
// are free again, while the others go on hearing.
func TestFanoutAddAndRemoveWhileRunning(t *testing.T) {
	t.Parallel()
	pool := testPool(t, 4)
	f, talker, ls, eps, _ := newFanout(t, pool, 2)
	pkt := rtpPacket(0, 1, 160, 0x7A1C, false, []byte("one"))
	talker.send(f.Local(), pkt)
	hears(t, eps[0], ls[0], pkt)
	hears(t, eps[1], ls[1], pkt)

	late, err := f.AddListener()
	if err != nil {
		t.Fatal(err)
	}
	lateEP := newEndpoint(t)
	late.SetRemote(lateEP.addr(), netip.AddrPort{})
	gone := ls[0].Local()
	f.Remove(ls[0])
	f.Remove(ls[0]) // again: nothing
	if f.Listeners() != 2 {
		t.Errorf("listeners = %d, want 2", f.Listeners())
	}
	for _, port := range []netip.AddrPort{gone, rtcpPort(gone)} {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(port))
		if err != nil {
			t.Fatalf("removed listener's port %s still bound: %v", port, err)
		}
		c.Close()
	}
	pkt = rtpPacket(0, 2, 320, 0x7A1C, false, []byte("two"))
	talker.send(f.Local(), pkt)
	hears(t, eps[1], ls[1], pkt)
	hears(t, lateEP, late, pkt)
	nothing(t, eps[0])
	if pool.Free() != 1 {
		t.Errorf("free pairs %d, want 1 (4 minus talker, two listeners)", pool.Free())
	}
}

// TestFanoutCloseReleasesEverything runs without t.Parallel so that the
// goroutine count is this test's alone.
func TestFanoutCloseReleasesEverything(t *testing.T) {
	pool := testPool(t, 4)
	before := mediaGoroutines()
	f, talker, ls, eps, done := newFanout(t, pool, 3)
	pkt := rtpPacket(0, 1, 160, 0x7A1C, false, []byte("page"))
	talker.send(f.Local(), pkt)
	hears(t, eps[2], ls[2], pkt)
	ports := []netip.AddrPort{f.Local()}
	for _, l := range ls {
		ports = append(ports, l.Local())
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run after Close = %v, want nil", err)
	}
	f.Close()
	if pool.Free() != 4 {
		t.Errorf("free = %d after Close, want 4", pool.Free())
	}
	for _, p := range ports {
		for _, port := range []netip.AddrPort{p, rtcpPort(p)} {
			c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(port))
			if err != nil {
				t.Errorf("port %s still bound after Close: %v", port, err)
				continue
			}
			c.Close()
		}
	}
	for i := 0; mediaGoroutines() > before; i++ {
		if i == 10000 {
			t.Fatalf("%d goroutines of package media after Close, %d before", mediaGoroutines(), before)
		}
		runtime.Gosched()
	}
	if _, err := f.AddListener(); !errors.Is(err, ErrClosed) {
		t.Errorf("AddListener after Close = %v, want ErrClosed", err)
	}
	if err := f.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
}

func TestFanoutCloseWithoutRun(t *testing.T) {
	t.Parallel()
	pool := testPool(t, 3)
	f, err := NewFanout(FanoutConfig{Pool: pool, IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := f.AddListener(); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	if pool.Free() != 3 {
		t.Errorf("free = %d, want 3", pool.Free())
	}
}

// TestFanoutTalkerTimeout: a talker silent for the timeout after Arm ends
// Run, and every port comes back.
func TestFanoutTalkerTimeout(t *testing.T) {
	t.Parallel()
	pool := testPool(t, 2)
	clk := newFakeClock()
	f, err := NewFanout(FanoutConfig{Pool: pool, IP: loopback, Timeout: 10 * time.Second, clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.AddListener(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.Run(context.Background()) }()
	clk.ticks <- clk.advance(time.Minute) // not armed: no timeout
	f.Arm()
	clk.ticks <- clk.advance(time.Second)
	clk.ticks <- clk.advance(5 * time.Second)
	select {
	case err := <-done:
		t.Fatalf("Run ended early: %v", err)
	default:
	}
	var err2 error
	for err2 == nil {
		select {
		case clk.ticks <- clk.advance(5 * time.Second):
		case err2 = <-done:
		}
	}
	var te *TimeoutError
	if !errors.As(err2, &te) || te.Leg != LegA {
		t.Fatalf("Run = %v, want a talker timeout", err2)
	}
	if pool.Free() != 2 {
		t.Errorf("free = %d, want 2", pool.Free())
	}
}

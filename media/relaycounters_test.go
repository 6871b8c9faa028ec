package media

import (
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// The pool counts what its relays received and forwarded.
func TestRelayCountersForwarded(t *testing.T) {
	t.Parallel()
	pool := testPool(t, 2)
	r, a, b := connectedRelay(t, RelayConfig{Pool: pool})
	a.send(r.Local(LegA), rtpPacket(0, 1, 0, 0xA, false, []byte{1}))
	b.recv()
	// The poller counts a datagram forwarded once the kernel took it,
	// which may be after the phone got it.
	c := pool.Counters()
	for c.Forwarded == 0 && c.Dropped() == 0 {
		runtime.Gosched()
		c = pool.Counters()
	}
	if c.Received != 1 || c.Forwarded != 1 || c.Dropped() != 0 || c.LossRate() != 0 {
		t.Errorf("counters %+v, want 1 received and forwarded, none dropped", c)
	}
}

// A packet the kernel refuses to send counts as a send error, and one for
// a leg with nowhere to go as lacking a destination: both are drops, in
// the pool's counters and in the leg's Dropped.
func TestRelayCountersDrops(t *testing.T) {
	t.Parallel()
	pool := testPool(t, 2)
	r, _ := newRelay(t, RelayConfig{Pool: pool})
	a := newEndpoint(t)
	r.SetRemote(LegA, a.addr(), netip.AddrPort{})
	// An address off the host: a socket bound to loopback cannot send
	// there (the kernel says EINVAL, or ENETUNREACH without a route).
	r.SetRemote(LegB, netip.MustParseAddrPort("192.0.2.1:9"), netip.AddrPort{})
	for seq := uint16(1); pool.Counters().SendErrors == 0; seq++ {
		a.send(r.Local(LegA), rtpPacket(0, seq, 160*uint32(seq), 0xA, false, []byte{1}))
		time.Sleep(time.Millisecond)
	}
	c := pool.Counters()
	if c.Received == 0 || c.Dropped() < c.SendErrors || c.LossRate() == 0 {
		t.Errorf("counters %+v: want datagrams received, and send errors among the drops", c)
	}
	if s := r.Stats(LegA); s.Dropped == 0 {
		t.Errorf("leg a stats %+v, want its send errors dropped", s)
	}

	// Leg b on hold: nowhere to send.
	r.SetRemote(LegB, netip.MustParseAddrPort("0.0.0.0:0"), netip.AddrPort{})
	for seq := uint16(1000); pool.Counters().NoDestination == 0; seq++ {
		a.send(r.Local(LegA), rtpPacket(0, seq, 160*uint32(seq), 0xA, false, []byte{1}))
		time.Sleep(time.Millisecond)
	}
}

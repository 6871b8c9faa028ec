package media

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// portsUsed hands each test its own ports from 30000 up: below the kernel's
// ephemeral range and above the product's default RTP range (20000-30000).
var portsUsed atomic.Int32

// testPool returns a pool of the given number of pairs on ports no other
// test of this package uses.
func testPool(t testing.TB, pairs int) *PortPool {
	t.Helper()
	return testPoolClock(t, pairs, realClock{})
}

// testPoolClock is testPool on clk, handing out its ports in order from
// the lowest.
func testPoolClock(t testing.TB, pairs int, clk clock) *PortPool {
	t.Helper()
	hi := 30000 + int(portsUsed.Add(int32(2*pairs)))
	if hi > 32760 {
		t.Fatalf("test port range exhausted")
	}
	p, err := newPortPool(hi-2*pairs, hi-1, clk, func(int) int { return 0 })
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// endpoint is a fake phone: one UDP socket on loopback.
type endpoint struct {
	t    testing.TB
	conn *net.UDPConn
	buf  []byte
}

func newEndpoint(t testing.TB) *endpoint {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &endpoint{t: t, conn: c, buf: make([]byte, 2048)}
}

func (e *endpoint) addr() netip.AddrPort {
	a := e.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

func (e *endpoint) send(to netip.AddrPort, b []byte) {
	e.t.Helper()
	if _, err := e.conn.WriteToUDPAddrPort(b, to); err != nil {
		e.t.Fatalf("send to %s: %v", to, err)
	}
}

// recv blocks until a datagram arrives; the test's -timeout is the only limit.
func (e *endpoint) recv() ([]byte, netip.AddrPort) {
	e.t.Helper()
	n, from, err := e.conn.ReadFromUDPAddrPort(e.buf)
	if err != nil {
		e.t.Fatalf("recv on %s: %v", e.addr(), err)
	}
	return append([]byte(nil), e.buf[:n]...), netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
}

func rtpPacket(pt uint8, seq uint16, ts, ssrc uint32, marker bool, payload []byte) []byte {
	b, err := (&rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc, Marker: marker},
		Payload: payload,
	}).Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

// rtcpRR is a minimal RTCP receiver report without report blocks.
func rtcpRR(ssrc uint32) []byte {
	return []byte{0x80, 201, 0, 1, byte(ssrc >> 24), byte(ssrc >> 16), byte(ssrc >> 8), byte(ssrc)}
}

func rtcpPort(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr(), a.Port()+1)
}

// fakeClock drives a relay's timers from the test: Now returns what set
// stored, and ticks come only when the test sends them.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	ticks chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC), ticks: make(chan time.Time)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTicker(time.Duration) (<-chan time.Time, func()) { return c.ticks, func() {} }

// NewTimer returns a timer that, once armed, fires at the next tick the
// test sends: a tick sent after the one that fired it is taken only once
// f re-armed it, so a test knows the check before it is over.
func (c *fakeClock) NewTimer(f func(time.Time)) timer { return &fakeTimer{c: c, f: f} }

type fakeTimer struct {
	c    *fakeClock
	f    func(time.Time)
	mu   sync.Mutex
	stop chan struct{} // closed by Stop; nil when not armed
}

func (t *fakeTimer) Reset(time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	armed := t.stop != nil
	if armed {
		close(t.stop)
	}
	stop := make(chan struct{})
	t.stop = stop
	go func() {
		select {
		case now := <-t.c.ticks:
			t.mu.Lock()
			if t.stop == stop {
				t.stop = nil
			}
			t.mu.Unlock()
			t.f(now)
		case <-stop:
		}
	}()
	return armed
}

func (t *fakeTimer) Stop() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stop == nil {
		return false
	}
	close(t.stop)
	t.stop = nil
	return true
}

func (c *fakeClock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// newRelay builds a relay on loopback from a fresh pool and starts Run; the
// returned channel yields Run's result. The relay is closed when the test
// ends.
func newRelay(t testing.TB, cfg RelayConfig) (*Relay, <-chan error) {
	t.Helper()
	if cfg.Pool == nil {
		cfg.Pool = testPool(t, 2)
	}
	if !cfg.IP.IsValid() {
		cfg.IP = loopback
	}
	r, err := NewRelay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(t.Context()) }()
	t.Cleanup(func() { r.Close() })
	return r, done
}

// connectedRelay is newRelay with a phone on each leg, each leg's
// endpoint set to its phone.
func connectedRelay(t testing.TB, cfg RelayConfig) (*Relay, *endpoint, *endpoint) {
	t.Helper()
	r, _ := newRelay(t, cfg)
	a, b := newEndpoint(t), newEndpoint(t)
	r.SetRemote(LegA, a.addr(), netip.AddrPort{})
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})
	return r, a, b
}

// loopbackRelay returns a relay on loopback with two ports of pool.
func loopbackRelay(t testing.TB, pool *PortPool) *Relay {
	t.Helper()
	r, err := NewRelay(RelayConfig{Pool: pool, IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

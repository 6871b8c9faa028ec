package media

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestNewPortPoolRanges(t *testing.T) {
	tests := []struct {
		name   string
		lo, hi int
		pairs  int // 0: an error
	}{
		{"even bounds", 20000, 20009, 5},
		{"odd low starts one up", 20001, 20010, 4},
		{"one pair", 20000, 20001, 1},
		{"odd high leaves its port unused", 20000, 20004, 2},
		{"no room for rtcp", 20000, 20000, 0},
		{"odd single port", 20001, 20002, 0},
		{"low above high", 20010, 20000, 0},
		{"port zero", 0, 100, 0},
		{"above 65535", 65000, 65536, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPortPool(tt.lo, tt.hi)
			if tt.pairs == 0 {
				if err == nil {
					t.Fatalf("NewPortPool(%d, %d) = %d pairs, want an error", tt.lo, tt.hi, p.Size())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Size() != tt.pairs || p.Free() != tt.pairs {
				t.Errorf("size %d free %d, want %d", p.Size(), p.Free(), tt.pairs)
			}
		})
	}
}

func TestPortPoolPairsAreEvenAndOdd(t *testing.T) {
	t.Parallel()
	p := testPool(t, 2)
	pp, err := p.Listen(loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Release()
	rtpPort := pp.RTP.LocalAddr().(*net.UDPAddr).Port
	rtcpPort := pp.RTCP.LocalAddr().(*net.UDPAddr).Port
	if rtpPort%2 != 0 || rtcpPort != rtpPort+1 || pp.Port() != rtpPort {
		t.Errorf("rtp %d rtcp %d Port() %d, want an even port and the next one", rtpPort, rtcpPort, pp.Port())
	}
}

func TestPortPoolExhaustionAndRelease(t *testing.T) {
	t.Parallel()
	p := testPool(t, 3)
	var got []*PortPair
	for {
		pp, err := p.Listen(loopback)
		if errors.Is(err, ErrNoPorts) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, pp)
	}
	if len(got) == 0 || len(got) > 3 {
		t.Fatalf("handed out %d pairs from a pool of 3", len(got))
	}
	if p.Free() != 3-len(got) {
		t.Errorf("free = %d with %d handed out", p.Free(), len(got))
	}

	released := got[0].Port()
	got[0].Release()
	got[0].Release() // twice is harmless
	if p.Free() != 3-len(got)+1 {
		t.Errorf("free after release = %d, want %d", p.Free(), 3-len(got)+1)
	}
	pp, err := p.Listen(loopback)
	if err != nil {
		t.Fatalf("listen after release: %v", err)
	}
	if len(got) == 3 && pp.Port() != released {
		t.Errorf("got port %d, want the released %d", pp.Port(), released)
	}
	got[0] = pp
	for _, pp := range got {
		pp.Release()
	}
	if p.Free() != 3 {
		t.Errorf("free after releasing all = %d, want 3", p.Free())
	}
}

func TestPortPoolSkipsBusyPorts(t *testing.T) {
	t.Parallel()
	p := testPool(t, 2)
	// Another process holds the RTCP port of the first pair.
	first := p.queue[p.head].port
	busy, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(first+1))))
	if err != nil {
		// Someone else holds it, so the test cannot free it later.
		if os.Getenv("CI") == "true" {
			t.Fatalf("port %d taken by another process: %v", first+1, err)
		}
		t.Skipf("port %d taken by another process (CI=true would fail): %v", first+1, err)
	}
	pp, err := p.Listen(loopback)
	if err != nil {
		t.Fatal(err)
	}
	if pp.Port() == first {
		t.Errorf("got the pair whose rtcp port is busy")
	}
	if _, err := p.Listen(loopback); !errors.Is(err, ErrNoPorts) {
		t.Errorf("second listen: %v, want ErrNoPorts", err)
	}
	busy.Close()
	pp2, err := p.Listen(loopback)
	if err != nil {
		t.Fatalf("listen once the port is free again: %v", err)
	}
	if pp2.Port() != first {
		t.Errorf("got port %d, want %d", pp2.Port(), first)
	}
	pp.Release()
	pp2.Release()
	if p.Free() != 2 {
		t.Errorf("free = %d, want 2", p.Free())
	}
}

func TestPortPoolListenErrors(t *testing.T) {
	t.Parallel()
	p := testPool(t, 1)
	if _, err := p.Listen(netip.Addr{}); err == nil {
		t.Error("listen on no address: no error")
	}
	// 192.0.2.1 (TEST-NET-1) is not a local address: fail at once, not ErrNoPorts.
	if _, err := p.Listen(netip.MustParseAddr("192.0.2.1")); err == nil || errors.Is(err, ErrNoPorts) {
		t.Errorf("listen on a foreign address: %v, want a bind error", err)
	}
	if p.Free() != 1 {
		t.Errorf("free = %d after failed listens, want 1", p.Free())
	}
}

func TestPortPoolConcurrent(t *testing.T) {
	t.Parallel()
	p := testPool(t, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				pp, err := p.Listen(loopback)
				if errors.Is(err, ErrNoPorts) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				pp.Release()
			}
		})
	}
	wg.Wait()
	if p.Free() != 8 {
		t.Errorf("free = %d after concurrent use, want 8", p.Free())
	}
}

func TestPortPoolQuarantine(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := testPoolClock(t, 3, clk)
	p.SetQuarantine(30 * time.Second)
	first, err := p.Listen(loopback)
	if err != nil {
		t.Fatal(err)
	}
	second, err := p.Listen(loopback)
	if err != nil {
		t.Fatal(err)
	}
	freed := first.Port()
	first.Release()
	clk.advance(10 * time.Second)
	second.Release()

	// The never-used pair goes first; then the two freed ones wait out
	// their quarantine, in the order they were freed.
	third, err := p.Listen(loopback)
	if err != nil || third.Port() == freed || third.Port() == second.Port() {
		t.Fatalf("listen = %v, %v: want the unused pair", third, err)
	}
	if pp, err := p.Listen(loopback); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("listen 10 s after a release = port %d, %v; want ErrNoPorts", pp.Port(), err)
	}
	clk.advance(20*time.Second - time.Nanosecond)
	if _, err := p.Listen(loopback); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("listen just before the quarantine ends: %v, want ErrNoPorts", err)
	}
	clk.advance(time.Nanosecond)
	again, err := p.Listen(loopback)
	if err != nil || again.Port() != freed {
		t.Fatalf("listen after the quarantine = %v, %v; want port %d", again, err, freed)
	}
	if _, err := p.Listen(loopback); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("the second freed pair came out of quarantine early: %v", err)
	}
	again.Release()
	third.Release()
}

// What a stranger sends to ports no call holds is dropped, not kept for the
// call that gets them next: the new relay's legs start with nothing
// rejected, and their first packets are the phones'.
func TestPortPoolUnallocatedPortsDropPackets(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	pool := testPoolClock(t, 2, clk)
	pool.SetQuarantine(time.Minute)
	old, err := NewRelay(RelayConfig{Pool: pool, IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	ports := []netip.AddrPort{old.Local(LegA), old.Local(LegB)}
	old.Close()

	stranger := endpointOn(t, "127.0.0.66")
	for i := range 20 {
		for _, to := range ports {
			stranger.send(to, rtpPacket(0, uint16(i), 0, 0xE, false, []byte{0xEE}))
			stranger.send(rtcpPort(to), rtcpRR(0xE))
		}
	}
	if _, err := NewRelay(RelayConfig{Pool: pool, IP: loopback}); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("new relay during the quarantine: %v, want ErrNoPorts", err)
	}
	clk.advance(time.Minute)
	r, _ := newRelay(t, RelayConfig{Pool: pool})
	if got := []netip.AddrPort{r.Local(LegA), r.Local(LegB)}; got[0] != ports[0] || got[1] != ports[1] {
		t.Fatalf("new relay on %v, want the freed ports %v", got, ports)
	}
	a, b := newEndpoint(t), newEndpoint(t)
	r.SetRemote(LegA, a.addr(), netip.AddrPort{})
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})
	a.send(r.Local(LegA), rtpPacket(0, 1, 0, 0xA, false, []byte{0xAA}))
	if got, _ := b.recv(); got[len(got)-1] != 0xAA {
		t.Fatalf("b heard %x", got)
	}
	b.send(r.Local(LegB), rtpPacket(0, 1, 0, 0xB, false, []byte{0xBB}))
	if got, _ := a.recv(); got[len(got)-1] != 0xBB {
		t.Fatalf("a heard %x", got)
	}
	for _, l := range []Leg{LegA, LegB} {
		if s := r.Stats(l); s.Rejected != 0 || s.Invalid != 0 || s.Packets != 1 {
			t.Errorf("leg %s got stale packets: %+v", l, s)
		}
	}
	if !stranger.heardNothing() {
		t.Error("the stranger heard the call")
	}
}

// After a restart the pool does not start where the last process did: it
// starts at a random pair (here the one intn picks) and goes round.
func TestPortPoolStartsAtARandomPair(t *testing.T) {
	p, err := newPortPool(20000, 20009, realClock{}, func(n int) int {
		if n != 5 {
			t.Errorf("intn(%d), want 5 pairs", n)
		}
		return 3
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for range 5 {
		port, ok := p.take()
		if !ok {
			t.Fatal("pool empty too soon")
		}
		got = append(got, port)
	}
	if want := []int{20006, 20008, 20000, 20002, 20004}; !slices.Equal(got, want) {
		t.Errorf("ports handed out %v, want %v", got, want)
	}
}

package media

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
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
	first := p.queue[0]
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

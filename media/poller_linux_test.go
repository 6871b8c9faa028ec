package media

import (
	"bytes"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// Relays on Linux are served by the pollers: their sockets are detached
// from the runtime's poller, packets flow both ways, and when the relays
// are closed every duplicated descriptor is closed and the pollers'
// goroutines end (nothing is left running after the last call).
func TestPollerServesRelaysAndLetsGo(t *testing.T) {
	pickPoller()              // the pollers' own epoll and eventfd descriptors stay
	rawSendFD(loopback.As4()) // and the relay's raw socket for sends from loopback
	for pollerRunning() {     // the relays of the tests before are let go
		runtime.Gosched()
	}
	fds := openFDs(t)
	relays := make([]*Relay, 3)
	for i := range relays {
		r, a, b := connectedRelay(t, RelayConfig{})
		relays[i] = r
		payload := bytes.Repeat([]byte{0xD5}, 160)
		for j := range 5 {
			pa := rtpPacket(0, uint16(100+j), uint32(160*j), 0xAAAA, false, payload)
			a.send(r.Local(LegA), pa)
			if got, _ := b.recv(); !bytes.Equal(got, pa) {
				t.Fatalf("relay %d: a→b packet %d changed", i, j)
			}
			pb := rtpPacket(0, uint16(200+j), uint32(160*j), 0xBBBB, false, payload)
			b.send(r.Local(LegB), pb)
			if got, _ := a.recv(); !bytes.Equal(got, pb) {
				t.Fatalf("relay %d: b→a packet %d changed", i, j)
			}
		}
		for i := range r.legs {
			l := &r.legs[i]
			l.ports.mu.Lock()
			d := l.ports.detached
			l.ports.mu.Unlock()
			if d == nil {
				t.Fatalf("relay %d leg %s: sockets not detached for a poller", i, l.id)
			}
		}
	}
	if !pollerRunning() {
		t.Error("no poller goroutine while relays run")
	}
	for _, r := range relays {
		r.Close()
	}
	// The pollers carry out the close requests at their next round.
	for pollerRunning() {
		runtime.Gosched()
	}
	// The endpoints' sockets close at cleanup: count the relays' alone.
	if got := openFDs(t); got != fds+6 {
		t.Errorf("open descriptors: %d, want %d (before) + 6 (the test's phones)", got, fds)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func pollerRunning() bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "media.(*poller).loop")
}

// A peer whose SDP names an IPv6 address for a relay on IPv4 gets
// nothing (the packets are dropped and counted), and the relay goes on:
// sending there once crashed the process (a packet made into an IPv4
// address it is not).
func TestRelayDropsWhatItCannotSendToIPv6(t *testing.T) {
	r, a, b := connectedRelay(t, RelayConfig{})
	r.SetRemote(LegB, netip.MustParseAddrPort("[2001:db8::7]:40000"), netip.AddrPort{})
	payload := bytes.Repeat([]byte{0xD5}, 160)
	for j := range 20 { // some arrive together and are sent as a batch
		a.send(r.Local(LegA), rtpPacket(0, uint16(100+j), uint32(160*j), 0xAAAA, false, payload))
	}
	for r.Stats(LegA).Dropped < 20 {
		runtime.Gosched()
	}
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})
	pa := rtpPacket(0, 120, 160*20, 0xAAAA, false, payload)
	a.send(r.Local(LegA), pa)
	if got, _ := b.recv(); !bytes.Equal(got, pa) {
		t.Fatal("relay stopped relaying")
	}
}

// The pollers read through io_uring where the kernel allows it, unless
// SWITCHBOARD_RELAY_IO=epoll; with a ring, a relay's packets go through
// loopRing, and each poller's ring and descriptors go with its goroutine.
func TestPollerRingWhenAvailable(t *testing.T) {
	pickPoller()
	want := os.Getenv("SWITCHBOARD_RELAY_IO") != "epoll" && uringWorks()
	if pollersUseRing != want {
		t.Fatalf("pollers use io_uring: %v, want %v", pollersUseRing, want)
	}
	t.Logf("io_uring: %v", pollersUseRing)
	if !want {
		return
	}
	r, a, b := connectedRelay(t, RelayConfig{})
	payload := bytes.Repeat([]byte{0xD5}, 160)
	pa := rtpPacket(0, 100, 0, 0xAAAA, false, payload)
	a.send(r.Local(LegA), pa)
	if got, _ := b.recv(); !bytes.Equal(got, pa) {
		t.Fatal("a→b packet changed")
	}
	buf := make([]byte, 1<<20)
	if !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "media.(*poller).loopRing") {
		t.Error("no poller runs a ring")
	}
}

// A poller with a ring naps holding its thread's processor (ringRound.nap),
// so it adds one to the runtime when its ring first runs: the rest of the
// program keeps the processors it had. Pollers without a ring (epoll)
// nap in the runtime and add none.
func TestRingPollerHasProcessorOfItsOwn(t *testing.T) {
	pickPoller()
	r, a, b := connectedRelay(t, RelayConfig{})
	pa := rtpPacket(0, 100, 0, 0xAAAA, false, bytes.Repeat([]byte{0xD5}, 160))
	a.send(r.Local(LegA), pa)
	if got, _ := b.recv(); !bytes.Equal(got, pa) {
		t.Fatal("a→b packet changed")
	}
	procsMu.Lock()
	defer procsMu.Unlock()
	reserved := 0
	for _, p := range pollers {
		if p.reserved.Load() {
			reserved++
		}
	}
	switch {
	case pollersUseRing && reserved == 0:
		t.Fatal("a poller relays through its ring with no processor reserved for it")
	case !pollersUseRing && reserved > 0:
		t.Fatalf("%d pollers without a ring reserved a processor", reserved)
	}
	if got, want := runtime.GOMAXPROCS(0), pollersProcs+reserved; got != want {
		t.Errorf("GOMAXPROCS %d, want %d (%d when the pollers were made, %d reserved)", got, want, pollersProcs, reserved)
	}
}

// The ring's entries are laid out as linux/io_uring.h has them.
func TestUringLayout(t *testing.T) {
	if n := unsafe.Sizeof(uringSQE{}); n != 64 {
		t.Errorf("sqe: %d bytes, want 64", n)
	}
	if n := unsafe.Sizeof(uringCQE{}); n != 16 {
		t.Errorf("cqe: %d bytes, want 16", n)
	}
	if n := unsafe.Sizeof(uringParams{}); n != 120 {
		t.Errorf("params: %d bytes, want 120", n)
	}
}

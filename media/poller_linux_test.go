package media

import (
	"bytes"
	"os"
	"runtime"
	"strings"
	"testing"
)

// Relays on Linux are served by the pollers: their sockets are detached
// from the runtime's poller, packets flow both ways, and when the relays
// are closed every duplicated descriptor is closed and the pollers'
// goroutines end (nothing is left running after the last call).
func TestPollerServesRelaysAndLetsGo(t *testing.T) {
	pickPoller() // the pollers' own epoll and eventfd descriptors stay
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

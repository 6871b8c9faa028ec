package media

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A ring poller's idle wait: the sockets' set stays in the poller's set
// for the ring's life (no EPOLL_CTL_ADD for each wait, whose checks walk
// every socket), armed only while the poller waits. A datagram arriving
// while the poller goes round readies nothing the runtime waits on; one
// arriving while it waits ends the wait, and so does the wake-up, after
// which the set is disarmed again.
func TestRingIdleArmsTheSocketsOnlyForTheWait(t *testing.T) {
	needUring(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	u, err := newUring()
	if err != nil {
		t.Fatal("no ring, though io_uring works:", err)
	}
	defer u.close()
	// A poller of the test's own, never started: its goroutine is this one.
	p, err := newPoller()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p.wake)
	r := ringRound{p: p, u: u, b: getBatch(), sockEp: p.newSockEp()}
	defer putBatch(r.b)
	if r.sockEp < 0 {
		t.Fatal("no sockets' set")
	}
	defer p.closeSockEp(r.sockEp)

	s, to := pollerSock(t, p)
	defer unix.Close(s.fd)
	got := 0
	s.handle = func(b *batch) { got += b.n }
	s.readErr = func(err error) { t.Errorf("socket: %v", err) }
	r.arms = append(r.arms, s)
	r.arm()
	if !s.watched {
		t.Fatal("armed socket not in the sockets' set")
	}
	r.submit(enterGetEvents)
	r.gather()

	sendTo := rtpSender(t, to)
	send := func() {
		if err := sendTo(); err != nil {
			t.Error(err)
		}
	}
	// ready reports what the poller's set holds ready, without waiting:
	// what would wake the runtime's poller.
	ready := func() []uint64 {
		var evs [4]unix.EpollEvent
		n, err := unix.EpollWait(p.epfd, evs[:], 0)
		if err != nil {
			t.Fatal(err)
		}
		var ids []uint64
		for i := range n {
			ids = append(ids, epollID(&evs[i]))
		}
		return ids
	}
	round := func(want int) {
		t.Helper()
		r.submit(enterGetEvents)
		r.gather()
		if got != want {
			t.Fatalf("relayed %d datagrams, want %d", got, want)
		}
	}
	inSet := func(when string) {
		t.Helper()
		if _, ok := epollItem(t, p.epfd, r.sockEp); !ok {
			t.Fatalf("%s: the sockets' set is not in the poller's set", when)
		}
	}

	inSet("made")
	send() // loopback delivers at once
	if ids := ready(); len(ids) != 0 {
		t.Fatalf("a datagram while the poller goes round readied %x", ids)
	}
	round(1)

	// A datagram that arrives during the wait, or just before it, ends it.
	go send()
	r.idle()
	inSet("after a datagram's wait")
	if ids := ready(); len(ids) != 0 {
		t.Fatalf("after a datagram's wait, ready: %x", ids)
	}
	round(2)
	send()
	if ids := ready(); len(ids) != 0 {
		t.Fatalf("a datagram after a datagram's wait readied %x", ids)
	}
	round(3)

	// The wake-up ends the wait, and the set is disarmed after it.
	p.interrupt()
	r.idle()
	var buf [8]byte
	unix.Read(p.wake, buf[:])
	inSet("after the wake-up's wait")
	send()
	if ids := ready(); len(ids) != 0 {
		t.Fatalf("a datagram after the wake-up's wait readied %x", ids)
	}
	round(4)
}

// epollItem returns the events of fd's item in the epoll set epfd, as
// /proc/self/fdinfo tells them, and whether fd is in the set.
func epollItem(t *testing.T, epfd, fd int) (events uint32, ok bool) {
	t.Helper()
	info, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", epfd))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(info)) {
		var tfd int
		var ev uint32
		if n, _ := fmt.Sscanf(line, "tfd: %d events: %x", &tfd, &ev); n == 2 && tfd == fd {
			return ev, true
		}
	}
	return 0, false
}

// A ring poller naps through a lull between packets (lull), and then,
// when nothing more comes, waits in its sockets' set (idle) rather than
// napping for good; a datagram in the lull and one after the wait are
// both relayed. (A poller with fewer than lullSockets sockets waits at
// once; this one's threshold is lowered to its one socket.)
func TestRingPollerWaitsAfterALull(t *testing.T) {
	needUring(t)
	p, err := newPoller()
	if err != nil {
		t.Fatal(err)
	}
	p.ring = true
	p.reserved.Store(true) // the program's processors stay as they are
	p.lullSockets = 0      // naps through lulls with its one socket
	s, to := pollerSock(t, p)
	got := make(chan int, 16)
	if err := p.serve(s, func(b *batch) { got <- b.n }, func(err error) { t.Errorf("socket: %v", err) }); err != nil {
		t.Fatal(err)
	}
	sendTo := rtpSender(t, to)
	send := func() {
		t.Helper()
		if err := sendTo(); err != nil {
			t.Fatal(err)
		}
		if n := <-got; n != 1 {
			t.Fatalf("relayed %d datagrams, want 1", n)
		}
	}
	waiting := func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.waiting
	}
	send()
	send() // most likely in the lull's naps
	for !waiting() {
		time.Sleep(time.Millisecond)
	}
	send()
	p.close(s)
	<-s.done
}

// rtpSender returns a function that sends an RTP datagram to to, from a
// socket of the test's own.
func rtpSender(t *testing.T, to netip.AddrPort) func() error {
	t.Helper()
	from, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { from.Close() })
	pkt := rtpPacket(0, 1, 160, 1, false, make([]byte, 160))
	return func() error {
		_, err := from.WriteToUDPAddrPort(pkt, to)
		return err
	}
}

package media

import (
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// A round relays every datagram that arrived before it, however many
// sockets hold one: the kernel runs at most ringTaskRuns of its deferred
// receives in an entry (Linux 6.13 on), and gather enters again for the
// rest. Before, the rest waited for the rounds to come, and the packets
// of a few hundred calls for tens of milliseconds.
func TestRingRoundGathersEverySocket(t *testing.T) {
	needUring(t)
	const n = 8 * ringTaskRuns
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	u, err := newUring()
	if err != nil {
		t.Fatal("no ring, though io_uring works:", err)
	}
	defer u.close()
	p := &poller{socks: make(map[uint64]*sock)}
	r := ringRound{p: p, u: u, b: getBatch(), sockEp: -1}
	defer putBatch(r.b)
	got := 0
	var addrs []netip.AddrPort
	for i := range n {
		s, a := pollerSock(t, p)
		addrs = append(addrs, a)
		defer unix.Close(s.fd)
		if fl, err := unix.FcntlInt(uintptr(s.fd), unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK == 0 {
			t.Fatalf("poller's socket %d: flags %#x, %v: want non-blocking", i, fl, err)
		}
		s.handle = func(b *batch) { got += b.n }
		s.readErr = func(err error) { t.Errorf("socket %d: %v", i, err) }
		r.arms = append(r.arms, s)
	}
	r.arm()
	r.submit(enterGetEvents)
	r.gather()
	from, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer from.Close()
	pkt := rtpPacket(0, 1, 160, 1, false, make([]byte, 160))
	for _, a := range addrs {
		if _, err := from.WriteToUDPAddrPort(pkt, a); err != nil {
			t.Fatal(err)
		}
	}
	// Loopback delivers at once: every socket has its datagram, and its
	// receive is queued in the ring as deferred work.
	r.submit(enterGetEvents)
	r.gather()
	if got != n || r.pkts != n {
		t.Errorf("one round relayed %d datagrams (counted %d) of %d, one a socket", got, r.pkts, n)
	}
}

// pollerSock returns a socket of p's on loopback, as a relay's are
// opened (listenPair), and its address.
func pollerSock(t *testing.T, p *poller) (*sock, netip.AddrPort) {
	t.Helper()
	fd, v6, err := listenUDP(loopback, 0)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return p.adopt(fd, v6), netip.AddrPortFrom(loopback, uint16(sa.(*unix.SockaddrInet4).Port))
}

// needUring skips a test of the ring poller where io_uring is unavailable
// (an old kernel, a sandbox forbidding it), and fails it under CI=true,
// whose machine has it: there the relay must be tested as it runs.
func needUring(t *testing.T) {
	t.Helper()
	if uringWorks() {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("io_uring unavailable (CI=true)")
	}
	t.Skip("no io_uring")
}

package media

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// A socket whose receive queue overflowed says so with the datagrams read
// after, and a batch counts what was lost.
func TestRecvOverflowCounted(t *testing.T) {
	t.Parallel()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	countOverflow(conn)
	if err := conn.SetReadBuffer(1024); err != nil { // the kernel's least
		t.Fatal(err)
	}
	snd := newEndpoint(t)
	to := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	const sent = 200
	for range sent {
		snd.send(to, make([]byte, 200))
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var rxq rxqCount
	var got, lost int
	b := new(batch)
	drain := func() {
		rc.Control(func(fd uintptr) {
			for {
				n, errno := recvmmsg(fd, b)
				if errno == unix.EINTR {
					continue
				}
				if errno != 0 || n == 0 {
					return
				}
				b.fill(n, &rxq)
				got += n
				lost += int(b.overflow)
			}
		})
	}
	drain()
	// The count comes with the datagrams queued after the drops.
	snd.send(to, make([]byte, 200))
	drain()
	if got > sent/2 || lost != sent+1-got {
		t.Errorf("read %d of %d datagrams (and one more after), %d counted lost; want the rest counted lost", got, sent, lost)
	}
}

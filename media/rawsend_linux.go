//go:build linux

package media

import (
	"encoding/binary"
	"net/netip"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The ring sends a relayed IPv4 datagram through one raw socket of the
// process's (IPPROTO_RAW, the IP and UDP headers written here) rather than
// through the relay's own UDP socket, with the same addresses and ports
// on the wire. Why: a UDP socket's sent datagram, once the kernel frees
// it (at once on loopback, on the device's completion otherwise), wakes
// whoever waits on the sending socket's queue (sock_wfree, "write
// space"). A relay socket always has two waiting, the ring's multishot
// recvmsg and the poller's epoll set (uring_nap_linux.go), so every send
// took the queue's lock with interrupts off and called both, to find
// neither wanting to write; on a virtual machine turning interrupts back
// on is costly (pvm_irq_enable). Nobody waits on the raw socket. perf of
// the server at 200 calls a second (bench/sb-calls.sh cps 200 PERF=1), the
// relay's own sockets against the raw one: the wake-ups (sock_wfree) 5.9%
// against 0.3% of the samples, the ring's sends (io_sendmsg) 18.1% against
// 13.4%.
//
// Raw sockets take CAP_NET_RAW: without it, or with
// SWITCHBOARD_RELAY_SEND=socket, or for IPv6 and datagrams too large for
// a path's usual MTU (rawMaxPayload), the relay's own socket sends.

// rawMaxPayload is the largest UDP payload sent raw: a raw datagram is
// never fragmented by the kernel (EMSGSIZE past the route's MTU), where a
// UDP socket's would be; 1,200 bytes fit any path's MTU, tunnels too, and
// voice is far below (G.711's 20 ms: 172).
const rawMaxPayload = 1200

// rawHeaders is the IPv4 and UDP headers' length.
const rawHeaders = 20 + 8

// rawSockets are the process's raw sockets for the relay's sends, one for
// each IPv4 address relay sockets are bound to, bound to it as well: the
// kernel then routes a raw datagram as it would the UDP socket's, from
// that address (a socket bound to loopback cannot send off the host:
// EINVAL), and writes the route's own source address into the datagrams of
// the one bound to none. Opened when the first relay socket on the address
// is, kept for the process's life; -1 is an address's with none (not
// allowed: no CAP_NET_RAW; or switched off).
var rawSockets struct {
	sync.Mutex
	fds map[[4]byte]int
}

// rawSendFD returns the raw socket for sends from src, -1 when there is
// none.
func rawSendFD(src [4]byte) int {
	rawSockets.Lock()
	defer rawSockets.Unlock()
	if fd, ok := rawSockets.fds[src]; ok {
		return fd
	}
	if rawSockets.fds == nil {
		rawSockets.fds = make(map[[4]byte]int)
	}
	fd := openRawSend(src)
	rawSockets.fds[src] = fd
	return fd
}

// openRawSend returns a new raw socket bound to src, -1 when none can be
// had.
func openRawSend(src [4]byte) int {
	if os.Getenv("SWITCHBOARD_RELAY_SEND") == "socket" {
		return -1
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return -1
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: src}); err != nil {
		unix.Close(fd)
		return -1
	}
	return fd
}

// rawSend fills sl to send data from s's address and port to dst through
// the raw socket; false when it cannot (the caller uses s's own socket).
func (sl *sendSlot) rawSend(s *sock, data []byte, dst netip.AddrPort) (fd int, ok bool) {
	if s.rawFD < 0 || len(data) > rawMaxPayload {
		return -1, false
	}
	a := dst.Addr()
	if !a.Is4() && !a.Is4In6() {
		return -1, false
	}
	d4 := a.Unmap().As4()
	h := sl.data[:rawHeaders+len(data)]
	copy(h[rawHeaders:], data)
	ulen := 8 + len(data)
	// IPv4: version and header length, TOS, total length (the kernel's),
	// ID (the kernel's when 0), don't fragment, TTL, UDP, checksum (the
	// kernel's), source (the kernel's when 0: by the route, as a UDP
	// socket bound to no address), destination.
	h[0], h[1] = 0x45, 0
	binary.BigEndian.PutUint16(h[2:], uint16(rawHeaders+len(data)))
	h[4], h[5], h[6], h[7] = 0, 0, 0x40, 0
	h[8], h[9], h[10], h[11] = 64, unix.IPPROTO_UDP, 0, 0
	copy(h[12:16], s.src4[:])
	copy(h[16:20], d4[:])
	u := h[20:]
	binary.BigEndian.PutUint16(u[0:], s.port)
	binary.BigEndian.PutUint16(u[2:], dst.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(ulen))
	u[6], u[7] = 0, 0
	if s.src4 != [4]byte{} { // else none, as IPv4 allows
		c := udpChecksum(s.src4, d4, u[:ulen])
		binary.BigEndian.PutUint16(u[6:], c)
	}
	to := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sl.to))
	*to = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: d4}
	sl.iov.Base = &sl.data[0]
	sl.iov.SetLen(len(h))
	sl.hdr = unix.Msghdr{Name: (*byte)(unsafe.Pointer(to)), Namelen: unix.SizeofSockaddrInet4, Iov: &sl.iov}
	sl.hdr.SetIovlen(1)
	return s.rawFD, true
}

// udpChecksum returns the UDP checksum of seg (header with a zero
// checksum, then payload) from src to dst (RFC 768); 0 is sent as all
// ones.
func udpChecksum(src, dst [4]byte, seg []byte) uint16 {
	sum := uint64(binary.BigEndian.Uint32(src[:])) + uint64(binary.BigEndian.Uint32(dst[:])) +
		unix.IPPROTO_UDP + uint64(len(seg))
	for len(seg) >= 8 {
		sum += uint64(binary.BigEndian.Uint32(seg)) + uint64(binary.BigEndian.Uint32(seg[4:]))
		seg = seg[8:]
	}
	for len(seg) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(seg))
		seg = seg[2:]
	}
	if len(seg) == 1 {
		sum += uint64(seg[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	c := ^uint16(sum)
	if c == 0 {
		c = 0xffff
	}
	return c
}

package media

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Linux reads a relay socket with recvmmsg(2) and sends a batch of
// packets to one socket with sendmmsg(2).

// batchSys is the system call side of a batch: one message header, buffer
// descriptor and source address per slot, pointing into the batch itself.
type batchSys struct {
	hdrs  [batchSize]unix.Mmsghdr
	iovs  [batchSize]unix.Iovec
	names [batchSize]unix.RawSockaddrInet6 // room for IPv4 and IPv6

	out     [batchSize]unix.Mmsghdr // sendmmsg: one per queued packet
	outIovs [batchSize]unix.Iovec
	outTo   [batchSize]unix.RawSockaddrInet6
}

// readBatches calls handle with each batch of datagrams read from conn
// until conn is closed. It returns nil then, or the error that stopped it
// otherwise; an error of one read is passed to readErr and the loop goes
// on.
//
// The batch is read within the socket's raw read callback, so that a
// read that found the socket drained (fewer datagrams than a batch) is
// followed by waiting for the next datagram's readiness notice, not by
// one more read that would only find it empty: at a phone's pace, that
// saves one of the three system calls a relayed packet costs. A datagram
// that arrives after the drained read raises a notice of its own, which
// the poller keeps for the next wait (RawConn.Read resets it only when it
// is called, not between calls of its callback), so none is left waiting;
// TestRelayBurstBatches checks it.
func readBatches(conn *net.UDPConn, handle func(*batch), readErr func(error)) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	for {
		drained := false
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			for {
				if drained {
					drained = false
					return false // wait for readiness
				}
				b := getBatch()
				n, errno := recvmmsg(fd, b)
				switch errno {
				case 0:
				case unix.EINTR:
					putBatch(b)
					continue
				case unix.EAGAIN:
					putBatch(b)
					return false
				default:
					putBatch(b)
					rerr = errno
					return true
				}
				b.n = n
				for i := range n {
					b.lens[i] = int(b.sys.hdrs[i].Len)
					b.srcs[i] = sockaddrAddrPort(&b.sys.names[i])
				}
				handle(b)
				putBatch(b)
				drained = n < batchSize
			}
		})
		if err != nil {
			if isClosed(err) {
				return nil
			}
			return err
		}
		if rerr != nil {
			readErr(rerr)
		}
	}
}

// recvmmsg reads up to batchSize datagrams into b without blocking.
func recvmmsg(fd uintptr, b *batch) (int, unix.Errno) {
	s := &b.sys
	for i := range s.hdrs {
		s.iovs[i].Base = &b.bufs[i][0]
		s.iovs[i].SetLen(maxPacket)
		h := &s.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&s.names[i]))
		h.Namelen = unix.SizeofSockaddrInet6
		h.Iov = &s.iovs[i]
		h.SetIovlen(1)
		h.Flags = 0
	}
	n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&s.hdrs[0])),
		batchSize, unix.MSG_DONTWAIT, 0, 0)
	return int(n), errno
}

// sockaddrAddrPort converts a source address filled in by the kernel.
func sockaddrAddrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}

// putSockaddr writes a as the kind of address conn's socket takes and
// returns its length.
func putSockaddr(sa *unix.RawSockaddrInet6, a netip.AddrPort, v6 bool) uint32 {
	*sa = unix.RawSockaddrInet6{}
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	binary.BigEndian.PutUint16(p[:], a.Port())
	if !v6 {
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		sa4.Family = unix.AF_INET
		sa4.Addr = a.Addr().As4()
		return unix.SizeofSockaddrInet4
	}
	sa.Family = unix.AF_INET6
	sa.Addr = a.Addr().As16()
	return unix.SizeofSockaddrInet6
}

// flush sends the queued packets with sendmmsg and empties the queue; a
// packet the kernel refuses is counted as dropped against from.
func (q *sendQueue) flush() {
	if q.n == 0 {
		return
	}
	if q.n == 1 { // the common case at a phone's pace
		if _, err := q.conn.WriteToUDPAddrPort(q.data[0], q.dst[0]); err != nil {
			q.from.dropped.Add(1)
		}
		q.n = 0
		return
	}
	if q.rc == nil {
		rc, err := q.conn.SyscallConn()
		if err != nil {
			q.from.dropped.Add(uint64(q.n))
			q.n = 0
			return
		}
		q.rc, q.domain = rc, socketDomain(rc)
	}
	v6 := q.domain == unix.AF_INET6
	s := &q.b.sys
	for i := range q.n {
		s.outIovs[i].Base = &q.data[i][0]
		s.outIovs[i].SetLen(len(q.data[i]))
		h := &s.out[i].Hdr
		*h = unix.Msghdr{}
		h.Name = (*byte)(unsafe.Pointer(&s.outTo[i]))
		h.Namelen = putSockaddr(&s.outTo[i], q.dst[i], v6)
		h.Iov = &s.outIovs[i]
		h.SetIovlen(1)
	}
	sent := 0
	werr := q.rc.Write(func(fd uintptr) bool {
		for sent < q.n {
			n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.out[sent])),
				uintptr(q.n-sent), unix.MSG_DONTWAIT, 0, 0)
			switch errno {
			case 0:
				sent += int(n)
			case unix.EINTR:
			case unix.EAGAIN:
				return false
			default: // this packet is refused: on with the next
				q.from.dropped.Add(1)
				sent++
			}
		}
		return true
	})
	if werr != nil {
		q.from.dropped.Add(uint64(q.n - sent))
	}
	q.n = 0
}

// socketDomain returns conn's address family: a socket listening on an
// unspecified address is IPv6 even for IPv4 peers.
func socketDomain(rc syscall.RawConn) int {
	d := unix.AF_INET
	rc.Control(func(fd uintptr) {
		if v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN); err == nil {
			d = v
		}
	})
	return d
}

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
	ctrls [batchSize][rxqCtrlLen]byte      // the receive queue's drop count

	out     [batchSize]unix.Mmsghdr // sendmmsg: one per queued packet
	outIovs [batchSize]unix.Iovec
	outTo   [batchSize]unix.RawSockaddrInet6
}

// readBatches calls handle with each batch of datagrams read from pp's RTP
// socket (RTCP with rtcp) until the pair is closed. It returns nil then,
// or the error that stopped it otherwise; an error of one read is passed
// to readErr and the loop goes on. A relay's pair is served by its poller
// (poller_linux.go); a pair without one by this goroutine.
func readBatches(pp *PortPair, rtcp bool, handle func(*batch), readErr func(error)) error {
	done, served, err := serveBatches(pp, rtcp, handle, readErr)
	if err != nil {
		return err
	}
	if served {
		<-done
		return nil
	}
	conn := pp.RTP
	if rtcp {
		conn = pp.RTCP
	}
	if conn == nil { // a poller's pair, closed: its sockets went with the poller
		return nil
	}
	return readConnBatches(conn, handle, readErr)
}

// serveBatches hands pp's RTP socket (RTCP with rtcp) to its poller, which
// calls handle with each batch read, and returns at once: done is closed
// once the pair is closed and the poller let go of the socket. For a pair
// that has no poller it does nothing and reports served false: such a
// pair is read by readBatches, on a goroutine of its own.
func serveBatches(pp *PortPair, rtcp bool, handle func(*batch), readErr func(error)) (done <-chan struct{}, served bool, err error) {
	d, err := pp.detach()
	if err != nil || d == nil {
		return nil, false, err
	}
	s := d.pick(rtcp)
	if err := s.p.serve(s, handle, readErr); err != nil {
		return nil, false, err
	}
	return s.done, true, nil
}

// readConnBatches reads conn through the runtime's poller.
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
func readConnBatches(conn *net.UDPConn, handle func(*batch), readErr func(error)) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		if isClosed(err) {
			return nil
		}
		return err
	}
	var rxq rxqCount
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
				b.fill(n, &rxq)
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

// detach returns the pair's sockets, which its poller serves (they were
// opened for it, listenPair); nil when the pair has no poller or is
// closed.
func (pp *PortPair) detach() (*pairSocks, error) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.closed || pp.poller == nil {
		return nil, nil
	}
	return pp.detached, nil
}

func (d *pairSocks) pick(rtcp bool) *sock {
	if rtcp {
		return d.rtcp
	}
	return d.rtp
}

func (d *pairSocks) close() {
	d.rtp.p.close(d.rtp)
	d.rtcp.p.close(d.rtcp)
}

// wait waits until the poller has closed both sockets (after close).
func (d *pairSocks) wait() {
	<-d.rtp.done
	<-d.rtcp.done
}

// newSendQueue returns a queue sending through pp's RTP socket (RTCP with
// rtcp), counting what cannot be sent against from.
func newSendQueue(pp *PortPair, rtcp bool, from *leg) sendQueue {
	q := sendQueue{conn: pp.RTP, from: from, counts: from.counts()}
	if rtcp {
		q.conn = pp.RTCP
	}
	if d, err := pp.detach(); err == nil && d != nil {
		q.s = d.pick(rtcp)
		q.s.from.Store(from)
	}
	return q
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
		h.Control = &s.ctrls[i][0]
		h.SetControllen(rxqCtrlLen)
		h.Flags = 0
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&s.hdrs[0])),
		batchSize, unix.MSG_DONTWAIT, 0, 0)
	return int(n), errno
}

// fill sets the lengths and sources of the n datagrams recvmmsg read
// into b, and the kernel's drops on the socket since the last read,
// which rxq follows.
func (b *batch) fill(n int, rxq *rxqCount) {
	b.n, b.overflow = n, 0
	for i := range n {
		h := &b.sys.hdrs[i]
		b.lens[i] = int(h.Len)
		b.srcs[i] = sockaddrAddrPort(&b.sys.names[i])
		if v, ok := rxqDrops(b.sys.ctrls[i][:min(int(h.Hdr.Controllen), rxqCtrlLen)]); ok {
			b.overflow += rxq.update(v)
		}
	}
}

// rxqCtrlLen is the room for a datagram's control data: the count of
// datagrams the socket dropped on a full receive queue (SO_RXQ_OVFL), a
// 32-bit value after a 16-byte header, aligned to 8 (unix.CmsgSpace(4)).
const rxqCtrlLen = 24

// countOverflow has the kernel tell, with each datagram read from conn,
// how many it dropped so far because conn's receive queue was full.
func countOverflow(conn *net.UDPConn) {
	if rc, err := conn.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
		})
	}
}

// rxqCount follows one socket's count of datagrams dropped on its full
// receive queue.
type rxqCount struct{ last uint32 }

// update takes the count read with a datagram and returns how many were
// dropped since the last.
func (c *rxqCount) update(v uint32) uint32 {
	d := v - c.last
	c.last = v
	return d
}

// rxqDrops returns the count of dropped datagrams that the kernel put in
// a datagram's control data, and whether there was one (it adds none
// before the first drop).
func rxqDrops(ctrl []byte) (uint32, bool) {
	for len(ctrl) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(ctrl) {
			return 0, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && l >= unix.SizeofCmsghdr+4 {
			return *(*uint32)(unsafe.Pointer(&ctrl[unix.SizeofCmsghdr])), true
		}
		ctrl = ctrl[min(unix.CmsgSpace(l-unix.SizeofCmsghdr), len(ctrl)):]
	}
	return 0, false
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
// returns its length; 0 when the socket cannot send there (an IPv6
// address, from a peer's SDP, on an IPv4 socket), and the packet is
// dropped.
func putSockaddr(sa *unix.RawSockaddrInet6, a netip.AddrPort, v6 bool) uint32 {
	*sa = unix.RawSockaddrInet6{}
	ip := a.Addr().Unmap()
	if !ip.IsValid() || !v6 && !ip.Is4() {
		return 0
	}
	a = netip.AddrPortFrom(ip, a.Port())
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
	l := &q.b.queued
	if l.n == 0 {
		return
	}
	if q.s != nil {
		q.flushSock()
		return
	}
	if l.n == 1 { // the common case at a phone's pace
		if _, err := q.conn.WriteToUDPAddrPort(l.data[0], l.dst[0]); err != nil {
			q.from.drop(dropSendError, 1)
		} else {
			q.forwarded(1)
		}
		l.n = 0
		return
	}
	if q.rc == nil {
		rc, err := q.conn.SyscallConn()
		if err != nil {
			q.from.drop(dropSendError, uint64(l.n))
			l.n = 0
			return
		}
		q.rc, q.domain = rc, socketDomain(rc)
	}
	s := &q.b.sys
	m := q.msgs(q.domain == unix.AF_INET6)
	sent, refused := 0, 0
	werr := q.rc.Write(func(fd uintptr) bool {
		for sent < m {
			n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.out[sent])),
				uintptr(m-sent), unix.MSG_DONTWAIT, 0, 0)
			switch errno {
			case 0:
				sent += int(n)
			case unix.EINTR:
			case unix.EAGAIN:
				return false
			default: // this packet is refused: on with the next
				q.from.drop(dropSendError, 1)
				sent++
				refused++
			}
		}
		return true
	})
	if werr != nil {
		q.from.drop(dropSendError, uint64(m-sent))
	}
	q.forwarded(sent - refused)
	l.n = 0
}

// forwarded counts n datagrams handed to the kernel.
func (q *sendQueue) forwarded(n int) {
	if c := q.counts; c != nil && n > 0 {
		c.forwarded.Add(uint64(n))
	}
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

// flushSock sends the queue through a detached socket, on its poller's
// goroutine. A poller does not wait: what the socket's buffer has no room
// for is dropped, as is everything once the socket is closed.
func (q *sendQueue) flushSock() {
	l := &q.b.queued
	s := q.s
	if s.closed {
		q.from.drop(dropSendError, uint64(l.n))
		l.n = 0
		return
	}
	if u := s.p.ur; u != nil { // queued on the poller's ring, sent with the round
		queued := 0
		for i := range l.n {
			if why, ok := u.send(s, l.data[i], l.dst[i]); ok {
				queued++
			} else {
				q.from.drop(why, 1)
			}
		}
		q.forwarded(queued)
		l.n = 0
		return
	}
	b := &q.b.sys
	m := q.msgs(s.v6)
	refused := 0
	for sent := 0; sent < m; {
		var n uintptr
		var errno unix.Errno
		if m-sent == 1 {
			h := &b.out[sent].Hdr
			n, _, errno = unix.RawSyscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(unsafe.Pointer(b.outIovs[sent].Base)),
				uintptr(b.outIovs[sent].Len), unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(h.Name)), uintptr(h.Namelen))
			if errno == 0 {
				n = 1
			}
		} else {
			n, _, errno = unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&b.out[sent])),
				uintptr(m-sent), unix.MSG_DONTWAIT, 0, 0)
		}
		switch errno {
		case 0:
			sent += int(n)
		case unix.EINTR:
		default: // this packet is refused (or the buffer is full): on with the next
			q.from.drop(dropSendError, 1)
			sent++
			refused++
		}
	}
	q.forwarded(m - refused)
	l.n = 0
}

// msgs fills the batch's sendmmsg headers with the queued packets and
// returns how many there are; a packet for an address the socket cannot
// reach is dropped here.
func (q *sendQueue) msgs(v6 bool) int {
	qd := &q.b.queued
	b := &q.b.sys
	m := 0
	for i := range qd.n {
		l := putSockaddr(&b.outTo[m], qd.dst[i], v6)
		if l == 0 {
			q.from.drop(dropNoDestination, 1)
			continue
		}
		b.outIovs[m].Base = &qd.data[i][0]
		b.outIovs[m].SetLen(len(qd.data[i]))
		h := &b.out[m].Hdr
		*h = unix.Msghdr{}
		h.Name = (*byte)(unsafe.Pointer(&b.outTo[m]))
		h.Namelen = l
		h.Iov = &b.outIovs[m]
		h.SetIovlen(1)
		m++
	}
	return m
}

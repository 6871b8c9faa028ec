package transport

import (
	"net"
	"net/netip"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawUDP reads and writes a UDP listener with raw system calls. Go's own
// reads and writes enter each system call through the scheduler
// (entersyscall), and the first of them after the process was idle wakes
// the runtime's monitor thread (sysmon), which then polls every 20 us for
// a millisecond before it sleeps again: with REGISTERs a few hundred
// microseconds apart that was a wake and 50 short sleeps per request, 7 to
// 10% of the registrar's CPU. The socket is non-blocking, so recvfrom and
// sendto never wait in the kernel; when there is nothing to read (or no
// room to write) the goroutine waits in Go's poller as before.
type rawUDP struct {
	*net.UDPConn
	rc syscall.RawConn
	v4 bool // an IPv4 socket: it takes only IPv4 socket addresses
}

func newRawUDP(uc *net.UDPConn) (net.PacketConn, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil, err
	}
	la, ok := uc.LocalAddr().(*net.UDPAddr)
	return &rawUDP{UDPConn: uc, rc: rc, v4: ok && la.IP.To4() != nil}, nil
}

// ReadFrom reads the next datagram, as net.UDPConn.ReadFrom does.
func (c *rawUDP) ReadFrom(b []byte) (int, net.Addr, error) {
	op := getSysOp(syscall.SYS_RECVFROM, b)
	defer putSysOp(op)
	op.addrlen = uint32(unsafe.Sizeof(op.from))
	op.sa, op.salenp = unsafe.Pointer(&op.from), unsafe.Pointer(&op.addrlen)
	n, err := c.call(true, op)
	if err != nil {
		return 0, nil, &net.OpError{Op: "read", Net: "udp", Source: c.LocalAddr(), Err: err}
	}
	return n, net.UDPAddrFromAddrPort(sockaddrAddrPort(&op.from)), nil
}

// WriteTo sends b to addr, as net.UDPConn.WriteTo does.
func (c *rawUDP) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return c.UDPConn.WriteTo(b, addr)
	}
	ap := ua.AddrPort()
	op := getSysOp(syscall.SYS_SENDTO, b)
	defer putSysOp(op)
	// net.IP keeps an IPv4 address in 16 bytes (net.ParseIP does): as
	// net does, an IPv4 socket takes it as IPv4.
	ip := ap.Addr()
	if c.v4 {
		ip = ip.Unmap()
	}
	if ip.Is4() {
		op.to4.Family = unix.AF_INET
		op.to4.Addr = ip.As4()
		putPort(&op.to4.Port, ap.Port())
		op.sa, op.salen = unsafe.Pointer(&op.to4), unsafe.Sizeof(op.to4)
	} else {
		op.to6.Family = unix.AF_INET6
		op.to6.Addr = ip.As16()
		putPort(&op.to6.Port, ap.Port())
		op.sa, op.salen = unsafe.Pointer(&op.to6), unsafe.Sizeof(op.to6)
	}
	n, err := c.call(false, op)
	if err != nil {
		return 0, &net.OpError{Op: "write", Net: "udp", Source: c.LocalAddr(), Addr: addr, Err: err}
	}
	return n, nil
}

// call makes op's system call, trap(fd, b, len(b), 0, sa, salenp or
// salen), on the socket, again when interrupted, and waits in Go's poller
// (for a read, or for room to write) while it would block.
func (c *rawUDP) call(read bool, op *sysOp) (int, error) {
	var err error
	if read {
		err = c.rc.Read(op.run)
	} else {
		err = c.rc.Write(op.run)
	}
	if err == nil && op.errno != 0 {
		err = op.errno
	}
	return op.n, err
}

// sysOp is one system call of call: its arguments, the socket addresses
// they point to, and its function for the RawConn, made once. All of it is
// reused (sysOps): a closure or an address on the heap per datagram would
// be allocations per datagram.
type sysOp struct {
	trap, len, salen uintptr
	p, sa, salenp    unsafe.Pointer
	n                int
	errno            syscall.Errno
	run              func(fd uintptr) bool

	from    unix.RawSockaddrAny
	addrlen uint32
	to4     unix.RawSockaddrInet4
	to6     unix.RawSockaddrInet6
}

var sysOps = sync.Pool{New: func() any {
	op := &sysOp{}
	op.run = op.do
	return op
}}

func getSysOp(trap uintptr, b []byte) *sysOp {
	op := sysOps.Get().(*sysOp)
	op.trap = trap
	if len(b) > 0 {
		op.p, op.len = unsafe.Pointer(&b[0]), uintptr(len(b))
	}
	return op
}

func putSysOp(op *sysOp) {
	*op = sysOp{run: op.run}
	sysOps.Put(op)
}

func (op *sysOp) do(fd uintptr) bool {
	for {
		r, _, e := syscall.RawSyscall6(op.trap, fd, uintptr(op.p), op.len, 0, uintptr(op.sa),
			uintptr(op.salenp)+op.salen)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		op.n, op.errno = int(r), e
		return true
	}
}

// putPort stores port in network byte order.
func putPort(dst *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(dst))
	b[0], b[1] = byte(port>>8), byte(port)
}

// sockaddrAddrPort returns the address a recvfrom filled in.
func sockaddrAddrPort(sa *unix.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case unix.AF_INET:
		s := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&s.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(s.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		s := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&s.Port))
		ip := netip.AddrFrom16(s.Addr)
		if s.Scope_id != 0 {
			ip = ip.WithZone(zoneName(s.Scope_id))
		}
		return netip.AddrPortFrom(ip, uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}

func zoneName(idx uint32) string {
	if ifi, err := net.InterfaceByIndex(int(idx)); err == nil {
		return ifi.Name
	}
	return ""
}

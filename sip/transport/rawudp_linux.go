package transport

import (
	"net"
	"net/netip"
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
	var sa unix.RawSockaddrAny
	salen := uint32(unsafe.Sizeof(sa))
	n, err := c.call(true, syscall.SYS_RECVFROM, b, unsafe.Pointer(&sa), unsafe.Pointer(&salen), 0)
	if err != nil {
		return 0, nil, &net.OpError{Op: "read", Net: "udp", Source: c.LocalAddr(), Err: err}
	}
	return n, net.UDPAddrFromAddrPort(sockaddrAddrPort(&sa)), nil
}

// WriteTo sends b to addr, as net.UDPConn.WriteTo does.
func (c *rawUDP) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return c.UDPConn.WriteTo(b, addr)
	}
	ap := ua.AddrPort()
	var (
		sa4   unix.RawSockaddrInet4
		sa6   unix.RawSockaddrInet6
		sa    unsafe.Pointer
		salen uintptr
	)
	// net.IP keeps an IPv4 address in 16 bytes (net.ParseIP does): as
	// net does, an IPv4 socket takes it as IPv4.
	ip := ap.Addr()
	if c.v4 {
		ip = ip.Unmap()
	}
	if ip.Is4() {
		sa4.Family = unix.AF_INET
		sa4.Addr = ip.As4()
		putPort(&sa4.Port, ap.Port())
		sa, salen = unsafe.Pointer(&sa4), unsafe.Sizeof(sa4)
	} else {
		sa6.Family = unix.AF_INET6
		sa6.Addr = ip.As16()
		putPort(&sa6.Port, ap.Port())
		sa, salen = unsafe.Pointer(&sa6), unsafe.Sizeof(sa6)
	}
	n, err := c.call(false, syscall.SYS_SENDTO, b, sa, nil, salen)
	if err != nil {
		return 0, &net.OpError{Op: "write", Net: "udp", Source: c.LocalAddr(), Addr: addr, Err: err}
	}
	return n, nil
}

// call makes the system call trap(fd, b, len(b), 0, sa, salenp or salen)
// on the socket, again when interrupted, and waits in Go's poller (for a
// read, or for room to write) while it would block.
func (c *rawUDP) call(read bool, trap uintptr, b []byte, sa, salenp unsafe.Pointer, salen uintptr) (int, error) {
	var (
		n     int
		errno syscall.Errno
		p     unsafe.Pointer
	)
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	f := func(fd uintptr) bool {
		for {
			r, _, e := syscall.RawSyscall6(trap, fd, uintptr(p), uintptr(len(b)), 0, uintptr(sa),
				uintptr(salenp)+salen)
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false
			}
			n, errno = int(r), e
			return true
		}
	}
	var err error
	if read {
		err = c.rc.Read(f)
	} else {
		err = c.rc.Write(f)
	}
	if err == nil && errno != 0 {
		err = errno
	}
	return n, err
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

package media

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// A relay served by a poller has its sockets opened for the poller with
// socket(2) and bind(2), never as a net.UDPConn: a conn registers its
// socket with the runtime's poller (epoll_ctl), and taking the socket from
// it again cost a duplicate, a look at its family and a close (fcntl,
// getsockopt, epoll_ctl, close). BenchmarkRelaySetup: 59 system calls a
// relay against 33, 280-300 us of CPU against about 200. The sockets are
// opened as the net package opens a listening UDP socket, so that they
// behave the same (TestRelaySocketsOpenedForThePoller compares them):
// non-blocking and closed on exec, an unspecified address bound as IPv6's,
// taking IPv4 too, allowed to broadcast.

// listenPair binds the RTP socket on ip and port and the RTCP socket on
// the next port: for the poller pl's relay, sockets of pl's from the
// start; with no poller, net.UDPConns.
func listenPair(ip netip.Addr, port int, pl *poller) (*PortPair, error) {
	if pl == nil {
		return listenConns(ip, port)
	}
	ip = ip.Unmap()
	rtp, v6, err := listenUDP(ip, port)
	if err != nil {
		return nil, fmt.Errorf("listen rtp %s port %d: %w", ip, port, err)
	}
	rtcp, _, err := listenUDP(ip, port+1)
	if err != nil {
		unix.Close(rtp)
		return nil, fmt.Errorf("listen rtcp %s port %d: %w", ip, port+1, err)
	}
	d := &pairSocks{rtp: pl.adopt(rtp, v6), rtcp: pl.adopt(rtcp, v6)}
	d.rtp.rawFrom(ip, port)
	d.rtcp.rawFrom(ip, port+1)
	return &PortPair{port: port, poller: pl, detached: d}, nil
}

// rawFrom lets the ring send s's IPv4 datagrams through a raw socket
// (rawsend_linux.go), from ip (bound to none when unspecified) and port.
func (s *sock) rawFrom(ip netip.Addr, port int) {
	if !pollersUseRing || !(ip.Is4() || ip.IsUnspecified()) {
		return
	}
	var src [4]byte
	if ip.Is4() {
		src = ip.As4()
	}
	if fd := rawSendFD(src); fd >= 0 {
		s.rawFD, s.src4, s.port = fd, src, uint16(port)
	}
}

// listenUDP returns a non-blocking UDP socket bound to ip and port, and
// whether it is an IPv6 socket, with the options the net package gives a
// listening one but SO_BROADCAST, and the count of datagrams its full
// receive queue drops (countOverflow). The relay never broadcasts: left
// off, the option saves a system call a socket, and a remote address
// that is a broadcast one (from a peer's SDP) gets nothing (EACCES)
// rather than the whole network segment.
func listenUDP(ip netip.Addr, port int) (fd int, v6 bool, err error) {
	var sa unix.Sockaddr
	family := unix.AF_INET
	switch {
	case ip.IsUnspecified(): // both families, as net.ListenUDP("udp", ...)
		family, v6 = unix.AF_INET6, true
		sa = &unix.SockaddrInet6{Port: port}
	case ip.Is4():
		sa = &unix.SockaddrInet4{Port: port, Addr: ip.As4()}
	default:
		family, v6 = unix.AF_INET6, true
		sa = &unix.SockaddrInet6{Port: port, Addr: ip.As16(), ZoneId: zoneIndex(ip.Zone())}
	}
	fd, err = unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return -1, false, os.NewSyscallError("socket", err)
	}
	if v6 { // the net package, too, lets this one fail
		unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0)
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, false, os.NewSyscallError("bind", err)
	}
	return fd, v6, nil
}

// zoneIndex returns the interface index an IPv6 zone names: an
// interface's name, or its index.
func zoneIndex(zone string) uint32 {
	if zone == "" {
		return 0
	}
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return uint32(ifi.Index)
	}
	n, _ := strconv.ParseUint(zone, 10, 32)
	return uint32(n)
}

// adopt makes the socket fd (an IPv6 one with v6) p's, which from now on
// reads, writes and closes it by the rules of poller_linux.go.
func (p *poller) adopt(fd int, v6 bool) *sock {
	s := &sock{fd: fd, v6: v6, p: p, done: make(chan struct{}), rawFD: -1}
	p.mu.Lock()
	p.owned++
	p.nextID++
	s.id = p.nextID
	p.socks[s.id] = s
	p.mu.Unlock()
	return s
}

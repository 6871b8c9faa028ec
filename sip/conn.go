package sip

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// The listeners handed to sipgo are wrapped so that the guard acts before
// any parsing: datagrams and connections from banned sources, messages of
// known scanners and oversized datagrams are dropped. sipgo's own read
// filter is not used because an error from it stops a UDP listener.

// packetConn drops unwanted datagrams, serves those the edge answers by
// itself (stateless challenges, REGISTERs: wire.Transactions) and returns
// only the others to sipgo.
type packetConn struct {
	net.PacketConn
	s *Server
	// serving is closed at the first read: sipgo has filed the listener
	// in its connection pool by then, so requests can be sent from it.
	serving chan struct{}
	once    sync.Once
}

// udpReadBuffer is the receive buffer asked for the UDP listener (the
// kernel caps it at net.core.rmem_max): a burst of REGISTERs waits there,
// instead of being dropped, while the read loop is held up (a GC pause, the
// other core busy).
const udpReadBuffer = 4 << 20

func (c *packetConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.once.Do(func() {
		if uc, ok := c.PacketConn.(*net.UDPConn); ok {
			uc.SetReadBuffer(udpReadBuffer)
		}
		close(c.serving)
	})
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil {
			return n, addr, err
		}
		ua, ok := addr.(*net.UDPAddr)
		if !ok {
			return n, addr, nil
		}
		ip := ua.AddrPort().Addr().Unmap()
		if reason := c.s.edge.screen(ip, b[:n], true); reason != "" {
			c.s.edge.dropped(ip, reason)
			continue
		}
		if isRequest(b[:n]) && !c.s.guard.Flood(ip) {
			c.s.edge.dropped(ip, "flood")
			continue
		}
		n, req := c.s.edge.datagram(c.PacketConn, b, n, addr)
		if n == 0 {
			continue
		}
		if req != nil && c.s.edge.challengeStateless(c.PacketConn, ua, b[:n], req) {
			continue
		}
		if req != nil && c.s.regTxs.Serve(c.PacketConn, ua.AddrPort(), req) {
			continue
		}
		return n, addr, nil
	}
}

// isRequest reports whether a datagram looks like a request: not a
// response, not a keep-alive.
func isRequest(data []byte) bool {
	return len(data) > 8 && !bytes.HasPrefix(data, []byte("SIP/")) && data[0] > ' '
}

// listener refuses connections from banned sources and wraps the others.
// With tls set, an admitted connection is then a TLS server connection:
// the guard sees the source before any handshake work, and the decrypted
// stream after it.
type listener struct {
	net.Listener
	s   *Server
	tls *tls.Config
}

func (l *listener) Accept() (net.Conn, error) {
	delay := 5 * time.Millisecond
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			// Out of file descriptors and the like: wait and go on, as
			// net/http does, instead of stopping the listener.
			l.s.log.Warn("sip tcp accept failed; retrying", "err", err, "delay", delay)
			time.Sleep(delay)
			delay = min(2*delay, time.Second)
			continue
		}
		delay = 5 * time.Millisecond
		ip := addrIP(c.RemoteAddr())
		if l.s.guard.Banned(ip) {
			c.Close()
			l.s.edge.dropped(ip, "banned")
			continue
		}
		if !l.s.conns.open(ip, l.s.cfg.MaxTCPPerSource, l.s.cfg.MaxTCP, l.s.guard.Exempt(ip)) {
			c.Close()
			l.s.edge.dropped(ip, "too many connections")
			continue
		}
		if l.tls != nil {
			c = tls.Server(c, l.tls)
		}
		return &tcpConn{Conn: c, s: l.s, ip: ip}, nil
	}
}

// connCount counts the open TCP connections of each source IP, and all.
type connCount struct {
	mu    sync.Mutex
	n     map[netip.Addr]int
	total int
}

// open counts a new connection from ip and reports whether it is within
// max for its source (always, for an exempt source) and total in all.
func (cc *connCount) open(ip netip.Addr, max, total int, exempt bool) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.n == nil {
		cc.n = make(map[netip.Addr]int)
	}
	if (!exempt && cc.n[ip] >= max) || cc.total >= total {
		return false
	}
	cc.n[ip]++
	cc.total++
	return true
}

func (cc *connCount) close(ip netip.Addr) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.total--
	if cc.n[ip] <= 1 {
		delete(cc.n, ip)
		return
	}
	cc.n[ip]--
}

func addrIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap.Addr().Unmap()
}

// tcpConn closes a connection that stays silent too long (see tcpconn.go),
// or whose source got banned, or that carries a scanner's message.
type tcpConn struct {
	net.Conn
	s      *Server
	ip     netip.Addr
	closed sync.Once
	st     stream
}

// Close closes the connection and stops counting it against its source.
func (c *tcpConn) Close() error {
	err := c.Conn.Close()
	c.closed.Do(func() { c.s.conns.close(c.ip) })
	return err
}

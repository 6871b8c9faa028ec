package transport

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"
)

// The listeners handed to sipgo are wrapped so that the guard acts before
// any parsing: datagrams and connections from banned sources, messages of
// known scanners and oversized datagrams are dropped. sipgo's own read
// filter is not used because an error from it stops a UDP listener.

// PacketConn drops unwanted datagrams, serves those the edge answers by
// itself (stateless challenges, REGISTERs: wire.Transactions) and returns
// only the others to sipgo.
type PacketConn struct {
	net.PacketConn
	e *Edge
	// serving is closed at the first read: sipgo has filed the listener
	// in its connection pool by then, so requests can be sent from it.
	serving chan struct{}
	once    sync.Once
	pending pending   // the request last passed on unparsed (unparsed.go)
	yielded time.Time // when the read loop last let other goroutines run
}

// PacketConn wraps the UDP listener pc for sipgo.
func (e *Edge) PacketConn(pc net.PacketConn) *PacketConn {
	if uc, ok := pc.(*net.UDPConn); ok {
		if raw, err := newRawUDP(uc); err == nil {
			pc = raw
		}
	}
	c := &PacketConn{PacketConn: pc, e: e, serving: make(chan struct{})}
	e.mu.Lock()
	e.packetConns = append(e.packetConns, c)
	e.mu.Unlock()
	return c
}

// Serving is closed once sipgo serves the listener: from then on requests
// may be sent from it.
func (c *PacketConn) Serving() <-chan struct{} { return c.serving }

// udpReadBuffer is the receive buffer asked for the UDP listener (the
// kernel caps it at net.core.rmem_max): a burst of REGISTERs waits there,
// instead of being dropped, while the read loop is held up (a GC pause, the
// other core busy).
const udpReadBuffer = 4 << 20

// ReadFrom returns the next datagram for sipgo, after the edge has dropped
// or answered those before it.
func (c *PacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.once.Do(func() {
		if uc, ok := c.PacketConn.(interface{ SetReadBuffer(int) error }); ok {
			uc.SetReadBuffer(udpReadBuffer)
		}
		close(c.serving)
	})
	for {
		c.yield()
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil {
			return n, addr, err
		}
		ua, ok := addr.(*net.UDPAddr)
		if !ok {
			return n, addr, nil
		}
		ip := ua.AddrPort().Addr().Unmap()
		if reason := c.e.screen(ip, b[:n], true); reason != "" {
			c.e.Dropped(ip, reason)
			continue
		}
		if isRequest(b[:n]) && !c.e.guard.Flood(ip) {
			c.e.Dropped(ip, "flood")
			continue
		}
		n, req, unparsed := c.e.datagram(c.PacketConn, b, n, addr)
		if n == 0 {
			continue
		}
		if unparsed != nil && c.e.takeAck(b[:n], unparsed, addr) {
			continue
		}
		if req == nil && unparsed == nil && c.e.takeResponse(b[:n], addr) {
			continue
		}
		c.pending.set(unparsed, n, addr)
		if req != nil && c.e.challengeStateless(c.PacketConn, ua, b[:n], req) {
			continue
		}
		if req != nil && c.e.parts.Transactions.Serve(c.PacketConn, ua.AddrPort(), req) {
			continue
		}
		return n, addr, nil
	}
}

// readSlice is how long the read loop runs before it lets the goroutines
// it made runnable run (yield).
const readSlice = 500 * time.Microsecond

// yield lets other goroutines run once the read loop has run for
// readSlice since it last did. While datagrams keep coming the loop never
// waits, and the goroutines it hands work to (INVITE transactions, call
// actors) queue on its processor until the runtime preempts it, after 10
// ms: with one processor for Go code (serve --procs auto), a runtime trace
// at 400 calls a second showed the loop running 11 ms at a stretch and
// INVITEs waiting 12-14 ms to be handled. The check costs a clock read a
// datagram.
//
// SIPp's setup p99 at 400 calls a second did not move beyond its spread
// from run to run (16-36 ms either way, 3 alternated runs each): most of
// its slow setups come during the collector's mark phases (about every 2
// s there, 16-96 ms each with GODEBUG=gctrace=1), which this does not
// touch.
func (c *PacketConn) yield() {
	now := time.Now()
	if now.Sub(c.yielded) < readSlice {
		return
	}
	runtime.Gosched()
	c.yielded = now
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
	e   *Edge
	tls *tls.Config
}

// Listener wraps the TCP listener ln for sipgo; with tlsCfg set, it serves
// SIP over TLS.
func (e *Edge) Listener(ln net.Listener, tlsCfg *tls.Config) net.Listener {
	return &listener{Listener: ln, e: e, tls: tlsCfg}
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
			l.e.log.Warn("sip tcp accept failed; retrying", "err", err, "delay", delay)
			time.Sleep(delay)
			delay = min(2*delay, time.Second)
			continue
		}
		delay = 5 * time.Millisecond
		ip := addrIP(c.RemoteAddr())
		if l.e.guard.Banned(ip) {
			c.Close()
			l.e.Dropped(ip, "banned")
			continue
		}
		if !l.e.conns.open(ip, l.e.cfg.MaxTCPPerSource, l.e.cfg.MaxTCP, l.e.guard.Exempt(ip)) {
			c.Close()
			l.e.Dropped(ip, "too many connections")
			continue
		}
		if l.tls != nil {
			c = tls.Server(c, l.tls)
		}
		return &tcpConn{Conn: c, e: l.e, ip: ip}, nil
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
	e      *Edge
	ip     netip.Addr
	closed sync.Once
	st     stream
}

// Close closes the connection and stops counting it against its source.
func (c *tcpConn) Close() error {
	err := c.Conn.Close()
	c.closed.Do(func() { c.e.conns.close(c.ip) })
	return err
}

package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrNoPorts is returned when every port pair of a pool is handed out,
// busy or in quarantine.
var ErrNoPorts = errors.New("no free rtp port pair")

// PortPool hands out pairs of UDP ports from a fixed range: an even port for
// RTP and the next one for RTCP (RFC 3550 §11). Ports taken by another
// process are skipped; released pairs go to the back of the queue and stay
// there at least the quarantine time (SetQuarantine), so that late packets
// of an ended call, or a stranger still spraying its ports, do not reach the
// next call. A released port is closed: what arrives on it is dropped by the
// kernel. A new pool starts handing out at a random place in its range, so
// that after a restart the ports of calls that died with the old process
// are, as far as chance allows, not the first ones handed out again (and
// strict latching keeps their phones' packets out if they are). A PortPool
// is safe for concurrent use.
type PortPool struct {
	lo, hi int
	clk    clock

	rejected atomic.Uint64 // datagrams the relays on this pool refused
	counts   relayCounts   // what the relays on this pool did with the rest

	mu         sync.Mutex
	quarantine time.Duration
	queue      []slot // free RTP ports, a ring: head is the next to try
	head       int
	n          int // free ports in queue
}

// slot is a free port and when it was released (zero: never handed out).
type slot struct {
	port  int
	freed time.Time
}

// NewPortPool returns a pool of the RTP/RTCP pairs that fit in lo..hi
// (inclusive). The first RTP port is lo, or lo+1 when lo is odd.
func NewPortPool(lo, hi int) (*PortPool, error) {
	return newPortPool(lo, hi, realClock{}, rand.IntN)
}

func newPortPool(lo, hi int, clk clock, intn func(int) int) (*PortPool, error) {
	if lo < 1 || hi > 65535 || lo > hi {
		return nil, fmt.Errorf("rtp ports %d-%d: want 1 <= low <= high <= 65535", lo, hi)
	}
	first := lo + lo%2
	if first+1 > hi {
		return nil, fmt.Errorf("rtp ports %d-%d: no room for an even rtp port and its rtcp port", lo, hi)
	}
	p := &PortPool{lo: lo, hi: hi, clk: clk}
	for port := first; port+1 <= hi; port += 2 {
		p.queue = append(p.queue, slot{port: port})
	}
	p.n = len(p.queue)
	p.head = intn(p.n)
	return p, nil
}

// SetQuarantine sets how long a released pair waits before it is handed
// out again; zero (the default) only sends it to the back of the queue.
func (p *PortPool) SetQuarantine(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.quarantine = max(d, 0)
}

// Rejected returns how many datagrams the relays on this pool's ports have
// refused so far: from strangers, or from a source still on probation.
func (p *PortPool) Rejected() uint64 { return p.rejected.Load() }

// Counters returns what the relays on this pool's ports have received,
// forwarded and dropped so far.
func (p *PortPool) Counters() RelayCounters { return p.counts.load() }

// Size returns the number of pairs in the pool.
func (p *PortPool) Size() int { return len(p.queue) }

// Free returns the number of pairs not handed out (some may be busy in
// another process, or in quarantine).
func (p *PortPool) Free() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func (p *PortPool) take() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == 0 {
		return 0, false
	}
	// The queue is in order of release: when the head is still in
	// quarantine, so is every pair behind it.
	s := p.queue[p.head]
	if p.quarantine > 0 && !s.freed.IsZero() && p.clk.Now().Sub(s.freed) < p.quarantine {
		return 0, false
	}
	p.head = (p.head + 1) % len(p.queue)
	p.n--
	return s.port, true
}

// put queues port again; freed is when a call released it, zero for a port
// that was never used.
func (p *PortPool) put(port int, freed time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queue[(p.head+p.n)%len(p.queue)] = slot{port: port, freed: freed}
	p.n++
}

// Listen binds the next free pair on ip and hands it out. Pairs whose ports
// are in use elsewhere are skipped (and stay in the pool); when none can be
// bound it returns ErrNoPorts. Other bind errors, such as an address that is
// not local, are returned at once.
func (p *PortPool) Listen(ip netip.Addr) (*PortPair, error) {
	return p.listen(ip, nil)
}

// listen is Listen for a relay whose sockets the poller pl serves, nil
// for none: with a poller the pair's sockets are pl's from the start
// (listenPair).
func (p *PortPool) listen(ip netip.Addr, pl *poller) (*PortPair, error) {
	if !ip.IsValid() {
		return nil, errors.New("listen rtp: no ip address")
	}
	p.mu.Lock()
	tries := p.n
	p.mu.Unlock()
	for range tries {
		port, ok := p.take()
		if !ok {
			break
		}
		pp, err := listenPair(ip, port, pl)
		if err == nil {
			pp.pool = p
			return pp, nil
		}
		p.put(port, time.Time{})
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, err
		}
	}
	return nil, ErrNoPorts
}

// listenConns binds the pair's sockets as net.UDPConns.
func listenConns(ip netip.Addr, port int) (*PortPair, error) {
	ip = ip.Unmap()
	rtp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
	if err != nil {
		return nil, fmt.Errorf("listen rtp %s port %d: %w", ip, port, err)
	}
	rtcp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port+1))))
	if err != nil {
		rtp.Close()
		return nil, fmt.Errorf("listen rtcp %s port %d: %w", ip, port+1, err)
	}
	countOverflow(rtp)
	countOverflow(rtcp)
	return &PortPair{RTP: rtp, RTCP: rtcp, port: port}, nil
}

// PortPair is a bound RTP socket and its RTCP socket on the next port,
// handed out by a PortPool. Release gives it back.
type PortPair struct {
	// The sockets as conns; nil for a relay's pair that a poller serves
	// (poller_linux.go), whose sockets are in detached.
	RTP, RTCP *net.UDPConn

	pool      *PortPool
	port      int
	closeOnce sync.Once
	putOnce   sync.Once

	// A relay's pair is served by a poller where there is one
	// (poller_linux.go): poller is the relay's, and detached holds the
	// sockets, opened for it (listenPair).
	mu       sync.Mutex
	poller   *poller
	detached *pairSocks
	closed   bool
}

// Port returns the RTP port; the RTCP port is Port()+1.
func (pp *PortPair) Port() int { return pp.port }

// close closes both sockets, which ends any read on them.
func (pp *PortPair) close() {
	pp.closeOnce.Do(func() {
		pp.mu.Lock()
		pp.closed = true
		d := pp.detached
		pp.mu.Unlock()
		if d != nil {
			d.close()
			return
		}
		pp.RTP.Close()
		pp.RTCP.Close()
	})
}

// Release closes both sockets and returns the pair to its pool. Calling it
// again does nothing.
func (pp *PortPair) Release() {
	pp.close()
	pp.putOnce.Do(func() {
		// A poller closes its sockets at its next round: the ports go
		// back once they are free, for the next to take them to bind.
		pp.mu.Lock()
		d := pp.detached
		pp.mu.Unlock()
		if d != nil {
			d.wait()
		}
		if pp.pool != nil {
			pp.pool.put(pp.port, pp.pool.clk.Now())
		}
	})
}

package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// FanoutConfig configures a Fanout.
type FanoutConfig struct {
	Pool *PortPool  // where the talker's and every listener's ports come from
	IP   netip.Addr // local address of all of them

	// Timeout ends Run with a *TimeoutError (Leg: LegA) when, after Arm,
	// the talker has sent no RTP for this long: a page whose talker is
	// gone must not hold every listener's phone open. Zero disables it.
	Timeout time.Duration

	Logger *slog.Logger // nil discards

	clock clock // nil: the real one
}

// Fanout is a one-way bridge of one talker and any number of listeners: a
// page. The talker's leg has an RTP/RTCP port pair that receives; each
// listener has a port pair of its own, out of which the fanout sends a
// copy of every RTP and RTCP packet the talker sends. Nothing a listener
// sends is relayed: its RTP is read only to latch its endpoint, and its
// RTCP port is not read at all.
//
// Every endpoint, the talker's and each listener's, latches by the strict
// rule of Relay (SetRemote, SetPeer, Probation): a stranger can neither
// speak into the page nor divert a listener's copy. Packets are relayed
// byte for byte, except that a change of the talker's SSRC is smoothed
// over as in a Relay (continuity); there is no SRTP and no transcoding:
// every listener is offered the talker's codec.
//
// Listeners may be added and removed while the fanout runs. All methods
// are safe for concurrent use. Run does the relaying; Close stops it and
// gives every port back.
type Fanout struct {
	cfg   FanoutConfig
	log   *slog.Logger
	clk   clock
	src   leg
	armed atomic.Bool

	// outs is the listeners the talker's reader sends to: a copy made
	// under mu on every change, so that the reader neither locks nor
	// allocates per packet.
	outs atomic.Pointer[[]*Listener]

	stop     chan struct{} // closed by Close
	stopOnce sync.Once
	done     chan struct{} // closed once every port is released

	mu        sync.Mutex
	state     relayState
	listeners []*Listener
	wg        sync.WaitGroup // the listeners' readers
}

// Listener is one listener's leg of a Fanout.
type Listener struct {
	f    *Fanout
	leg  leg
	sent atomic.Uint64 // packets sent toward the listener
	done chan struct{} // closed when its reader returned
}

// NewFanout binds the talker's port pair from cfg.Pool on cfg.IP. The
// caller must Close the fanout, whether or not it ran.
func NewFanout(cfg FanoutConfig) (*Fanout, error) {
	if cfg.Pool == nil {
		return nil, errors.New("new fanout: no port pool")
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("new fanout: negative timeout")
	}
	pp, err := cfg.Pool.Listen(cfg.IP)
	if err != nil {
		return nil, fmt.Errorf("new fanout: talker: %w", err)
	}
	f := &Fanout{cfg: cfg, log: cfg.Logger, clk: cfg.clock, stop: make(chan struct{}), done: make(chan struct{})}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.clk == nil {
		f.clk = realClock{}
	}
	f.src = leg{id: LegA, ports: pp, local: netip.AddrPortFrom(cfg.IP.Unmap(), uint16(pp.Port()))}
	f.outs.Store(new([]*Listener))
	return f, nil
}

// Local returns the talker's RTP address (RTCP is one above).
func (f *Fanout) Local() netip.AddrPort { return f.src.local }

// SetRemote sets the talker's endpoint from their SDP, as Relay.SetRemote
// does for a leg.
func (f *Fanout) SetRemote(rtpAddr, rtcpAddr netip.AddrPort) { f.src.setRemote(rtpAddr, rtcpAddr) }

// SetPeer tells the fanout the IP the talker's signalling comes from, as
// Relay.SetPeer does for a leg.
func (f *Fanout) SetPeer(ip netip.Addr) { f.src.setPeer(ip) }

// Arm starts the talker's media timeout (FanoutConfig.Timeout), counted
// from the next tick.
func (f *Fanout) Arm() { f.armed.Store(true) }

// Stats returns what the fanout received from the talker so far; it stays
// readable after Close.
func (f *Fanout) Stats() LegStats { return f.src.stats() }

// Done is closed when the fanout has stopped and released every port.
func (f *Fanout) Done() <-chan struct{} { return f.done }

// AddListener binds a port pair for a new listener; the talker's packets
// go to it from its first SetRemote (or its first latch) on. It fails
// with ErrClosed once the fanout has stopped.
func (f *Fanout) AddListener() (*Listener, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state == stateDone {
		return nil, fmt.Errorf("add listener: %w", ErrClosed)
	}
	pp, err := f.cfg.Pool.Listen(f.cfg.IP)
	if err != nil {
		return nil, fmt.Errorf("add listener: %w", err)
	}
	l := &Listener{f: f, done: make(chan struct{})}
	l.leg = leg{id: LegB, ports: pp, local: netip.AddrPortFrom(f.cfg.IP.Unmap(), uint16(pp.Port()))}
	f.listeners = append(f.listeners, l)
	f.publishLocked()
	if f.state == stateRunning {
		f.startLocked(l)
	}
	return l, nil
}

// Listeners returns how many listeners the fanout has now.
func (f *Fanout) Listeners() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.listeners)
}

func (f *Fanout) publishLocked() {
	outs := append([]*Listener(nil), f.listeners...)
	f.outs.Store(&outs)
}

func (f *Fanout) startLocked(l *Listener) {
	f.wg.Go(func() {
		defer close(l.done)
		f.readListener(l)
	})
}

// Remove takes l off the fanout, waits for its reader and releases its
// ports. Removing it again, or after the fanout stopped, does nothing.
func (f *Fanout) Remove(l *Listener) {
	f.mu.Lock()
	i := -1
	for j, x := range f.listeners {
		if x == l {
			i = j
		}
	}
	running := f.state == stateRunning
	if i >= 0 {
		f.listeners = append(f.listeners[:i:i], f.listeners[i+1:]...)
		f.publishLocked()
	}
	f.mu.Unlock()
	if i < 0 {
		return
	}
	l.leg.ports.close() // ends its reader
	if running {
		<-l.done
	}
	l.leg.ports.Release()
}

// Local returns the listener's RTP address (RTCP is one above): the SDP
// sent to the listener's phone names it.
func (l *Listener) Local() netip.AddrPort { return l.leg.local }

// SetRemote sets the listener's endpoint from their SDP, as
// Relay.SetRemote does for a leg.
func (l *Listener) SetRemote(rtpAddr, rtcpAddr netip.AddrPort) { l.leg.setRemote(rtpAddr, rtcpAddr) }

// SetPeer tells the listener's leg the IP its signalling comes from.
func (l *Listener) SetPeer(ip netip.Addr) { l.leg.setPeer(ip) }

// Stats returns what came from the listener's endpoint (all of it dropped
// once counted) and, in Sent, how many packets went to it.
func (l *Listener) Stats() ListenerStats {
	return ListenerStats{LegStats: l.leg.stats(), Sent: l.sent.Load()}
}

// ListenerStats counts a listener's packets.
type ListenerStats struct {
	LegStats        // received from the listener's endpoint, never relayed
	Sent     uint64 // RTP and RTCP sent toward the listener
}

// Run relays the talker's packets to every listener until ctx ends, Close
// is called, or the talker's media timeout fires; it then closes every
// socket, waits for every goroutine it started and returns the ports to
// the pool before it returns. It returns nil when stopped, a
// *TimeoutError on a media timeout, and ErrClosed when the fanout was
// closed or has run before.
func (f *Fanout) Run(ctx context.Context) error {
	f.mu.Lock()
	if f.state != stateIdle {
		f.mu.Unlock()
		return ErrClosed
	}
	f.state = stateRunning
	for _, l := range f.listeners {
		f.startLocked(l)
	}
	f.mu.Unlock()

	var wg sync.WaitGroup
	wg.Go(f.readTalkerRTP)
	wg.Go(f.readTalkerRTCP)
	stopWatch := make(chan struct{})
	fired := make(chan error, 1)
	if f.cfg.Timeout > 0 {
		wg.Go(func() { f.watch(stopWatch, fired) })
	}
	var err error
	select {
	case <-ctx.Done():
	case <-f.stop:
	case err = <-fired:
		f.log.Debug("page media timeout", "err", err)
	}
	close(stopWatch)
	f.src.ports.close()
	f.mu.Lock()
	f.state = stateDone // no listener is added from here on
	ls := f.listeners
	f.listeners = nil
	f.publishLocked()
	f.mu.Unlock()
	for _, l := range ls {
		l.leg.ports.close()
	}
	wg.Wait()
	f.wg.Wait()
	f.release(ls)
	return err
}

// Close stops Run, waits for it to return and releases every port; on a
// fanout that never ran it just releases them. It is safe to call more
// than once.
func (f *Fanout) Close() error {
	f.stopOnce.Do(func() { close(f.stop) })
	f.mu.Lock()
	idle := f.state == stateIdle
	var ls []*Listener
	if idle {
		f.state = stateDone
		ls = f.listeners
		f.listeners = nil
		f.publishLocked()
	}
	f.mu.Unlock()
	if idle {
		f.release(ls)
	}
	<-f.done
	return nil
}

func (f *Fanout) release(ls []*Listener) {
	for _, l := range ls {
		l.leg.ports.Release()
	}
	f.src.ports.Release()
	close(f.done)
}

// readTalkerRTP reads the talker's RTP socket and sends each packet it
// accepts to every listener, out of that listener's RTP socket.
func (f *Fanout) readTalkerRTP() {
	in := &f.src
	buf := make([]byte, maxPacket)
	var p rtp.Packet // reused: Unmarshal keeps its slices
	for {
		n, src, err := in.ports.RTP.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		data := buf[:n]
		kind := parseRTP(data, &p)
		if !f.admit(in, kind, src, &p, n) {
			continue
		}
		if kind == kindRTP {
			in.cont.apply(data, &p, f.clk.Now())
		}
		for _, l := range *f.outs.Load() {
			l.send(l.leg.ports.RTP, l.leg.rtpDst.Load(), data)
		}
	}
}

// readTalkerRTCP reads the talker's RTCP socket and copies what it accepts
// to every listener's RTCP endpoint.
func (f *Fanout) readTalkerRTCP() {
	in := &f.src
	buf := make([]byte, maxPacket)
	for {
		n, src, err := in.ports.RTCP.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		data := buf[:n]
		if !in.acceptRTCP(src, data, n, f.cfg.Pool) {
			continue
		}
		for _, l := range *f.outs.Load() {
			l.send(l.leg.ports.RTCP, l.leg.rtcpDst.Load(), data)
		}
	}
}

// readListener reads a listener's RTP socket: what its phone sends
// latches the leg (so that the talker's copy follows a phone behind a
// NAT) and is counted, never relayed.
func (f *Fanout) readListener(l *Listener) {
	buf := make([]byte, maxPacket)
	var p rtp.Packet
	for {
		n, src, err := l.leg.ports.RTP.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		f.admit(&l.leg, parseRTP(buf[:n], &p), src, &p, n)
	}
}

// admit applies the strict rule to a datagram that came to in's RTP port
// and counts it; it reports whether the datagram is in's endpoint's.
func (f *Fanout) admit(in *leg, kind packetKind, src netip.AddrPort, p *rtp.Packet, n int) bool {
	in.mu.Lock()
	ok, latched := false, false
	switch kind {
	case kindRTP:
		if ok, latched = in.admitRTP(src, p.SSRC, p.SequenceNumber); ok {
			in.st.Packets++
			in.st.Bytes += uint64(n)
			in.seq.update(p.SSRC, p.SequenceNumber)
		}
	case kindRTCP: // muxed: only from the latched RTP source
		if ok = in.rtp.src.latched && src == in.rtp.src.addr; ok {
			in.st.RTCPPackets++
			in.st.RTCPBytes += uint64(n)
		}
	default:
		in.st.Invalid++
	}
	if !ok && kind != kindInvalid {
		in.st.Rejected++
	}
	in.mu.Unlock()
	if !ok && kind != kindInvalid {
		f.cfg.Pool.rejected.Add(1)
	}
	if latched {
		f.log.Debug("page rtp latched", "listener", in.id == LegB, "src", src, "ssrc", p.SSRC)
	}
	return ok
}

// send sends data to dst through conn, counting it as sent to l or as
// dropped.
func (l *Listener) send(conn *net.UDPConn, dst *netip.AddrPort, data []byte) {
	if dst == nil {
		l.leg.dropped.Add(1)
		return
	}
	if _, err := conn.WriteToUDPAddrPort(data, *dst); err != nil {
		l.leg.dropped.Add(1)
		return
	}
	l.sent.Add(1)
}

// watch fires the talker's media timeout, sampling its packet count on
// each tick as Relay.watch does.
func (f *Fanout) watch(stop <-chan struct{}, fired chan<- error) {
	ticks, stopTicks := f.clk.NewTicker(tickFor(f.cfg.Timeout, 0))
	defer stopTicks()
	var seen time.Time
	var count uint64
	wasArmed := false
	for {
		var now time.Time
		select {
		case <-stop:
			return
		case now = <-ticks:
		}
		armed := f.armed.Load()
		n := f.src.packets()
		if !armed || !wasArmed || n != count || seen.IsZero() {
			seen, count = now, n
		}
		wasArmed = armed
		if silence := now.Sub(seen); armed && silence >= f.cfg.Timeout {
			fired <- &TimeoutError{Leg: LegA, Silence: silence}
			return
		}
	}
}

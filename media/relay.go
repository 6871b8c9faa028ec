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

// Leg names one side of a relayed call.
type Leg uint8

// The two legs of a relay. In a recording, LegA is the left channel and LegB
// the right one.
const (
	LegA Leg = 0 // the caller's side
	LegB Leg = 1 // the callee's side
)

// String returns "a" or "b".
func (l Leg) String() string {
	switch l {
	case LegA:
		return "a"
	case LegB:
		return "b"
	}
	return fmt.Sprintf("Leg(%d)", uint8(l))
}

var (
	// ErrTimeout is what a *TimeoutError unwraps to.
	ErrTimeout = errors.New("media timeout")
	// ErrClosed is returned by Run on a relay that was closed or has run.
	ErrClosed = errors.New("relay closed")
)

// TimeoutError is returned by Relay.Run when a leg sent no RTP for the
// configured timeout. It unwraps to ErrTimeout.
type TimeoutError struct {
	Leg     Leg           // the silent leg
	Hold    bool          // the leg was on hold: RelayConfig.HoldTimeout ran out
	Silence time.Duration // how long the relay saw no RTP from that leg
}

func (e *TimeoutError) Error() string {
	held := ""
	if e.Hold {
		held = " on hold"
	}
	return fmt.Sprintf("media timeout: no rtp from leg %s%s for %s", e.Leg, held, e.Silence.Round(time.Millisecond))
}

func (e *TimeoutError) Unwrap() error { return ErrTimeout }

// RelayConfig configures a Relay.
type RelayConfig struct {
	Pool *PortPool  // where both legs' ports come from
	IP   netip.Addr // local address both legs bind to

	// Timeout ends Run with a *TimeoutError when, after Arm, one leg that
	// is not on hold has sent no RTP for this long, whether or not the
	// other leg still sends: a call heard only one way is as dead as a
	// silent one. It fires up to a quarter of the timeout (at most 1 s)
	// late. Zero disables it.
	Timeout time.Duration

	// HoldTimeout is Timeout for a leg on hold (SetHold), whose silence is
	// expected for a while. Zero: a held leg never times out.
	HoldTimeout time.Duration

	Logger *slog.Logger // nil discards

	clock clock // nil: the real one
}

// Relay anchors the media of one call. Each leg has its own RTP/RTCP port
// pair: the relay sends what leg A's endpoint sends to leg B's endpoint, out
// of leg B's ports, and the other way round.
//
// Strict symmetric RTP: a leg's endpoint is first the address from its SDP
// (SetRemote), and only two kinds of source may latch the leg, that is
// become where its media comes from and where the other leg's media goes:
//   - the SDP's address itself, at its first RTP packet: whoever else sends
//     from it cannot receive what goes back there;
//   - a source on the SDP's IP address or on the IP the leg's signalling
//     comes from (SetPeer: a phone behind a NAT), once it has sent
//     Probation RTP packets in a row with one SSRC and consecutive
//     sequence numbers, without the latched source sending in between.
//
// The same rule re-latches a leg (a NAT rebinding moved the phone's port),
// so a stranger can take a stream over neither before nor during the call:
// from another IP it is never heard, and from an allowed IP it has to
// out-talk the phone, which resets its probation with each packet. Every
// datagram refused is counted (LegStats.Rejected, PortPool.Rejected) and
// dropped; the other leg's media goes to the SDP address until the leg
// latches, never to a source on probation. RTCP latches the same way on
// the odd port, onto the first RTCP packet from the host RTP latched to
// (before that, the SDP's host).
// RTP, telephone-events (RFC 4733) included, and RTCP are relayed byte for
// byte, with one exception: when the stream arriving on a leg changes SSRC
// (a transfer points the leg at another phone, a phone restarts its
// stream), the relay keeps what it sends on continuous, with the first
// stream's SSRC and sequence numbers and timestamps that go on from where
// they were, as a phone's jitter buffer expects of one call (see
// continuity). RTCP multiplexed on the RTP port (RFC 5761) is relayed on
// the RTP ports.
//
// All methods are safe for concurrent use. Run does the relaying; Close
// stops it and gives the ports back.
type Relay struct {
	cfg  RelayConfig
	log  *slog.Logger
	clk  clock
	legs [2]leg

	tap   atomic.Pointer[tapBox]
	mon   atomic.Pointer[Monitor] // a supervisor joined to the call, or nil
	armed atomic.Bool

	stop     chan struct{} // closed by Close
	stopOnce sync.Once
	done     chan struct{} // closed once the ports are released

	mu    sync.Mutex
	state relayState
}

type relayState uint8

const (
	stateIdle relayState = iota
	stateRunning
	stateDone
)

type tapBox struct{ t Tap }

// NewRelay binds a port pair for each leg from cfg.Pool on cfg.IP. The
// caller must Close the relay, whether or not it ran.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	if cfg.Pool == nil {
		return nil, errors.New("new relay: no port pool")
	}
	if cfg.Timeout < 0 || cfg.HoldTimeout < 0 {
		return nil, errors.New("new relay: negative timeout")
	}
	a, err := cfg.Pool.Listen(cfg.IP)
	if err != nil {
		return nil, fmt.Errorf("new relay: leg a: %w", err)
	}
	b, err := cfg.Pool.Listen(cfg.IP)
	if err != nil {
		a.Release()
		return nil, fmt.Errorf("new relay: leg b: %w", err)
	}
	r := &Relay{
		cfg:  cfg,
		log:  cfg.Logger,
		clk:  cfg.clock,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.clk == nil {
		r.clk = realClock{}
	}
	for i, pp := range []*PortPair{a, b} {
		l := &r.legs[i]
		l.id = Leg(i)
		l.ports = pp
		l.local = netip.AddrPortFrom(cfg.IP.Unmap(), uint16(pp.Port()))
	}
	return r, nil
}

func (r *Relay) leg(l Leg) *leg {
	if l > LegB {
		return nil
	}
	return &r.legs[l]
}

// Local returns the relay's RTP address for leg l: the SDP sent to that
// leg's endpoint names its port (and, unless RelayConfig.IP is unspecified
// or not the advertised address, its IP). The RTCP port is one above.
func (r *Relay) Local(l Leg) netip.AddrPort {
	if lg := r.leg(l); lg != nil {
		return lg.local
	}
	return netip.AddrPort{}
}

// SetRemote sets leg l's endpoint from its SDP: the RTP address and the RTCP
// address (the zero value means RTP port + 1). An unspecified address such
// as 0.0.0.0 (RFC 3264 §8.4 hold) or port 0 means "send nothing until it
// sends". When the addresses change, the leg unlatches and latches again
// by the rule in Relay's comment; the same addresses again (a session
// refresh) change nothing.
func (r *Relay) SetRemote(l Leg, rtpAddr, rtcpAddr netip.AddrPort) {
	lg := r.leg(l)
	if lg == nil {
		return
	}
	rtpAddr, rtcpAddr = usable(rtpAddr), usable(rtcpAddr)
	if !rtcpAddr.IsValid() && rtpAddr.IsValid() && rtpAddr.Port() < 65535 {
		rtcpAddr = netip.AddrPortFrom(rtpAddr.Addr(), rtpAddr.Port()+1)
	}
	lg.mu.Lock()
	defer lg.mu.Unlock()
	if rtpAddr == lg.rtp.sdp && rtcpAddr == lg.sdpRTCP {
		return
	}
	lg.rtp.unlatch(rtpAddr)
	lg.sdpRTCP = rtcpAddr
	lg.rtcpSrc.latched = false
	lg.publish()
}

// SetPeer tells leg l the IP address its signalling comes from. A phone
// behind a NAT names its private address in SDP, and its media comes from
// the NAT's public address, usually the one its SIP comes from: RTP from
// that IP may latch the leg after probation (see Relay). The zero Addr
// allows only the SDP's IP.
func (r *Relay) SetPeer(l Leg, ip netip.Addr) {
	lg := r.leg(l)
	if lg == nil {
		return
	}
	lg.mu.Lock()
	defer lg.mu.Unlock()
	lg.rtp.setPeer(ip)
}

func usable(a netip.AddrPort) netip.AddrPort {
	a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	if !a.IsValid() || a.Port() == 0 || a.Addr().IsUnspecified() {
		return netip.AddrPort{}
	}
	return a
}

// SetHold marks whether silence from leg l is expected (the leg is on hold,
// or its direction is sendonly from our side or inactive), so that its
// silence counts toward RelayConfig.HoldTimeout instead of Timeout.
func (r *Relay) SetHold(l Leg, hold bool) {
	if lg := r.leg(l); lg != nil {
		lg.hold.Store(hold)
	}
}

// Arm starts the media timeout (RelayConfig.Timeout). The B2BUA calls it
// when the call is answered: before that, ringing without early media is
// silent and must not end the call. Silence is counted from Arm.
func (r *Relay) Arm() { r.armed.Store(true) }

// SetTap attaches t to receive every accepted RTP packet of both legs; nil
// detaches. A call already under way may still reach the previous tap just
// after SetTap returns.
func (r *Relay) SetTap(t Tap) {
	if t == nil {
		r.tap.Store(nil)
		return
	}
	r.tap.Store(&tapBox{t})
}

// Stats returns leg l's counters so far; they stay readable after Close.
func (r *Relay) Stats(l Leg) LegStats {
	lg := r.leg(l)
	if lg == nil {
		return LegStats{}
	}
	lg.mu.Lock()
	defer lg.mu.Unlock()
	s := lg.st
	s.Expected, s.Lost = lg.seq.counts()
	s.Dropped = lg.dropped.Load()
	s.AuthFailed = lg.authFails.Load()
	if lg.rtp.src.latched {
		s.Source, s.SSRC = lg.rtp.src.addr, lg.rtp.src.ssrc
	}
	return s
}

// Done is closed when the relay has stopped and released its ports.
func (r *Relay) Done() <-chan struct{} { return r.done }

// Run relays packets until ctx ends, Close is called, or the media timeout
// fires; it then closes the sockets, waits for every goroutine it started
// and returns the ports to the pool before it returns. It returns nil when
// stopped, a *TimeoutError on a media timeout, and ErrClosed when the relay
// was closed or has run before.
func (r *Relay) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.state != stateIdle {
		r.mu.Unlock()
		return ErrClosed
	}
	r.state = stateRunning
	r.mu.Unlock()

	a, b := &r.legs[LegA], &r.legs[LegB]
	var wg sync.WaitGroup
	wg.Go(func() { r.readRTP(a, b) })
	wg.Go(func() { r.readRTP(b, a) })
	wg.Go(func() { r.readRTCP(a, b) })
	wg.Go(func() { r.readRTCP(b, a) })
	stopWatch := make(chan struct{})
	fired := make(chan error, 1)
	if r.cfg.Timeout > 0 || r.cfg.HoldTimeout > 0 {
		wg.Go(func() { r.watch(stopWatch, fired) })
	}

	var err error
	select {
	case <-ctx.Done():
	case <-r.stop:
	case err = <-fired:
		r.log.Debug("media timeout", "err", err, "rtp_a", a.ports.Port(), "rtp_b", b.ports.Port())
	}
	close(stopWatch)
	a.ports.close() // ends the blocked reads
	b.ports.close()
	wg.Wait()
	r.release()
	return err
}

// Close stops Run, waits for it to return and releases the ports; on a relay
// that never ran it just releases them. It is safe to call more than once.
func (r *Relay) Close() error {
	r.stopOnce.Do(func() { close(r.stop) })
	r.mu.Lock()
	idle := r.state == stateIdle
	if idle {
		r.state = stateDone
	}
	r.mu.Unlock()
	if idle {
		r.release()
	}
	<-r.done
	return nil
}

func (r *Relay) release() {
	r.legs[LegA].ports.Release()
	r.legs[LegB].ports.Release()
	r.mu.Lock()
	r.state = stateDone
	r.mu.Unlock()
	close(r.done)
}

// readRTP reads in's RTP socket and relays to out's endpoint through out's
// RTP socket. It returns when the socket is closed.
func (r *Relay) readRTP(in, out *leg) {
	buf := make([]byte, maxPacket)
	var enc [maxPacket + srtpOverhead]byte // what goes to an encrypted leg
	var p rtp.Packet                       // reused: Unmarshal keeps its slices
	var tp Packet
	var mb *monitorBuffers // allocated when a supervisor first joins
	var xbuf []byte        // allocated when the call is first transcoded
	for {
		n, src, err := in.ports.RTP.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.log.Debug("rtp read", "leg", in.id, "err", err)
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		data := buf[:n]
		kind := parseRTP(data, &p)
		var now time.Time

		// An encrypted leg's packets are authenticated before anything
		// else looks at them: a forgery neither latches nor is heard.
		if sl := in.srtp.Load(); sl != nil && kind != kindInvalid {
			var err error
			if kind == kindRTP {
				if data, err = sl.decryptRTP(data, &p.Header); err == nil && parseRTP(data, &p) != kindRTP {
					err = errors.New("srtp: bad plain packet")
				}
			} else {
				data, err = sl.decryptRTCP(data)
			}
			if err != nil {
				in.authFailed(r)
				continue
			}
		}

		in.mu.Lock()
		ok, latched := false, false
		switch kind {
		case kindRTP:
			ok, latched = in.admitRTP(src, p.SSRC, p.SequenceNumber)
			if ok {
				in.st.Packets++
				in.st.Bytes += uint64(n)
				in.seq.update(p.SSRC, p.SequenceNumber)
			}
		case kindRTCP: // muxed: only from the latched RTP source
			ok = in.rtp.src.latched && src == in.rtp.src.addr
			if ok {
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
			r.cfg.Pool.rejected.Add(1)
		}
		if latched {
			r.log.Debug("rtp latched", "leg", in.id, "src", src, "ssrc", p.SSRC)
		}
		if !ok {
			continue
		}

		if kind == kindRTP {
			if now.IsZero() {
				now = r.clk.Now()
			}
			in.cont.apply(data, &p, now)
		}
		// Transcoding to G.711 comes first, so that the monitor and the
		// tap see G.711; to G.722 it comes last, after they saw the G.711.
		var late *xcode
		var lateOff, lateLen int
		if xc := in.xc.Load(); kind == kindRTP && xc != nil {
			if yes, early := xc.transcodeNow(&p); yes {
				if xbuf == nil {
					xbuf = make([]byte, maxPacket)
				}
				off := rtpPayloadOffset(data, &p)
				if early {
					data = xc.apply(xbuf, data, off, len(p.Payload))
					p.PayloadType, p.Payload, p.Padding = xc.outPT, data[off:], false
				} else {
					late, lateOff, lateLen = xc, off, len(p.Payload)
				}
			}
		}
		if m := r.mon.Load(); m != nil && kind == kindRTP {
			if mb == nil {
				mb = new(monitorBuffers)
			}
			m.hear(in.id, p.PayloadType, p.Payload, mb.pcm[:])
			if m.speaksTo(out.id) {
				// Mixed into a copy: the tap below gets what the party sent.
				data = m.mixInto(out.id, data, &p, mb.out[:], mb.pcm[:], mb.said[:])
			}
		}
		if late != nil {
			data = late.apply(xbuf, data, lateOff, lateLen)
		}
		if sl := out.srtp.Load(); sl != nil {
			var err error
			if kind == kindRTP {
				data, err = sl.encryptRTP(enc[:], data, &p.Header)
			} else {
				data, err = sl.encryptRTCP(enc[:], data)
			}
			if err != nil {
				in.dropped.Add(1)
				continue
			}
		}
		in.forward(out.ports.RTP, out.rtpDst.Load(), data)

		if kind != kindRTP {
			continue
		}
		if tb := r.tap.Load(); tb != nil {
			if now.IsZero() {
				now = r.clk.Now()
			}
			tp = Packet{
				PayloadType:    p.PayloadType,
				Marker:         p.Marker,
				SequenceNumber: p.SequenceNumber,
				Timestamp:      p.Timestamp,
				SSRC:           p.SSRC,
				Payload:        p.Payload,
				Arrival:        now,
			}
			tb.t.RTP(in.id, &tp)
		}
	}
}

// readRTCP reads in's RTCP socket and relays to out's endpoint through out's
// RTCP socket. It returns when the socket is closed.
func (r *Relay) readRTCP(in, out *leg) {
	buf := make([]byte, maxPacket)
	var enc [maxPacket + srtpOverhead]byte
	for {
		n, src, err := in.ports.RTCP.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.log.Debug("rtcp read", "leg", in.id, "err", err)
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		data := buf[:n]
		if sl := in.srtp.Load(); sl != nil && isRTCP(data) {
			if data, err = sl.decryptRTCP(data); err != nil {
				in.authFailed(r)
				continue
			}
		}
		in.mu.Lock()
		ok := false
		if !isRTCP(data) {
			in.st.Invalid++
		} else if ok = in.admitRTCP(src); ok {
			in.st.RTCPPackets++
			in.st.RTCPBytes += uint64(n)
		} else {
			in.st.Rejected++
			r.cfg.Pool.rejected.Add(1)
		}
		in.mu.Unlock()
		if !ok {
			continue
		}
		if sl := out.srtp.Load(); sl != nil {
			if data, err = sl.encryptRTCP(enc[:], data); err != nil {
				in.dropped.Add(1)
				continue
			}
		}
		in.forward(out.ports.RTCP, out.rtcpDst.Load(), data)
	}
}

// watch fires the media timeout. Instead of stamping every packet with the
// time, it samples the legs' packet counts on each tick: a count that moved
// means RTP arrived since the last tick. Each leg's silence is measured on
// its own, against Timeout, or HoldTimeout while the leg is on hold; going
// on or off hold starts the leg's silence afresh.
func (r *Relay) watch(stop <-chan struct{}, fired chan<- error) {
	ticks, stopTicks := r.clk.NewTicker(tickFor(r.cfg.Timeout, r.cfg.HoldTimeout))
	defer stopTicks()
	var (
		seen     [2]time.Time // last tick at which the leg was active, or unarmed
		count    [2]uint64
		held     [2]bool
		wasArmed bool
	)
	for {
		var now time.Time
		select {
		case <-stop:
			return
		case now = <-ticks:
		}
		armed := r.armed.Load()
		arming := armed && !wasArmed // silence counts from the first tick after Arm
		wasArmed = armed
		for i := range r.legs {
			l := &r.legs[i]
			n := l.packets()
			hold := l.hold.Load()
			if !armed || arming || hold != held[i] || n != count[i] || seen[i].IsZero() {
				seen[i], count[i], held[i] = now, n, hold
			}
			limit := r.cfg.Timeout
			if hold {
				limit = r.cfg.HoldTimeout
			}
			if silence := now.Sub(seen[i]); armed && limit > 0 && silence >= limit {
				fired <- &TimeoutError{Leg: l.id, Hold: hold, Silence: silence}
				return
			}
		}
	}
}

// tickFor returns how often the watchdog samples: a quarter of the shorter
// timeout, between 10 ms and 1 s, so it fires at most a quarter late.
func tickFor(timeout, hold time.Duration) time.Duration {
	if timeout <= 0 || (hold > 0 && hold < timeout) {
		timeout = hold
	}
	return min(max(timeout/4, 10*time.Millisecond), time.Second)
}

// leg is one side of a relay: its sockets, what is known of its endpoint and
// its counters.
type leg struct {
	id      Leg
	ports   *PortPair
	local   netip.AddrPort
	hold    atomic.Bool
	dropped atomic.Uint64
	// srtp is set when the leg's endpoint speaks SRTP (SetSRTP).
	srtp      atomic.Pointer[srtpLeg]
	authFails atomic.Uint64 // SRTP/SRTCP that failed authentication or the replay check

	// Where packets for this leg's endpoint go; nil while unknown. Read by
	// the other leg's readers for every packet, written under mu.
	rtpDst, rtcpDst atomic.Pointer[netip.AddrPort]

	mu      sync.Mutex
	rtp     strict         // RTP: SDP (SetRemote), signalling IP (SetPeer), latch
	sdpRTCP netip.AddrPort // from SetRemote; zero when unknown
	rtcpSrc source
	seq     seqTracker
	st      LegStats // packet counters; the rest is filled by Stats

	cont continuity // of the RTP this leg sends on; its RTP reader's alone

	xc atomic.Pointer[xcode] // transcoding of the RTP arriving here; nil: none
}

// source is the address a leg latched onto.
type source struct {
	latched bool
	addr    netip.AddrPort
	ssrc    uint32
}

// Probation is how many RTP packets in a row, with one SSRC and
// consecutive sequence numbers, a source other than the SDP's address must
// send before a leg latches onto it (Asterisk's strictrtp learning uses
// the same count). At 20 ms a packet, a phone behind a NAT loses the first
// 60 ms of its audio.
const Probation = 4

// probe is a source on probation: n packets in a row so far, the last with
// sequence number seq.
type probe struct {
	addr netip.AddrPort
	ssrc uint32
	seq  uint16
	n    int
}

// strict is the latching state of one RTP endpoint: what its SDP and its
// signalling say, the source it latched onto and one on probation.
type strict struct {
	sdp  netip.AddrPort // from SDP; zero when unknown
	peer netip.Addr     // the signalling's IP; zero when unknown
	src  source
	cand probe
}

// admit decides whether an RTP packet from src belongs to the endpoint,
// latching onto src when the rule in Relay's comment allows it. It
// reports whether the packet is accepted and whether it latched.
func (st *strict) admit(src netip.AddrPort, ssrc uint32, seq uint16) (ok, latched bool) {
	s := &st.src
	switch {
	case s.latched && src == s.addr:
		s.ssrc = ssrc
		st.cand.n = 0 // the phone still talks: no one else latches
		return true, false
	case src == st.sdp:
	case !st.allowed(src.Addr()):
		return false, false
	default:
		c := &st.cand
		if c.n > 0 && src == c.addr && ssrc == c.ssrc && seq == c.seq+1 {
			c.n++
		} else {
			*c = probe{addr: src, ssrc: ssrc, n: 1}
		}
		c.seq = seq
		if c.n < Probation {
			return false, false
		}
	}
	st.cand = probe{}
	*s = source{latched: true, addr: src, ssrc: ssrc}
	return true, true
}

// allowed reports whether RTP from ip may latch after probation: ip is
// the SDP's or the signalling's.
func (st *strict) allowed(ip netip.Addr) bool {
	return (st.sdp.IsValid() && ip == st.sdp.Addr()) || (st.peer.IsValid() && ip == st.peer)
}

// unlatch forgets the latched source and any on probation; sdp is the
// SDP's address now.
func (st *strict) unlatch(sdp netip.AddrPort) {
	st.sdp, st.src, st.cand = sdp, source{}, probe{}
}

// setPeer sets the signalling's IP; an unspecified one counts as none.
func (st *strict) setPeer(ip netip.Addr) {
	ip = ip.Unmap()
	if ip.IsUnspecified() {
		ip = netip.Addr{}
	}
	st.peer = ip
}

// admitRTP is strict.admit for the leg's RTP: a new latch moves RTCP to
// the new host and publishes where the leg's packets go. l.mu must be held.
func (l *leg) admitRTP(src netip.AddrPort, ssrc uint32, seq uint16) (ok, latched bool) {
	if ok, latched = l.rtp.admit(src, ssrc, seq); latched {
		if l.rtcpSrc.latched && l.rtcpSrc.addr.Addr() != src.Addr() {
			l.rtcpSrc.latched = false // RTCP follows RTP to its new host
		}
		l.publish()
	}
	return ok, latched
}

// admitRTCP is admitRTP for the RTCP port. RTCP never latches by itself: it
// must come from the host RTP latched to, or before that from the SDP host.
// l.mu must be held.
func (l *leg) admitRTCP(src netip.AddrPort) bool {
	s := &l.rtcpSrc
	host := l.rtp.sdp.Addr()
	if l.rtp.src.latched {
		host = l.rtp.src.addr.Addr()
	}
	switch {
	case s.latched && src == s.addr:
		return true
	case !host.IsValid() || src.Addr() != host:
		return false
	case s.latched:
		return false // another port: latched already
	}
	*s = source{latched: true, addr: src}
	l.publish()
	return true
}

// publish stores where packets for this leg's endpoint go: the latched
// source, else the SDP address. For RTCP not latched yet, an RTP source on
// another host than the SDP's (a NAT) is a better guess than the SDP.
// l.mu must be held.
func (l *leg) publish() {
	dst := l.rtp.sdp
	if l.rtp.src.latched {
		dst = l.rtp.src.addr
	}
	storeAddr(&l.rtpDst, dst)
	rtpNext := netip.AddrPort{}
	if a := l.rtp.src.addr; l.rtp.src.latched && a.Port() < 65535 {
		rtpNext = netip.AddrPortFrom(a.Addr(), a.Port()+1)
	}
	switch {
	case l.rtcpSrc.latched:
		dst = l.rtcpSrc.addr
	case rtpNext.IsValid() && rtpNext.Addr() != l.rtp.sdp.Addr():
		dst = rtpNext
	case l.sdpRTCP.IsValid():
		dst = l.sdpRTCP
	default:
		dst = rtpNext
	}
	storeAddr(&l.rtcpDst, dst)
}

func storeAddr(p *atomic.Pointer[netip.AddrPort], a netip.AddrPort) {
	if !a.IsValid() {
		p.Store(nil)
		return
	}
	if cur := p.Load(); cur != nil && *cur == a {
		return
	}
	p.Store(&a)
}

// forward sends data to dst through conn, counting it against l (the leg it
// came from) when it cannot be sent.
func (l *leg) forward(conn *net.UDPConn, dst *netip.AddrPort, data []byte) {
	if dst == nil {
		l.dropped.Add(1)
		return
	}
	if _, err := conn.WriteToUDPAddrPort(data, *dst); err != nil {
		l.dropped.Add(1)
	}
}

func (l *leg) packets() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.Packets
}

// authFailed counts a datagram that failed SRTP authentication: dropped,
// like any other not from the leg's phone.
func (l *leg) authFailed(r *Relay) {
	l.authFails.Add(1)
	r.cfg.Pool.rejected.Add(1)
}

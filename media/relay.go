package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
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
	// ErrClosed is returned by Start and Run on a relay that was closed
	// or has started before.
	ErrClosed = errors.New("relay closed")
)

// TimeoutError is why a relay stopped (Relay.Start's ended, Relay.Run)
// when a leg sent no RTP for the configured timeout. It unwraps to
// ErrTimeout.
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

	// Timeout stops the relay with a *TimeoutError when, after Arm, one
	// leg that is not on hold has sent no RTP for this long, whether or
	// not the other leg still sends: a call heard only one way is as dead
	// as a silent one. It fires up to a quarter of the timeout (at most 1 s)
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
// All methods are safe for concurrent use. Start (or Run) starts the
// relaying; Close stops it and gives the ports back.
type Relay struct {
	cfg  RelayConfig
	log  *slog.Logger
	clk  clock
	legs [2]leg

	tap   atomic.Pointer[tapBox]
	mon   atomic.Pointer[Monitor] // a supervisor joined to the call, or nil
	armed atomic.Bool

	done chan struct{} // closed once the ports are released

	mu    sync.Mutex
	state relayState
	// Set by Start, for halt: what reads the sockets (goroutines of
	// readers, or pollers whose done channels are in served), what stops
	// the relay when ctx ends (stopCtx) and the watchdog's timer (nil with
	// no media timeout), and whom to tell.
	readers   sync.WaitGroup
	served    []<-chan struct{} // in servedBuf
	servedBuf [4]<-chan struct{}
	stopCtx   func() bool
	watch     timer
	dog       watchdog // the timer's callback alone
	ended     func(error)
}

type relayState uint8

const (
	stateIdle     relayState = iota
	stateRunning             // Start ran
	stateStopping            // halt is closing the sockets and waiting for the readers
	stateDone                // the ports are released
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
	p := pickPoller() // both legs on one: each sends through the other
	a, err := cfg.Pool.listen(cfg.IP, p)
	if err != nil {
		releasePoller(p)
		return nil, fmt.Errorf("new relay: leg a: %w", err)
	}
	b, err := cfg.Pool.listen(cfg.IP, p)
	if err != nil {
		a.Release()
		releasePoller(p)
		return nil, fmt.Errorf("new relay: leg b: %w", err)
	}
	r := &Relay{
		cfg:  cfg,
		log:  cfg.Logger,
		clk:  cfg.clock,
		done: make(chan struct{}),
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.clk == nil {
		r.clk = realClock{}
	}
	for i, pp := range []*PortPair{a, b} {
		pp.poller = p
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
	if lg := r.leg(l); lg != nil {
		lg.setRemote(rtpAddr, rtcpAddr)
	}
}

// SetPeer tells leg l the IP address its signalling comes from. A phone
// behind a NAT names its private address in SDP, and its media comes from
// the NAT's public address, usually the one its SIP comes from: RTP from
// that IP may latch the leg after probation (see Relay). The zero Addr
// allows only the SDP's IP.
func (r *Relay) SetPeer(l Leg, ip netip.Addr) {
	if lg := r.leg(l); lg != nil {
		lg.setPeer(ip)
	}
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
	if lg := r.leg(l); lg != nil {
		return lg.stats()
	}
	return LegStats{}
}

// Done is closed when the relay has stopped and released its ports.
func (r *Relay) Done() <-chan struct{} { return r.done }

// Start starts relaying and returns at once: the relay holds no goroutine
// of its own while it runs (its sockets are served by a poller where
// there is one, and its media timeout by a timer). It relays until ctx
// ends, Close is called, or the media timeout fires; it then closes the
// sockets, waits for every reader to let go of them, returns the ports
// to the pool and calls ended (unless nil) with why it stopped: nil when
// stopped, a *TimeoutError on a media timeout. ended is called once, on
// the goroutine that stopped the relay (Close's caller, a goroutine of
// the runtime's for ctx, one of the relay's for the timeout), after Done
// is closed; it must not block for long. Start returns ErrClosed, and
// never calls ended, when the relay was closed or has started before.
func (r *Relay) Start(ctx context.Context, ended func(error)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != stateIdle {
		return ErrClosed
	}
	r.state = stateRunning
	r.ended = ended

	a, b := &r.legs[LegA], &r.legs[LegB]
	served := r.servedBuf[:0]
	r.read(a, false, r.rtpHandler(a, b), &r.readers, &served)
	r.read(b, false, r.rtpHandler(b, a), &r.readers, &served)
	r.read(a, true, r.rtcpHandler(a, b), &r.readers, &served)
	r.read(b, true, r.rtcpHandler(b, a), &r.readers, &served)
	r.served = served
	if r.cfg.Timeout > 0 || r.cfg.HoldTimeout > 0 {
		r.watch = r.clk.NewTimer(r.watchTick)
		r.watch.Reset(tickFor(r.cfg.Timeout, r.cfg.HoldTimeout))
	}
	// Registered last and under r.mu: when ctx has ended already, halt
	// runs once Start returns.
	r.stopCtx = context.AfterFunc(ctx, func() { r.halt(nil) })
	return nil
}

// Run is Start that waits: it relays until ctx ends, Close is called, or
// the media timeout fires, and returns once the ports are back in the
// pool: nil when stopped, a *TimeoutError on a media timeout, and
// ErrClosed when the relay was closed or has run before.
func (r *Relay) Run(ctx context.Context) error {
	ended := make(chan error, 1)
	if err := r.Start(ctx, func(err error) { ended <- err }); err != nil {
		return err
	}
	return <-ended
}

// halt stops a running relay (see Start) and tells whom Start named why:
// err. It does nothing on a relay not running, or one another goroutine
// is halting already.
func (r *Relay) halt(err error) {
	r.mu.Lock()
	if r.state != stateRunning {
		r.mu.Unlock()
		return
	}
	r.state = stateStopping
	r.mu.Unlock()
	r.stopCtx()
	if r.watch != nil {
		r.watch.Stop()
	}
	r.legs[LegA].ports.close() // ends the reads
	r.legs[LegB].ports.close()
	r.readers.Wait()
	for _, done := range r.served {
		<-done
	}
	r.release()
	if r.ended != nil {
		r.ended(err)
	}
}

// Close stops the relay, waits for it to stop and releases the ports; on
// a relay that never started it just releases them. It is safe to call
// more than once, and from ended.
func (r *Relay) Close() error {
	r.mu.Lock()
	state := r.state
	if state == stateIdle {
		r.state = stateDone
	}
	r.mu.Unlock()
	switch state {
	case stateIdle:
		r.release()
	case stateRunning:
		r.halt(nil)
	}
	<-r.done
	return nil
}

func (r *Relay) release() {
	releasePoller(r.legs[LegA].ports.poller)
	r.legs[LegA].ports.Release()
	r.legs[LegB].ports.Release()
	r.mu.Lock()
	r.state = stateDone
	r.mu.Unlock()
	close(r.done)
}

// Probation is how many RTP packets in a row, with one SSRC and
// consecutive sequence numbers, a source other than the SDP's address must
// send before a leg latches onto it (Asterisk's strictrtp learning uses
// the same count). At 20 ms a packet, a phone behind a NAT loses the first
// 60 ms of its audio.
const Probation = 4

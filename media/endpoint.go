package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// EndpointConfig configures an Endpoint.
type EndpointConfig struct {
	Pool *PortPool  // where its port pair comes from
	IP   netip.Addr // local address it binds to
	// Codec is the negotiated audio codec: PCMU or PCMA. It is what a
	// Player sends; what arrives is decoded by its payload type (0 or 8).
	Codec Codec
	// EventType is the negotiated payload type of RFC 4733 telephone
	// events; zero means 101.
	EventType uint8
	Logger    *slog.Logger // nil discards
}

// Endpoint is the PBX's own end of a phone's media: a media source and
// sink that is a leg without a dialog. It binds one RTP/RTCP port pair,
// sends what a Player plays to the phone as paced RTP, hands the audio it
// hears to a Sink (a voicemail recorder) and the DTMF digits it hears
// (RFC 4733 telephone events) to Digits.
//
// Strict RTP as on a Relay's leg (see Relay): the phone is first the
// address from its SDP (SetRemote), and only that address or, after
// probation, a source on the SDP's or the signalling's IP (SetPeer) may
// latch; anything else is counted in Rejected and not heard.
//
// All methods are safe for concurrent use. Run reads; Close stops it and
// any Player and gives the ports back.
type Endpoint struct {
	cfg     EndpointConfig
	log     *slog.Logger
	ports   *PortPair
	local   netip.AddrPort
	digits  chan rune
	packets atomic.Uint64 // accepted and handled

	mu       sync.Mutex
	rtp      strict
	sink     Sink
	dtmf     DTMFDetector
	rejected uint64

	out     sync.Mutex // the stream sent: one Player at a time
	ssrc    uint32
	seq     uint16
	ts      uint32
	sentAt  time.Time // the last packet sent
	player  *Player
	stop    chan struct{}
	stopped sync.Once
}

// Sink takes the audio an Endpoint hears, decoded to 8 kHz linear
// samples: the RTP timestamp and SSRC of the packet they came in. It is
// called from the endpoint's reader goroutine and must not keep samples.
type Sink interface {
	Audio(ssrc, ts uint32, samples []int16)
}

// NewEndpoint binds a port pair from cfg.Pool on cfg.IP. The caller must
// Close the endpoint, whether or not it ran.
func NewEndpoint(cfg EndpointConfig) (*Endpoint, error) {
	if cfg.Pool == nil {
		return nil, errors.New("new endpoint: no port pool")
	}
	if cfg.Codec != PCMU && cfg.Codec != PCMA {
		return nil, fmt.Errorf("new endpoint: codec %s: only G.711 is played", cfg.Codec)
	}
	if cfg.EventType == 0 {
		cfg.EventType = 101
	}
	pp, err := cfg.Pool.Listen(cfg.IP)
	if err != nil {
		return nil, fmt.Errorf("new endpoint: %w", err)
	}
	e := &Endpoint{
		cfg:    cfg,
		log:    cfg.Logger,
		ports:  pp,
		local:  netip.AddrPortFrom(cfg.IP.Unmap(), uint16(pp.Port())),
		digits: make(chan rune, 32),
		ssrc:   rand.Uint32(),
		seq:    uint16(rand.Uint32()),
		ts:     rand.Uint32(),
		stop:   make(chan struct{}),
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	return e, nil
}

// Local returns the endpoint's RTP address, for the SDP.
func (e *Endpoint) Local() netip.AddrPort { return e.local }

// SetRemote sets the phone's RTP address from its SDP; a new address
// forgets the source latched onto.
func (e *Endpoint) SetRemote(a netip.AddrPort) {
	a = usable(a)
	e.mu.Lock()
	defer e.mu.Unlock()
	if a != e.rtp.sdp {
		e.rtp.unlatch(a)
	}
}

// SetPeer sets the IP the phone's signalling comes from (a phone behind a
// NAT may send from there).
func (e *Endpoint) SetPeer(ip netip.Addr) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rtp.setPeer(ip)
}

// SetSink sets where the audio heard goes; nil: nowhere.
func (e *Endpoint) SetSink(s Sink) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sink = s
}

// Digits returns the DTMF digits heard ('0'-'9', '*', '#', 'A'-'D'), one
// per key press. Digits not taken are dropped beyond 32.
func (e *Endpoint) Digits() <-chan rune { return e.digits }

// Rejected returns how many RTP packets were refused as not from the phone.
func (e *Endpoint) Rejected() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rejected
}

// Packets returns how many RTP packets from the phone were accepted and
// handed on (to the Sink, to Digits).
func (e *Endpoint) Packets() uint64 { return e.packets.Load() }

// dst is where the endpoint's RTP goes: the latched source, else the SDP
// address; invalid while unknown.
func (e *Endpoint) dst() netip.AddrPort {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rtp.src.latched {
		return e.rtp.src.addr
	}
	return e.rtp.sdp
}

// Run reads the phone's RTP until ctx ends or Close; it returns nil then.
func (e *Endpoint) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { e.Close() })
	defer stop()
	buf := make([]byte, maxPacket)
	pcm := make([]int16, maxPacket)
	var p rtp.Packet
	for {
		n, src, err := e.ports.RTP.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			e.log.Debug("endpoint rtp read", "err", err)
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		if parseRTP(buf[:n], &p) != kindRTP {
			continue
		}
		e.mu.Lock()
		ok, latched := e.rtp.admit(src, p.SSRC, p.SequenceNumber)
		if !ok {
			e.rejected++
			e.mu.Unlock()
			continue
		}
		sink := e.sink
		var digit rune
		isEvent := p.PayloadType == e.cfg.EventType
		if isEvent {
			digit, _ = e.dtmf.Packet(p.SSRC, p.Timestamp, p.Payload)
		}
		e.mu.Unlock()
		if latched {
			e.log.Debug("endpoint rtp latched", "src", src, "ssrc", p.SSRC)
		}
		switch {
		case isEvent:
			if digit != 0 {
				select {
				case e.digits <- digit:
				default:
				}
			}
		case sink != nil && (p.PayloadType == uint8(PCMU) || p.PayloadType == uint8(PCMA)):
			k := Codec(p.PayloadType).Decode(pcm, p.Payload)
			sink.Audio(p.SSRC, p.Timestamp, pcm[:k])
		}
		e.packets.Add(1)
	}
}

// Close stops any Player and the reader and gives the ports back. Calling
// it again does nothing.
func (e *Endpoint) Close() error {
	e.stopped.Do(func() {
		close(e.stop)
		e.ports.Release()
	})
	e.out.Lock()
	p := e.player
	e.out.Unlock()
	if p != nil {
		p.Stop()
	}
	return nil
}

// DTMFDetector turns RFC 4733 telephone-event packets into digits: one
// per event, however many packets (and retransmitted end packets) carry
// it. An event is known by its SSRC and RTP timestamp, which all its
// packets share.
type DTMFDetector struct {
	seen bool
	ssrc uint32
	ts   uint32
}

// dtmfDigits are the RFC 4733 DTMF events 0-15.
const dtmfDigits = "0123456789*#ABCD"

// Packet takes one telephone-event packet's SSRC, timestamp and payload and
// returns the digit when it starts a new event. Events that are not DTMF
// and malformed payloads give none.
func (d *DTMFDetector) Packet(ssrc, ts uint32, payload []byte) (rune, bool) {
	if len(payload) < 4 || payload[0] >= byte(len(dtmfDigits)) {
		return 0, false
	}
	if d.seen && d.ssrc == ssrc && d.ts == ts {
		return 0, false
	}
	d.seen, d.ssrc, d.ts = true, ssrc, ts
	return rune(dtmfDigits[payload[0]]), true
}

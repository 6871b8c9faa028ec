package media

import (
	"sync"
	"time"

	"github.com/pion/rtp"
)

// frameSamples is one RTP packet of played audio: 20 ms at 8 kHz.
const frameSamples = sampleRate / 50

// frameTime is the time one packet of played audio lasts.
const frameTime = 20 * time.Millisecond

// Player plays a clip to an Endpoint's phone as RTP in the endpoint's
// codec: a 20 ms packet every 20 ms, paced against the clock it started
// on (so it does not drift), once or looped until stopped. The stream's
// SSRC stays the endpoint's from one player to the next, with sequence
// numbers and timestamps that go on, as a phone's jitter buffer expects.
type Player struct {
	e    *Endpoint
	clip *Clip
	loop bool

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// Play starts playing clip on e, after stopping any player already
// playing there. The clip plays once, or over and over when loop is set,
// until Stop or e's Close. An empty clip plays as silence.
func (e *Endpoint) Play(clip *Clip, loop bool) *Player {
	p := &Player{e: e, clip: clip, loop: loop, stop: make(chan struct{}), done: make(chan struct{})}
	e.out.Lock()
	prev := e.player
	e.player = p
	e.out.Unlock()
	if prev != nil {
		prev.Stop()
		<-prev.done
	}
	go p.run()
	return p
}

// Stop stops the player; it returns at once (Done closes when it has
// stopped). Calling it again does nothing.
func (p *Player) Stop() { p.stopOnce.Do(func() { close(p.stop) }) }

// Done is closed when the player has stopped: the clip ended (not looped),
// Stop, or the endpoint's Close.
func (p *Player) Done() <-chan struct{} { return p.done }

func (p *Player) run() {
	defer close(p.done)
	e := p.e
	samples := p.clip.Samples()
	if len(samples) == 0 {
		samples = make([]int16, frameSamples)
	}
	buf := make([]byte, 12+frameSamples)
	frame := make([]int16, frameSamples)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: uint8(e.cfg.Codec), Marker: true}}
	t := time.NewTimer(0)
	defer t.Stop()
	start := time.Now()
	pos := 0
	for n := 0; ; n++ {
		select {
		case <-p.stop:
			return
		case <-e.stop:
			return
		case <-t.C:
		}
		if pos >= len(samples) {
			if !p.loop {
				return
			}
			pos = 0
		}
		k := copy(frame, samples[pos:])
		clear(frame[k:])
		pos += k
		e.out.Lock()
		if e.player != p {
			e.out.Unlock()
			return
		}
		if n == 0 && !e.sentAt.IsZero() {
			// The stream's clock ran on while nothing played.
			if gap := time.Since(e.sentAt); gap > frameTime {
				e.ts += uint32(gap/time.Millisecond)*(sampleRate/1000) - frameSamples
			}
		}
		pkt.SSRC, pkt.SequenceNumber, pkt.Timestamp = e.ssrc, e.seq, e.ts
		e.seq++
		e.ts += frameSamples
		e.sentAt = time.Now()
		e.out.Unlock()
		pkt.Payload = buf[12 : 12+e.cfg.Codec.Encode(buf[12:], frame)]
		if m, err := pkt.Header.MarshalTo(buf[:12]); err == nil && m == 12 {
			if dst := e.dst(); dst.IsValid() {
				if _, err := e.ports.RTP.WriteToUDPAddrPort(buf, dst); err != nil {
					e.log.Debug("player write", "err", err)
				}
			}
		}
		pkt.Marker = false
		t.Reset(time.Until(start.Add(time.Duration(n+1) * frameTime)))
	}
}

package media

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// MonitorMode is what a supervisor joined to a call may do.
type MonitorMode uint8

// The three ways to join a call in progress.
const (
	Listen  MonitorMode = iota // hears both parties; nobody hears the supervisor
	Whisper                    // hears both; only the agent's leg hears the supervisor
	Barge                      // hears both; both parties hear the supervisor
)

// String returns "listen", "whisper" or "barge".
func (m MonitorMode) String() string {
	switch m {
	case Listen:
		return "listen"
	case Whisper:
		return "whisper"
	case Barge:
		return "barge"
	}
	return fmt.Sprintf("MonitorMode(%d)", uint8(m))
}

// ErrMonitored is returned by AddMonitor on a relay that has one already.
var ErrMonitored = errors.New("call already monitored")

// MonitorConfig configures a Monitor.
type MonitorConfig struct {
	Mode  MonitorMode
	Agent Leg        // Whisper: the leg that hears the supervisor
	Codec Codec      // the supervisor's G.711 law
	IP    netip.Addr // local address of the supervisor's ports
}

// monitorFrame is the supervisor's packet time: 20 ms of 8 kHz audio.
const (
	monitorFrame    = 160
	monitorInterval = 20 * time.Millisecond
	// monitorBacklog bounds each queue of audio waiting to be mixed: at
	// most this much delay builds up when clocks drift; older audio goes.
	monitorBacklog = 8 * monitorFrame
)

// Monitor is a supervisor's leg joined to a relayed call: it sends the
// supervisor a mix of both parties every 20 ms, and, in Whisper and Barge
// mode, mixes what the supervisor says into the packets the relay forwards
// to the agent (Whisper) or to both parties (Barge). The parties' packets
// keep their sequence numbers, timestamps and SSRCs; only their G.711
// payload changes. Other payload types (telephone-event, other codecs)
// pass unchanged and are not heard by the supervisor. A recording of the
// call holds the parties only.
//
// The supervisor's endpoint is latched like a relay leg, by the same strict
// rule (see Relay; SetRemote and SetPeer): until then the mix goes to the
// SDP address, and a stranger spraying the port neither hears the call nor
// speaks into it.
type Monitor struct {
	r     *Relay
	cfg   MonitorConfig
	ports *PortPair
	local netip.AddrPort

	dst atomic.Pointer[netip.AddrPort] // where the mix goes; nil while unknown

	mu       sync.Mutex
	lt       strict
	rejected uint64
	heard    [2]fifo // each party's audio, for the supervisor
	said     [2]fifo // the supervisor's audio, for leg A and leg B
	sent     uint64
	recv     uint64

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	running  atomic.Bool
}

// MonitorStats counts the supervisor's packets.
type MonitorStats struct {
	Sent, Received uint64
	Rejected       uint64 // RTP from a source other than the supervisor's
}

// AddMonitor joins a supervisor's leg to the call, with an RTP/RTCP port
// pair from the relay's pool. Only one monitor at a time: a second gets
// ErrMonitored until the first is closed.
func (r *Relay) AddMonitor(cfg MonitorConfig) (*Monitor, error) {
	if cfg.Codec != PCMU && cfg.Codec != PCMA {
		return nil, fmt.Errorf("add monitor: codec %s is not G.711", cfg.Codec)
	}
	if cfg.Mode > Barge || cfg.Agent > LegB {
		return nil, errors.New("add monitor: bad mode or agent leg")
	}
	select {
	case <-r.done:
		return nil, fmt.Errorf("add monitor: %w", ErrClosed)
	default:
	}
	if r.mon.Load() != nil {
		return nil, ErrMonitored
	}
	pp, err := r.cfg.Pool.Listen(cfg.IP)
	if err != nil {
		return nil, fmt.Errorf("add monitor: %w", err)
	}
	m := &Monitor{r: r, cfg: cfg, ports: pp, local: netip.AddrPortFrom(cfg.IP.Unmap(), uint16(pp.Port())),
		stop: make(chan struct{}), done: make(chan struct{})}
	if !r.mon.CompareAndSwap(nil, m) {
		pp.Release()
		return nil, ErrMonitored
	}
	return m, nil
}

// Local returns the supervisor leg's RTP address (RTCP is one above).
func (m *Monitor) Local() netip.AddrPort { return m.local }

// Mode returns the monitor's mode.
func (m *Monitor) Mode() MonitorMode { return m.cfg.Mode }

// SetRemote sets the supervisor's RTP address from their SDP; the leg
// latches again by the strict rule.
func (m *Monitor) SetRemote(rtpAddr netip.AddrPort) {
	rtpAddr = usable(rtpAddr)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lt.unlatch(rtpAddr)
	storeAddr(&m.dst, rtpAddr)
}

// SetPeer tells the monitor the IP the supervisor's signalling comes from,
// as Relay.SetPeer does for a leg.
func (m *Monitor) SetPeer(ip netip.Addr) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lt.setPeer(ip)
}

// Stats returns the supervisor leg's counters.
func (m *Monitor) Stats() MonitorStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return MonitorStats{Sent: m.sent, Received: m.recv, Rejected: m.rejected}
}

// Done is closed once the monitor has stopped and released its ports.
func (m *Monitor) Done() <-chan struct{} { return m.done }

// Run sends the mix and reads the supervisor until ctx ends, Close is
// called or the relayed call ends; it then detaches from the relay and
// releases its ports. It returns ErrClosed when the monitor ran or was
// closed before.
func (m *Monitor) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return ErrClosed
	}
	var wg sync.WaitGroup
	wg.Go(m.readRTP)
	wg.Go(m.drainRTCP)
	wg.Go(m.send)
	select {
	case <-ctx.Done():
	case <-m.stop:
	case <-m.r.done:
	}
	m.stopOnce.Do(func() { close(m.stop) })
	m.ports.close()
	wg.Wait()
	m.release()
	return nil
}

// Close stops Run and waits for it; on a monitor that never ran it just
// detaches and releases the ports. Safe to call more than once.
func (m *Monitor) Close() error {
	m.stopOnce.Do(func() { close(m.stop) })
	if m.running.CompareAndSwap(false, true) {
		m.release()
	}
	<-m.done
	return nil
}

func (m *Monitor) release() {
	m.r.mon.CompareAndSwap(m, nil)
	m.ports.Release()
	close(m.done)
}

// speaksTo reports whether the supervisor is heard on leg l.
func (m *Monitor) speaksTo(l Leg) bool {
	switch m.cfg.Mode {
	case Whisper:
		return l == m.cfg.Agent
	case Barge:
		return true
	}
	return false
}

// hear queues a party's G.711 payload for the supervisor. Called by the
// relay's reader of leg l for every accepted RTP packet.
func (m *Monitor) hear(l Leg, pt uint8, payload []byte, scratch []int16) {
	c := Codec(pt)
	if (c != PCMU && c != PCMA) || len(payload) > len(scratch) {
		return
	}
	n := c.Decode(scratch, payload)
	m.mu.Lock()
	m.heard[l].push(scratch[:n])
	m.mu.Unlock()
}

// mixInto returns data (an RTP packet from the other party on its way to
// leg l) with the supervisor's audio added to its G.711 payload, written
// into out; or data itself when there is nothing to mix.
func (m *Monitor) mixInto(l Leg, data []byte, p *rtp.Packet, out []byte, scratch, said []int16) []byte {
	c := Codec(p.PayloadType)
	n := len(p.Payload)
	if (c != PCMU && c != PCMA) || n == 0 || n > len(scratch) || len(data) > len(out) {
		return data
	}
	m.mu.Lock()
	got := m.said[l].pull(said[:n])
	m.mu.Unlock()
	if got == 0 {
		return data
	}
	off := p.Header.MarshalSize()
	if off+n > len(data) {
		return data
	}
	c.Decode(scratch, p.Payload)
	mix(scratch[:n], said[:n])
	copy(out, data)
	c.Encode(out[off:off+n], scratch[:n])
	return out[:len(data)]
}

// readRTP reads the supervisor's RTP: it latches their source and, when
// they may speak, queues their audio for the legs that hear them.
func (m *Monitor) readRTP() {
	buf := make([]byte, maxPacket)
	pcm := make([]int16, maxPacket)
	var p rtp.Packet
	for {
		n, src, err := m.ports.RTP.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		if parseRTP(buf[:n], &p) != kindRTP {
			continue
		}
		m.mu.Lock()
		ok, latched := m.lt.admit(src, p.SSRC, p.SequenceNumber)
		if !ok {
			m.rejected++
			m.mu.Unlock()
			m.r.cfg.Pool.rejected.Add(1)
			continue
		}
		if latched {
			storeAddr(&m.dst, src)
		}
		m.recv++
		c := Codec(p.PayloadType)
		if m.cfg.Mode != Listen && (c == PCMU || c == PCMA) {
			k := c.Decode(pcm, p.Payload)
			for l := LegA; l <= LegB; l++ {
				if m.speaksTo(l) {
					m.said[l].push(pcm[:k])
				}
			}
		}
		m.mu.Unlock()
	}
}

// drainRTCP reads and drops the supervisor's RTCP, so that it is not
// answered with ICMP port unreachable.
func (m *Monitor) drainRTCP() {
	buf := make([]byte, maxPacket)
	for {
		if _, _, err := m.ports.RTCP.ReadFromUDPAddrPort(buf); errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// send sends the supervisor a 20 ms mix of both parties on every tick.
func (m *Monitor) send() {
	ticks, stopTicks := m.r.clk.NewTicker(monitorInterval)
	defer stopTicks()
	var a, b [monitorFrame]int16
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: uint8(m.cfg.Codec), Marker: true,
		SequenceNumber: uint16(rand.Uint32()), Timestamp: rand.Uint32(), SSRC: rand.Uint32()}}
	payload := make([]byte, monitorFrame)
	buf := make([]byte, 12+monitorFrame)
	for {
		select {
		case <-m.stop:
			return
		case <-ticks:
		}
		m.mu.Lock()
		m.heard[LegA].pull(a[:])
		m.heard[LegB].pull(b[:])
		m.mu.Unlock()
		mix(a[:], b[:])
		m.cfg.Codec.Encode(payload, a[:])
		p.Payload = payload
		n, err := p.MarshalTo(buf)
		p.Marker = false
		p.SequenceNumber++
		p.Timestamp += monitorFrame
		if err != nil {
			continue
		}
		if dst := m.dst.Load(); dst != nil {
			if _, err := m.ports.RTP.WriteToUDPAddrPort(buf[:n], *dst); err == nil {
				m.mu.Lock()
				m.sent++
				m.mu.Unlock()
			}
		}
	}
}

// monitorBuffers are a relay reader's scratch space for monitoring.
type monitorBuffers struct {
	out       [maxPacket]byte
	pcm, said [maxPacket]int16
}

// mix adds src to dst, saturating at the 16-bit limits.
func mix(dst, src []int16) {
	for i, s := range src[:min(len(dst), len(src))] {
		v := int32(dst[i]) + int32(s)
		dst[i] = int16(max(-32768, min(32767, v)))
	}
}

// fifo is a bounded queue of samples: when full, the oldest go.
type fifo struct {
	buf  [monitorBacklog]int16
	head int // index of the oldest sample
	n    int
}

func (f *fifo) push(s []int16) {
	if len(s) >= len(f.buf) {
		s = s[len(s)-len(f.buf):]
	}
	if over := f.n + len(s) - len(f.buf); over > 0 {
		f.head = (f.head + over) % len(f.buf)
		f.n -= over
	}
	tail := (f.head + f.n) % len(f.buf)
	k := copy(f.buf[tail:], s)
	copy(f.buf[:], s[k:])
	f.n += len(s)
}

// pull fills dst with the oldest samples, silence after them, and returns
// how many were real.
func (f *fifo) pull(dst []int16) int {
	k := min(len(dst), f.n)
	first := copy(dst[:k], f.buf[f.head:])
	copy(dst[first:k], f.buf[:])
	clear(dst[k:])
	f.head = (f.head + k) % len(f.buf)
	f.n -= k
	return k
}

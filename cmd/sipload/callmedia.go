package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard-pbx/switchboard/media"
)

// stream is the RTP one side of one call sends; the peer's receive loop
// counts what arrives, found by SSRC.
type stream struct {
	ssrc   uint32
	conn   *net.UDPConn
	dst    netip.AddrPort
	want   int
	seq    uint16
	ts     uint32
	sent   atomic.Int64
	recv   atomic.Int64
	stop   atomic.Bool
	done   chan struct{} // closed when every packet arrived
	closed atomic.Bool
}

// media sends and receives the RTP of every call: a few shared sockets per
// side, one sender goroutine that writes a packet per active stream every
// 20 ms, and a reader per socket.
type mediaEngine struct {
	callers, callees []*net.UDPConn
	payload          []byte

	mu      sync.Mutex
	streams map[uint32]*stream // by SSRC, until their call ended
	active  []*stream          // still sending
	// Packets of the streams whose call ended.
	sent, recv, lost int64

	wg sync.WaitGroup
}

func newMediaEngine(n int) (*mediaEngine, error) {
	m := &mediaEngine{streams: map[uint32]*stream{}, payload: make([]byte, payloadSize)}
	// A 400 Hz tone, so that a listener on a monitored call hears something.
	pcm := make([]int16, payloadSize)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*400*float64(i)/8000))
	}
	media.PCMU.Encode(m.payload, pcm)
	for range n {
		for _, side := range []*[]*net.UDPConn{&m.callers, &m.callees} {
			conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				m.close()
				return nil, fmt.Errorf("rtp socket: %w", err)
			}
			_ = conn.SetReadBuffer(4 << 20)
			_ = conn.SetWriteBuffer(4 << 20)
			*side = append(*side, conn)
		}
	}
	return m, nil
}

func (m *mediaEngine) run(ctx context.Context) {
	for _, conn := range append(append([]*net.UDPConn(nil), m.callers...), m.callees...) {
		m.wg.Go(func() { m.read(conn) })
	}
	m.wg.Go(func() { m.send(ctx) })
}

func (m *mediaEngine) close() {
	for _, conn := range append(append([]*net.UDPConn(nil), m.callers...), m.callees...) {
		conn.Close()
	}
	m.wg.Wait()
}

func (m *mediaEngine) read(conn *net.UDPConn) {
	buf := make([]byte, 1500)
	var h rtp.Header
	for {
		n, _, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if _, err := h.Unmarshal(buf[:n]); err != nil {
			continue
		}
		m.mu.Lock()
		s := m.streams[h.SSRC]
		m.mu.Unlock()
		if s == nil {
			continue
		}
		if s.recv.Add(1) == int64(s.want) && s.closed.CompareAndSwap(false, true) {
			close(s.done)
		}
	}
}

// send writes one packet per active stream every packet time. A round
// that comes late is caught up at once (a ticker would drop it and lower
// the packet rate), unless the sender is more than a second behind.
func (m *mediaEngine) send(ctx context.Context) {
	t := time.NewTimer(packetTime)
	defer t.Stop()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: uint8(media.PCMU)}, Payload: m.payload}
	buf := make([]byte, 12+payloadSize)
	var batch []*stream
	next := time.Now()
	for {
		next = next.Add(packetTime)
		if d := time.Until(next); d > 0 {
			t.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		} else if d < -time.Second {
			next = time.Now()
		}
		if ctx.Err() != nil {
			return
		}
		m.mu.Lock()
		batch = append(batch[:0], m.active...)
		m.mu.Unlock()
		finished := false
		for _, s := range batch {
			if s.stop.Load() || int(s.sent.Load()) >= s.want {
				finished = true
				continue
			}
			pkt.SSRC, pkt.SequenceNumber, pkt.Timestamp = s.ssrc, s.seq, s.ts
			pkt.Marker = s.seq == 0
			n, err := pkt.MarshalTo(buf)
			if err != nil {
				continue
			}
			s.seq++
			s.ts += payloadSize
			// Counted first: the peer may count it before this write returns.
			s.sent.Add(1)
			if _, err := s.conn.WriteToUDPAddrPort(buf[:n], s.dst); err != nil {
				s.sent.Add(-1)
			}
		}
		if finished {
			m.mu.Lock()
			kept := m.active[:0]
			for _, s := range m.active {
				if !s.stop.Load() && int(s.sent.Load()) < s.want {
					kept = append(kept, s)
				}
			}
			clear(m.active[len(kept):])
			m.active = kept
			m.mu.Unlock()
		}
	}
}

// start begins a stream of want packets from conn to dst.
func (m *mediaEngine) start(conn *net.UDPConn, dst netip.AddrPort, want int) *stream {
	s := &stream{conn: conn, dst: dst, want: want, done: make(chan struct{}),
		seq: uint16(rand.Uint32()), ts: rand.Uint32()}
	m.mu.Lock()
	for {
		s.ssrc = rand.Uint32()
		if _, taken := m.streams[s.ssrc]; !taken && s.ssrc != 0 {
			break
		}
	}
	m.streams[s.ssrc] = s
	if want > 0 {
		m.active = append(m.active, s)
	} else {
		s.closed.Store(true)
		close(s.done)
	}
	m.mu.Unlock()
	return s
}

// finish stops a stream whose call ended and adds it to the totals; a
// packet of it that comes later counts as lost.
func (m *mediaEngine) finish(s *stream) {
	s.stop.Store(true)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.streams[s.ssrc] != s {
		return
	}
	delete(m.streams, s.ssrc)
	sn, rc := s.sent.Load(), s.recv.Load()
	m.sent += sn
	m.recv += rc
	m.lost += max(0, sn-rc)
}

// totals adds up every stream: sent, received and lost packets.
func (m *mediaEngine) totals() (sent, recv, lost int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sent, recv, lost = m.sent, m.recv, m.lost
	for _, s := range m.streams {
		sn, rc := s.sent.Load(), s.recv.Load()
		sent += sn
		recv += rc
		lost += max(0, sn-rc)
	}
	return sent, recv, lost
}

// offer is the SDP of one side: PCMU and telephone-event, on the socket
// conn, named name so that the other side can find the call.
func offer(conn *net.UDPConn, name string) []byte {
	a := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	return []byte(fmt.Sprintf("v=0\r\no=sipload 1 1 IN IP4 %s\r\ns=%s\r\nc=IN IP4 %s\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"+
		"a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n", a.Addr(), name, a.Addr(), a.Port()))
}

// parseMedia returns the audio address and the session name of an SDP:
// the first audio m= port, at its own c= address or else the session's.
func parseMedia(body []byte) (netip.AddrPort, string, error) {
	var ip netip.Addr
	var port uint16
	var name string
	media := "" // the m= section we are in; "" before the first
	for line := range strings.Lines(string(body)) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "s=") && media == "":
			name = line[2:]
		case strings.HasPrefix(line, "c=IN IP4 "), strings.HasPrefix(line, "c=IN IP6 "):
			f := strings.Fields(line[len("c=IN IP4 "):])
			if len(f) == 0 || (media != "" && (media != "audio" || port == 0)) {
				continue
			}
			if a, err := netip.ParseAddr(f[0]); err == nil {
				ip = a
			}
		case strings.HasPrefix(line, "m="):
			f := strings.Fields(line[2:])
			if len(f) > 1 && f[0] == "audio" && port == 0 {
				if p, err := strconv.ParseUint(f[1], 10, 16); err == nil {
					port = uint16(p)
					media = "audio"
					continue
				}
			}
			media = "other"
		}
	}
	if !ip.IsValid() || port == 0 {
		return netip.AddrPort{}, name, errors.New("sdp without an audio address")
	}
	return netip.AddrPortFrom(ip, port), name, nil
}

package media

import (
	"bytes"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// endpointOn is newEndpoint on another loopback address (Linux routes all
// of 127.0.0.0/8 to lo).
func endpointOn(t testing.TB, ip string) *endpoint {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatalf("listen on %s (all of 127.0.0.0/8 is loopback): %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return &endpoint{t: t, conn: c, buf: make([]byte, 2048)}
}

// heardNothing reports whether nothing is waiting on e's socket. Loopback
// delivers a datagram before sendto returns, so once the relay has turned
// round a later packet, anything it sent e is already there.
func (e *endpoint) heardNothing() bool {
	e.t.Helper()
	e.conn.SetReadDeadline(time.Now())
	defer e.conn.SetReadDeadline(time.Time{})
	_, _, err := e.conn.ReadFromUDPAddrPort(e.buf)
	return err != nil
}

// spray sends n RTP packets in sequence, as a stranger that knows what a
// phone would send, to both ports of the relay.
func spray(e *endpoint, r *Relay, n int, seq *uint16) {
	for range n {
		*seq++
		for _, l := range []Leg{LegA, LegB} {
			e.send(r.Local(l), rtpPacket(0, *seq, uint32(*seq)*160, 0xE, false, []byte{0xEE}))
		}
	}
}

// A stranger on another IP sprays both relay ports before and during the
// call, in sequence: it never latches, hears nothing, and every packet of
// it is counted.
func TestRelayStrangerCannotHijackOrHear(t *testing.T) {
	t.Parallel()
	pool := testPool(t, 2)
	r, _ := newRelay(t, RelayConfig{Pool: pool})
	a, b := newEndpoint(t), newEndpoint(t)
	stranger := endpointOn(t, "127.0.0.66")
	var seq uint16
	spray(stranger, r, 10, &seq) // before the SDP is known
	r.SetRemote(LegA, a.addr(), netip.AddrPort{})
	r.SetPeer(LegA, a.addr().Addr())
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})
	r.SetPeer(LegB, b.addr().Addr())
	spray(stranger, r, 10, &seq) // answered, before the phones talk

	for i := range 20 {
		spray(stranger, r, 1, &seq)
		a.send(r.Local(LegA), rtpPacket(0, uint16(100+i), 0, 0xA, false, []byte{0xAA}))
		if got, _ := b.recv(); got[len(got)-1] != 0xAA {
			t.Fatalf("b heard %x, want a", got)
		}
		b.send(r.Local(LegB), rtpPacket(0, uint16(200+i), 0, 0xB, false, []byte{0xBB}))
		if got, _ := a.recv(); got[len(got)-1] != 0xBB {
			t.Fatalf("a heard %x, want b", got)
		}
	}
	if !stranger.heardNothing() {
		t.Error("the stranger heard the call")
	}
	for _, l := range []Leg{LegA, LegB} {
		if s := r.Stats(l); s.Rejected != 40 || s.Packets != 20 {
			t.Errorf("leg %s: %d rejected, %d relayed, want 40 and 20", l, s.Rejected, s.Packets)
		}
	}
	if got := pool.Rejected(); got != 80 {
		t.Errorf("pool counted %d rejected, want 80", got)
	}
}

// A phone behind a NAT: its SDP names a private address, its media comes
// from the NAT, on the IP its SIP comes from. It latches after Probation
// packets in sequence; a stranger on another IP does not, however many it
// sends in sequence, and one behind the same NAT cannot out-talk it.
func TestRelayNATLatchesAfterProbation(t *testing.T) {
	t.Parallel()
	r, _ := newRelay(t, RelayConfig{})
	phone, neighbour := endpointOn(t, "127.0.0.2"), endpointOn(t, "127.0.0.2")
	stranger := endpointOn(t, "127.0.0.66")
	b := newEndpoint(t)
	r.SetRemote(LegA, netip.MustParseAddrPort("127.0.0.1:4000"), netip.AddrPort{}) // the private address
	r.SetPeer(LegA, phone.addr().Addr())
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})

	for i := range 3 * Probation {
		stranger.send(r.Local(LegA), rtpPacket(0, uint16(1+i), 0, 0xE, false, []byte{0xEE}))
	}
	for i := range Probation {
		phone.send(r.Local(LegA), rtpPacket(0, uint16(50+i), 0, 0xA, false, []byte{byte(i)}))
	}
	if got, _ := b.recv(); got[len(got)-1] != Probation-1 {
		t.Fatalf("b heard %x first, want the phone's packet %d", got, Probation)
	}
	b.send(r.Local(LegB), rtpPacket(0, 1, 0, 0xB, false, []byte{0xBB}))
	if got, _ := phone.recv(); got[len(got)-1] != 0xBB {
		t.Fatalf("phone heard %x", got)
	}
	// Behind the same NAT, in sequence, but the phone talks in between.
	for i := range 3 * Probation {
		neighbour.send(r.Local(LegA), rtpPacket(0, uint16(1+i), 0, 0xE, false, []byte{0xEE}))
		if i%(Probation-1) == Probation-2 {
			phone.send(r.Local(LegA), rtpPacket(0, uint16(60+i), 0, 0xA, false, []byte{0xAA}))
			if got, _ := b.recv(); got[len(got)-1] != 0xAA {
				t.Fatalf("b heard %x, want the phone", got)
			}
		}
	}
	b.send(r.Local(LegB), rtpPacket(0, 2, 0, 0xB, false, []byte{0xBB}))
	if got, _ := phone.recv(); got[len(got)-1] != 0xBB {
		t.Fatalf("phone heard %x", got)
	}
	if !stranger.heardNothing() || !neighbour.heardNothing() {
		t.Error("a stranger heard the call")
	}
	if s := r.Stats(LegA); s.Source != phone.addr() || s.Rejected != 7*Probation-1 {
		t.Errorf("leg a: source %s, %d rejected; want %s, %d", s.Source, s.Rejected, phone.addr(), 7*Probation-1)
	}
}

// A NAT rebinding: the phone's packets come from a new port, in sequence
// with the old ones, and the old port falls silent. The leg moves after
// probation, and b's audio follows.
func TestRelayNATRebindingRelatches(t *testing.T) {
	t.Parallel()
	r, _ := newRelay(t, RelayConfig{})
	before, after := endpointOn(t, "127.0.0.3"), endpointOn(t, "127.0.0.3")
	b := newEndpoint(t)
	r.SetRemote(LegA, netip.MustParseAddrPort("127.0.0.1:4000"), netip.AddrPort{})
	r.SetPeer(LegA, before.addr().Addr())
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})
	seq := uint16(65530) // across the wrap
	next := func(from *endpoint) {
		seq++
		from.send(r.Local(LegA), rtpPacket(0, seq, 0, 0xA, false, []byte{byte(seq)}))
	}
	for range Probation {
		next(before)
	}
	b.recv()

	for range Probation {
		next(after)
	}
	if got, _ := b.recv(); got[len(got)-1] != byte(seq) {
		t.Fatalf("b heard %x first after the rebinding, want packet %d", got, seq)
	}
	b.send(r.Local(LegB), rtpPacket(0, 1, 0, 0xB, false, []byte{0xBB}))
	if got, _ := after.recv(); got[len(got)-1] != 0xBB {
		t.Fatalf("the rebound phone heard %x", got)
	}
	if !before.heardNothing() {
		t.Error("the old port still hears the call")
	}
	if s := r.Stats(LegA); s.Source != after.addr() || s.Rejected != 2*(Probation-1) {
		t.Errorf("leg a: source %s, %d rejected", s.Source, s.Rejected)
	}
}

// Probation wants one SSRC and consecutive sequence numbers: a burst with
// gaps or mixed SSRCs does not latch.
func TestRelayProbationWantsASequence(t *testing.T) {
	t.Parallel()
	r, _ := newRelay(t, RelayConfig{})
	phone, b := endpointOn(t, "127.0.0.4"), newEndpoint(t)
	r.SetRemote(LegA, netip.MustParseAddrPort("127.0.0.1:4000"), netip.AddrPort{})
	r.SetPeer(LegA, phone.addr().Addr())
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})
	for i := range 3 * Probation {
		phone.send(r.Local(LegA), rtpPacket(0, uint16(2*i), 0, 0xA, false, []byte{0xEE})) // every other number
		phone.send(r.Local(LegA), rtpPacket(0, uint16(i), 0, uint32(i), false, []byte{0xEE}))
	}
	for i := range Probation {
		phone.send(r.Local(LegA), rtpPacket(0, uint16(1000+i), 0, 0xA, false, []byte{0xAA}))
	}
	if got, _ := b.recv(); got[len(got)-1] != 0xAA {
		t.Fatalf("b heard %x first", got)
	}
	if s := r.Stats(LegA); s.Rejected != 6*Probation+Probation-1 || s.Packets != 1 {
		t.Errorf("leg a: %d rejected, %d relayed", s.Rejected, s.Packets)
	}
}

// A stranger spraying a supervisor's port in barge mode neither hears the
// mix nor is mixed into the call; the supervisor, from its SDP address, is.
func TestMonitorStrangerCannotListenOrBarge(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	r, _ := newRelay(t, RelayConfig{Pool: testPool(t, 3), clock: clk})
	a, b, sup := newEndpoint(t), newEndpoint(t), newEndpoint(t)
	stranger := endpointOn(t, "127.0.0.66")
	r.SetRemote(LegA, a.addr(), netip.AddrPort{})
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})
	m, err := r.AddMonitor(MonitorConfig{Mode: Barge, Agent: LegB, Codec: PCMU, IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	m.SetRemote(sup.addr())
	m.SetPeer(sup.addr().Addr())
	go m.Run(t.Context())
	t.Cleanup(func() { m.Close() })

	loud := bytes.Repeat([]byte{0x00}, 160) // PCMU full scale
	for i := range 3 * Probation {
		stranger.send(m.Local(), rtpPacket(0, uint16(i), 0, 0xE, false, loud))
	}
	// The supervisor's first packet is taken once the stranger's are dealt
	// with: the reader goes through the socket in order.
	sup.send(m.Local(), rtpPacket(0, 1, 0, 0x5, false, bytes.Repeat([]byte{0xFF}, 160)))
	for m.Stats().Received == 0 {
		runtime.Gosched()
	}
	silence := bytes.Repeat([]byte{0xFF}, 160) // PCMU zero
	a.send(r.Local(LegA), rtpPacket(0, 1, 0, 0xA, false, silence))
	if got, _ := b.recv(); !bytes.Equal(got[12:], silence) {
		t.Errorf("b heard the stranger mixed into the call")
	}
	clk.ticks <- clk.advance(monitorInterval)
	sup.recv() // the mix goes to the supervisor
	if !stranger.heardNothing() {
		t.Error("the stranger heard the mix")
	}
	if s := m.Stats(); s.Rejected != 3*Probation || s.Received != 1 {
		t.Errorf("monitor stats %+v, want %d rejected, 1 received", s, 3*Probation)
	}
}

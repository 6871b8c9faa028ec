package media

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRelayBothDirections(t *testing.T) {
	t.Parallel()
	r, a, b := connectedRelay(t, RelayConfig{})

	const n = 50
	payload := bytes.Repeat([]byte{0xD5}, 160)
	for i := range n {
		pa := rtpPacket(0, uint16(1000+i), uint32(160*i), 0xAAAA, false, payload)
		a.send(r.Local(LegA), pa)
		got, from := b.recv()
		if !bytes.Equal(got, pa) {
			t.Fatalf("packet %d a→b changed", i)
		}
		if from != r.Local(LegB) {
			t.Fatalf("a→b came from %s, want the relay's leg b %s", from, r.Local(LegB))
		}
		pb := rtpPacket(8, uint16(60000+i), uint32(160*i), 0xBBBB, false, payload)
		b.send(r.Local(LegB), pb)
		got, from = a.recv()
		if !bytes.Equal(got, pb) || from != r.Local(LegA) {
			t.Fatalf("packet %d b→a changed or from %s", i, from)
		}
	}
	for _, tt := range []struct {
		leg  Leg
		src  netip.AddrPort
		ssrc uint32
	}{{LegA, a.addr(), 0xAAAA}, {LegB, b.addr(), 0xBBBB}} {
		s := r.Stats(tt.leg)
		want := LegStats{Packets: n, Bytes: n * 172, Expected: n, Source: tt.src, SSRC: tt.ssrc}
		if s != want {
			t.Errorf("leg %s stats = %+v, want %+v", tt.leg, s, want)
		}
	}
}

func TestRelayLatchesOntoTheActualSource(t *testing.T) {
	t.Parallel()
	r, _ := newRelay(t, RelayConfig{})
	sdp, a, b := newEndpoint(t), newEndpoint(t), newEndpoint(t) // a is behind a NAT: it sends from another port than its SDP says
	r.SetRemote(LegA, sdp.addr(), netip.AddrPort{})
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})

	// Before a sends, b's media goes where the SDP says.
	b.send(r.Local(LegB), rtpPacket(0, 1, 0, 0xB, false, []byte{1}))
	if got, _ := sdp.recv(); got[len(got)-1] != 1 {
		t.Fatalf("sdp address got %v", got)
	}
	// Not the SDP's address: a latches after Probation packets in a row,
	// which b is the first to hear.
	for i := range Probation {
		a.send(r.Local(LegA), rtpPacket(0, uint16(1+i), uint32(160*i), 0xA, false, []byte{byte(10 + i)}))
	}
	if got, _ := b.recv(); got[len(got)-1] != 10+Probation-1 {
		t.Fatalf("b got %v first, want a's packet %d", got, Probation)
	}
	b.send(r.Local(LegB), rtpPacket(0, 2, 160, 0xB, false, []byte{3}))
	if got, _ := a.recv(); got[len(got)-1] != 3 {
		t.Fatalf("latched source got %v", got)
	}
	if s := r.Stats(LegA); s.Source != a.addr() {
		t.Errorf("leg a latched to %s, want %s", s.Source, a.addr())
	}
}

func TestRelayRejectsAnotherSourceOnceLatched(t *testing.T) {
	t.Parallel()
	r, _ := newRelay(t, RelayConfig{})
	a, b, intruder := newEndpoint(t), newEndpoint(t), newEndpoint(t)
	r.SetRemote(LegA, a.addr(), netip.AddrPort{})
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})

	a.send(r.Local(LegA), rtpPacket(0, 1, 0, 0xA, false, []byte{1}))
	b.recv()
	intruder.send(r.Local(LegA), rtpPacket(0, 9, 0, 0xE, false, []byte{9}))
	intruder.send(r.Local(LegA), rtpPacket(0, 2, 160, 0xA, false, []byte{9})) // same SSRC does not help
	// The relay reads one socket in order: once a's next packet is through,
	// the intruder's have been dealt with.
	a.send(r.Local(LegA), rtpPacket(0, 2, 160, 0xA, false, []byte{2}))
	if got, _ := b.recv(); got[len(got)-1] != 2 {
		t.Fatalf("b got the intruder's packet %v", got)
	}
	// Re-sending the same SDP (a session refresh) does not reopen latching.
	r.SetRemote(LegA, a.addr(), netip.AddrPort{})
	intruder.send(r.Local(LegA), rtpPacket(0, 10, 0, 0xE, false, []byte{9}))
	b.send(r.Local(LegB), rtpPacket(0, 1, 0, 0xB, false, []byte{3}))
	if got, _ := a.recv(); got[len(got)-1] != 3 {
		t.Fatalf("a got %v", got)
	}
	a.send(r.Local(LegA), rtpPacket(0, 3, 320, 0xA, false, []byte{4}))
	if got, _ := b.recv(); got[len(got)-1] != 4 {
		t.Fatalf("b got the intruder's packet %v", got)
	}
	if s := r.Stats(LegA); s.Rejected != 3 || s.Packets != 3 || s.Source != a.addr() {
		t.Errorf("leg a stats %+v, want 3 rejected, 3 packets, source %s", s, a.addr())
	}
}

func TestRelaySetRemoteReopensLatching(t *testing.T) {
	t.Parallel()
	r, _ := newRelay(t, RelayConfig{})
	a, a2, b := newEndpoint(t), newEndpoint(t), newEndpoint(t)
	r.SetRemote(LegA, a.addr(), netip.AddrPort{})
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})
	a.send(r.Local(LegA), rtpPacket(0, 1, 0, 0xA, false, []byte{1}))
	b.recv()

	// A re-INVITE moves leg a (a transfer, a new network): a2 takes over.
	r.SetRemote(LegA, a2.addr(), netip.AddrPort{})
	b.send(r.Local(LegB), rtpPacket(0, 1, 0, 0xB, false, []byte{2}))
	if got, _ := a2.recv(); got[len(got)-1] != 2 {
		t.Fatalf("a2 got %v", got)
	}
	a2.send(r.Local(LegA), rtpPacket(0, 1, 0, 0xA2, false, []byte{3}))
	if got, _ := b.recv(); got[len(got)-1] != 3 {
		t.Fatalf("b got %v", got)
	}
	a.send(r.Local(LegA), rtpPacket(0, 2, 160, 0xA, false, []byte{4})) // the old phone is now rejected
	a2.send(r.Local(LegA), rtpPacket(0, 2, 160, 0xA2, false, []byte{5}))
	if got, _ := b.recv(); got[len(got)-1] != 5 {
		t.Fatalf("b got %v, want a2's packet", got)
	}
}

func TestRelayRTCP(t *testing.T) {
	t.Parallel()
	r, _ := newRelay(t, RelayConfig{})
	a, aRTCP, b, bRTCP := newEndpoint(t), newEndpoint(t), newEndpoint(t), newEndpoint(t)
	r.SetRemote(LegA, a.addr(), aRTCP.addr())
	r.SetRemote(LegB, b.addr(), bRTCP.addr())

	junk := []byte{0x00, 0x01, 0x02}
	aRTCP.send(rtcpPort(r.Local(LegA)), junk) // not RTCP: dropped
	rr := rtcpRR(0xA)
	aRTCP.send(rtcpPort(r.Local(LegA)), rr)
	got, from := bRTCP.recv()
	if !bytes.Equal(got, rr) || from != rtcpPort(r.Local(LegB)) {
		t.Fatalf("b's rtcp got %x from %s, want %x from %s", got, from, rr, rtcpPort(r.Local(LegB)))
	}
	sr := append([]byte{0x80, 200, 0, 6}, make([]byte, 24)...) // a sender report
	bRTCP.send(rtcpPort(r.Local(LegB)), sr)
	if got, from = aRTCP.recv(); !bytes.Equal(got, sr) || from != rtcpPort(r.Local(LegA)) {
		t.Fatalf("a's rtcp got %x from %s", got, from)
	}

	// RTCP multiplexed on the RTP port (RFC 5761) is relayed on the RTP ports.
	a.send(r.Local(LegA), rtpPacket(0, 1, 0, 0xA, false, []byte{1}))
	b.recv()
	a.send(r.Local(LegA), rr)
	if got, _ = b.recv(); !bytes.Equal(got, rr) {
		t.Fatalf("muxed rtcp: b got %x", got)
	}
	s := r.Stats(LegA)
	if s.RTCPPackets != 2 || s.RTCPBytes != 16 || s.Invalid != 1 || s.Packets != 1 {
		t.Errorf("leg a stats %+v, want 2 rtcp packets (16 bytes), 1 invalid, 1 rtp", s)
	}
}

func TestRelayRTCPFromAnotherHostIsRejected(t *testing.T) {
	t.Parallel()
	r, _ := newRelay(t, RelayConfig{})
	// Leg a's phone is on 127.0.0.2; a stranger on 127.0.0.1 sends RTCP first.
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatalf("listen on 127.0.0.2 (all of 127.0.0.0/8 is loopback): %v", err)
	}
	aRTCP := &endpoint{t: t, conn: c, buf: make([]byte, 2048)}
	t.Cleanup(func() { c.Close() })
	b, bRTCP, stranger := newEndpoint(t), newEndpoint(t), newEndpoint(t)
	r.SetRemote(LegA, netip.AddrPortFrom(aRTCP.addr().Addr(), 4000), aRTCP.addr())
	r.SetRemote(LegB, b.addr(), bRTCP.addr())

	stranger.send(rtcpPort(r.Local(LegA)), rtcpRR(0xE))
	aRTCP.send(rtcpPort(r.Local(LegA)), rtcpRR(0xA))
	if got, _ := bRTCP.recv(); !bytes.Equal(got, rtcpRR(0xA)) {
		t.Fatalf("b's rtcp got %x, want a's report", got)
	}
	if s := r.Stats(LegA); s.Rejected != 1 || s.RTCPPackets != 1 {
		t.Errorf("leg a stats %+v, want the stranger's rtcp rejected", s)
	}
}

func TestRelayPassesDTMFUnchanged(t *testing.T) {
	t.Parallel()
	r, a, b := connectedRelay(t, RelayConfig{})
	// RFC 4733 digit 5: start with the marker, updates, then the end packet
	// three times with the same sequence number and timestamp.
	events := [][]byte{
		rtpPacket(101, 10, 8000, 0xA, true, []byte{5, 10, 0x01, 0x40}),
		rtpPacket(101, 11, 8000, 0xA, false, []byte{5, 10, 0x02, 0x80}),
		rtpPacket(101, 12, 8000, 0xA, false, []byte{5, 0x80 | 10, 0x03, 0x20}),
		rtpPacket(101, 12, 8000, 0xA, false, []byte{5, 0x80 | 10, 0x03, 0x20}),
		rtpPacket(101, 12, 8000, 0xA, false, []byte{5, 0x80 | 10, 0x03, 0x20}),
	}
	for i, ev := range events {
		a.send(r.Local(LegA), ev)
		if got, _ := b.recv(); !bytes.Equal(got, ev) {
			t.Fatalf("event packet %d: got %x, want %x", i, got, ev)
		}
	}
	if s := r.Stats(LegA); s.Packets != 5 || s.Lost != 0 {
		t.Errorf("leg a stats %+v", s)
	}
}

func TestRelayLossWithSequenceWrap(t *testing.T) {
	t.Parallel()
	r, a, b := connectedRelay(t, RelayConfig{})
	// 65530..65535, 0..9 is 16 packets; 0 and 1 are lost, 4 comes after 5.
	seqs := []uint16{65530, 65531, 65532, 65533, 65534, 65535, 2, 3, 5, 4, 6, 7, 8, 9}
	for _, seq := range seqs {
		a.send(r.Local(LegA), rtpPacket(0, seq, uint32(seq)*160, 0xA, false, []byte{0}))
		b.recv()
	}
	if s := r.Stats(LegA); s.Packets != 14 || s.Expected != 16 || s.Lost != 2 {
		t.Errorf("stats %+v, want 14 packets, 16 expected, 2 lost", s)
	}
	if got := r.Stats(LegA).LossRate(); got != 2.0/16 {
		t.Errorf("loss rate %v", got)
	}
}

// tick sends one tick to the relay's watchdog, failing the test if Run
// returned instead.
func tick(t *testing.T, clk *fakeClock, now time.Time, done <-chan error) {
	t.Helper()
	select {
	case clk.ticks <- now:
	case err := <-done:
		t.Fatalf("relay stopped at %s: %v", now.Sub(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)), err)
	}
}

// settle makes sure the watchdog finished with the previous tick: it takes
// the next one only after that.
func settle(t *testing.T, clk *fakeClock, now time.Time, done <-chan error) {
	t.Helper()
	tick(t, clk, now, done)
}

func TestRelayMediaTimeout(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	r, done := newRelay(t, RelayConfig{Timeout: 10 * time.Second, clock: clk})
	a, b := newEndpoint(t), newEndpoint(t)
	r.SetRemote(LegA, a.addr(), netip.AddrPort{})
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})

	// Not armed yet: ringing without media for a long time is fine.
	tick(t, clk, clk.advance(time.Second), done)
	tick(t, clk, clk.advance(time.Hour), done)
	r.Arm()
	tick(t, clk, clk.advance(time.Second), done) // silence counts from here
	a.send(r.Local(LegA), rtpPacket(0, 1, 0, 0xA, false, []byte{0}))
	b.recv()
	b.send(r.Local(LegB), rtpPacket(0, 1, 0, 0xB, false, []byte{0}))
	a.recv()
	tick(t, clk, clk.advance(5*time.Second), done) // rtp seen: silence restarts
	tick(t, clk, clk.advance(9*time.Second), done)
	settle(t, clk, clk.Now(), done)

	tick(t, clk, clk.advance(time.Second), done) // 10 s without rtp
	err := <-done
	var te *TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, ErrTimeout) || te.Silence != 10*time.Second || te.Hold {
		t.Fatalf("Run = %v, want a 10s media timeout", err)
	}
	<-r.Done()
}

// talkUntil has a say a packet before every tick of the watchdog, so that
// only b is silent.
func talkUntil(t *testing.T, r *Relay, clk *fakeClock, a, b *endpoint, done <-chan error, seq *uint16, d, step time.Duration) {
	t.Helper()
	for range d / step {
		*seq++
		a.send(r.Local(LegA), rtpPacket(0, *seq, 0, 0xA, false, []byte{0}))
		b.recv()
		tick(t, clk, clk.advance(step), done)
	}
	settle(t, clk, clk.Now(), done)
}

func TestRelayOneSidedSilenceTimesOut(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	r, done := newRelay(t, RelayConfig{Timeout: 10 * time.Second, clock: clk})
	a, b := newEndpoint(t), newEndpoint(t)
	r.SetRemote(LegA, a.addr(), netip.AddrPort{})
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})
	r.Arm()
	tick(t, clk, clk.Now(), done)

	// a talks all along, b (the one a hears nothing from) never says a word.
	var seq uint16
	talkUntil(t, r, clk, a, b, done, &seq, 9*time.Second, time.Second)
	seq++
	a.send(r.Local(LegA), rtpPacket(0, seq, 0, 0xA, false, []byte{0}))
	b.recv()
	clk.advance(time.Second)
	clk.ticks <- clk.Now()
	err := <-done
	var te *TimeoutError
	if !errors.As(err, &te) || te.Leg != LegB || te.Hold || te.Silence != 10*time.Second {
		t.Fatalf("Run = %v, want leg b's 10s media timeout", err)
	}
}

func TestRelayHeldLegGetsTheHoldTimeout(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	r, done := newRelay(t, RelayConfig{Timeout: 10 * time.Second, HoldTimeout: time.Minute, clock: clk})
	a, b := newEndpoint(t), newEndpoint(t)
	r.SetRemote(LegA, a.addr(), netip.AddrPort{})
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})
	r.SetHold(LegB, true) // b is sendonly/inactive: it may be quiet a while
	r.Arm()
	tick(t, clk, clk.Now(), done)

	var seq uint16
	talkUntil(t, r, clk, a, b, done, &seq, 55*time.Second, 5*time.Second) // past Timeout: still up
	seq++
	a.send(r.Local(LegA), rtpPacket(0, seq, 0, 0xA, false, []byte{0}))
	b.recv()
	clk.advance(5 * time.Second)
	clk.ticks <- clk.Now()
	err := <-done
	var te *TimeoutError
	if !errors.As(err, &te) || te.Leg != LegB || !te.Hold || te.Silence != time.Minute {
		t.Fatalf("Run = %v, want leg b's one-minute hold timeout", err)
	}
}

func TestRelayHoldWithoutHoldTimeout(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	r, done := newRelay(t, RelayConfig{Timeout: 10 * time.Second, clock: clk})
	a, b := newEndpoint(t), newEndpoint(t)
	r.SetRemote(LegA, a.addr(), netip.AddrPort{})
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})
	r.Arm()
	tick(t, clk, clk.Now(), done)

	// Both legs on hold and no HoldTimeout: silence is expected, for any time.
	r.SetHold(LegA, true)
	r.SetHold(LegB, true)
	tick(t, clk, clk.advance(time.Minute), done)
	tick(t, clk, clk.advance(time.Hour), done)
	settle(t, clk, clk.Now(), done)

	// Leg b resumes but stays quiet: its silence counts from the resume.
	// The resume is seen at a tick of this same instant: the one settle
	// sent, if the watchdog had not yet taken it in, or this one.
	r.SetHold(LegB, false)
	tick(t, clk, clk.Now(), done)
	tick(t, clk, clk.advance(time.Second), done)
	tick(t, clk, clk.advance(8*time.Second), done)
	settle(t, clk, clk.Now(), done)
	tick(t, clk, clk.advance(time.Second), done)
	var te *TimeoutError
	if err := <-done; !errors.As(err, &te) || te.Leg != LegB || te.Silence != 9*time.Second+time.Second {
		t.Fatalf("Run = %v, want leg b's media timeout once off hold and silent", err)
	}
}

type collectTap struct {
	mu   sync.Mutex
	got  []tapped
	seen chan struct{}
}

type tapped struct {
	leg Leg
	p   Packet
}

func (c *collectTap) RTP(l Leg, p *Packet) {
	c.mu.Lock()
	cp := *p
	cp.Payload = append([]byte(nil), p.Payload...)
	c.got = append(c.got, tapped{l, cp})
	c.mu.Unlock()
	c.seen <- struct{}{}
}

func TestRelayTap(t *testing.T) {
	t.Parallel()
	r, a, b := connectedRelay(t, RelayConfig{})
	tap := &collectTap{seen: make(chan struct{}, 4)}
	r.SetTap(tap)

	a.send(r.Local(LegA), rtpPacket(0, 7, 1120, 0xA, true, []byte{1, 2, 3}))
	<-tap.seen
	b.send(r.Local(LegB), rtpPacket(8, 9, 1440, 0xB, false, []byte{4, 5}))
	<-tap.seen
	b.send(r.Local(LegB), []byte{0x80, 200, 0, 1, 0, 0, 0, 0xB}) // muxed rtcp: not for the tap
	r.SetTap(nil)
	b.send(r.Local(LegB), rtpPacket(8, 10, 1600, 0xB, false, []byte{6}))
	a.recv()
	a.recv()
	a.recv()

	tap.mu.Lock()
	defer tap.mu.Unlock()
	if len(tap.got) != 2 {
		t.Fatalf("tap got %d packets, want 2", len(tap.got))
	}
	if g := tap.got[0]; g.leg != LegA || g.p.PayloadType != 0 || !g.p.Marker || g.p.SequenceNumber != 7 ||
		g.p.Timestamp != 1120 || g.p.SSRC != 0xA || !bytes.Equal(g.p.Payload, []byte{1, 2, 3}) || g.p.Arrival.IsZero() {
		t.Errorf("first tapped packet %+v", g)
	}
	if g := tap.got[1]; g.leg != LegB || g.p.PayloadType != 8 || g.p.SequenceNumber != 9 || !bytes.Equal(g.p.Payload, []byte{4, 5}) {
		t.Errorf("second tapped packet %+v", g)
	}
}

// TestRelayCloseReleasesEverything runs without t.Parallel so that the
// goroutine count is this test's alone.
func TestRelayCloseReleasesEverything(t *testing.T) {
	pool := testPool(t, 2)
	before := mediaGoroutines()

	r, err := NewRelay(RelayConfig{Pool: pool, IP: loopback, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ports := []netip.AddrPort{r.Local(LegA), r.Local(LegB)}
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	a, b := newEndpoint(t), newEndpoint(t)
	r.SetRemote(LegA, a.addr(), netip.AddrPort{})
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})
	a.send(r.Local(LegA), rtpPacket(0, 1, 0, 0xA, false, []byte{0}))
	b.recv()
	if pool.Free() != 0 {
		t.Fatalf("free = %d while running", pool.Free())
	}

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run after Close = %v, want nil", err)
	}
	r.Close() // again: harmless
	if pool.Free() != 2 {
		t.Errorf("free = %d after Close, want 2", pool.Free())
	}
	for _, p := range ports {
		for _, port := range []netip.AddrPort{p, rtcpPort(p)} {
			c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(port))
			if err != nil {
				t.Errorf("port %s still bound after Close: %v", port, err)
				continue
			}
			c.Close()
		}
	}
	// Run waited for its goroutines; they may still be on their way out of
	// the scheduler's count.
	for i := 0; mediaGoroutines() > before; i++ {
		if i == 10000 {
			t.Fatalf("%d goroutines of package media after Close, %d before", mediaGoroutines(), before)
		}
		runtime.Gosched()
	}
	if err := r.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
}

func TestRelayContextCancelStopsRun(t *testing.T) {
	t.Parallel()
	pool := testPool(t, 2)
	r := loopbackRelay(t, pool)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil on cancel", err)
	}
	if pool.Free() != 2 {
		t.Errorf("free = %d after Run returned, want 2", pool.Free())
	}
	r.Close()
}

func TestRelayCloseWithoutRun(t *testing.T) {
	t.Parallel()
	pool := testPool(t, 2)
	r := loopbackRelay(t, pool)
	r.Close()
	if pool.Free() != 2 {
		t.Errorf("free = %d, want 2", pool.Free())
	}
	if err := r.Run(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("Run = %v, want ErrClosed", err)
	}
}

func TestNewRelayErrors(t *testing.T) {
	t.Parallel()
	if _, err := NewRelay(RelayConfig{IP: loopback}); err == nil {
		t.Error("no pool: no error")
	}
	pool := testPool(t, 1)
	if _, err := NewRelay(RelayConfig{Pool: pool, IP: loopback}); !errors.Is(err, ErrNoPorts) {
		t.Errorf("one pair for two legs: %v, want ErrNoPorts", err)
	}
	if pool.Free() != 1 {
		t.Errorf("free = %d after a failed NewRelay, want 1", pool.Free())
	}
}

func TestSetRemoteUnspecifiedMeansNoDestination(t *testing.T) {
	t.Parallel()
	r, _ := newRelay(t, RelayConfig{})
	a, b := newEndpoint(t), newEndpoint(t)
	tap := &collectTap{seen: make(chan struct{}, 4)}
	r.SetTap(tap)
	r.SetRemote(LegA, a.addr(), netip.AddrPort{})
	r.SetRemote(LegB, netip.MustParseAddrPort("0.0.0.0:4000"), netip.AddrPort{}) // RFC 2543 hold
	a.send(r.Local(LegA), rtpPacket(0, 1, 0, 0xA, false, []byte{0}))
	<-tap.seen // the tap is called after the relay tried to forward it
	// b then sends from the IP its signalling comes from: it latches after
	// probation, and a's next packet reaches it.
	r.SetPeer(LegB, b.addr().Addr())
	for i := range Probation {
		b.send(r.Local(LegB), rtpPacket(0, uint16(1+i), 0, 0xB, false, []byte{1}))
	}
	a.recv()
	a.send(r.Local(LegA), rtpPacket(0, 2, 160, 0xA, false, []byte{2}))
	if got, _ := b.recv(); got[len(got)-1] != 2 {
		t.Fatalf("b got %v", got)
	}
	if s := r.Stats(LegA); s.Dropped != 1 || s.Packets != 2 {
		t.Errorf("leg a stats %+v, want 1 dropped for want of a destination", s)
	}
}

// A phone behind a NAT: its SDP names a private address, its media comes
// from the NAT's. Until its RTCP arrives, its RTCP is sent next to where its
// RTP comes from.
func TestRelayRTCPFollowsALatchedNAT(t *testing.T) {
	t.Parallel()
	var rtpEP, rtcpEP *endpoint
	for range 20 {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
		if err != nil {
			t.Fatalf("listen on 127.0.0.2 (all of 127.0.0.0/8 is loopback): %v", err)
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		c2, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: port + 1})
		if err != nil {
			c.Close()
			continue
		}
		t.Cleanup(func() { c.Close(); c2.Close() })
		rtpEP = &endpoint{t: t, conn: c, buf: make([]byte, 2048)}
		rtcpEP = &endpoint{t: t, conn: c2, buf: make([]byte, 2048)}
		break
	}
	if rtpEP == nil {
		t.Fatal("no free port pair on 127.0.0.2 after many tries")
	}
	r, _ := newRelay(t, RelayConfig{})
	b, bRTCP := newEndpoint(t), newEndpoint(t)
	r.SetRemote(LegA, netip.MustParseAddrPort("127.0.0.1:4000"), netip.AddrPort{}) // the private address
	r.SetPeer(LegA, rtpEP.addr().Addr())                                           // where its SIP comes from
	r.SetRemote(LegB, b.addr(), bRTCP.addr())

	for i := range Probation {
		rtpEP.send(r.Local(LegA), rtpPacket(0, uint16(1+i), 0, 0xA, false, []byte{1}))
	}
	b.recv()
	bRTCP.send(rtcpPort(r.Local(LegB)), rtcpRR(0xB))
	if got, from := rtcpEP.recv(); !bytes.Equal(got, rtcpRR(0xB)) || from != rtcpPort(r.Local(LegA)) {
		t.Fatalf("phone's rtcp got %x from %s", got, from)
	}
}

// mediaGoroutines counts the goroutines running this package's code,
// other than tests: the runtime's own (finalizers, cleanups) come and go.
func mediaGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "switchboard/media.") && !strings.Contains(g, "_test.go") {
			n++
		}
	}
	return n
}

//go:build unix

package media

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// cpuTime returns the process's user plus system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchEndpoint is a fake phone that counts what it receives.
type benchEndpoint struct {
	conn *net.UDPConn
	addr netip.AddrPort
	got  atomic.Uint64
	to   netip.AddrPort // where it sends
	pkt  []byte
	pt   uint8 // payload type sent
	seq  uint16
	ts   uint32
	seal func(plain []byte) []byte // an SRTP phone's encryption; nil: plain
}

func newBenchEndpoint(b *testing.B) *benchEndpoint {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	// Room for a burst of a few hundred packets per socket.
	c.SetReadBuffer(1 << 20)
	b.Cleanup(func() { c.Close() })
	a := c.LocalAddr().(*net.UDPAddr).AddrPort()
	return &benchEndpoint{conn: c, addr: netip.AddrPortFrom(a.Addr().Unmap(), a.Port())}
}

// receive counts datagrams until the socket is closed; each one also frees
// a slot in window, when there is one.
func (e *benchEndpoint) receive(window chan struct{}) {
	buf := make([]byte, 2048)
	for {
		if _, _, err := e.conn.ReadFromUDPAddrPort(buf); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		e.got.Add(1)
		if window != nil {
			<-window
		}
	}
}

// send sends the next 20 ms G.711 packet.
func (e *benchEndpoint) send() error {
	if e.pkt == nil {
		e.pkt = rtpPacket(e.pt, 0, 0, uint32(e.addr.Port()), false, bytes.Repeat([]byte{0xD5}, 160))
	}
	e.seq++
	e.ts += 160
	e.pkt[2], e.pkt[3] = byte(e.seq>>8), byte(e.seq)
	e.pkt[4], e.pkt[5], e.pkt[6], e.pkt[7] = byte(e.ts>>24), byte(e.ts>>16), byte(e.ts>>8), byte(e.ts)
	out := e.pkt
	if e.seal != nil {
		out = e.seal(out)
	}
	_, err := e.conn.WriteToUDPAddrPort(out, e.to)
	return err
}

// BenchmarkRelayOneCall pushes packets through one relay in both directions
// as fast as it turns them round, with at most 32 in flight each way.
func BenchmarkRelayOneCall(b *testing.B) { benchOneCall(b, false, false) }

// BenchmarkRelayOneCallTranscoded is BenchmarkRelayOneCall between a PCMU
// phone and a G.722 one: every packet is transcoded.
func BenchmarkRelayOneCallTranscoded(b *testing.B) { benchOneCall(b, true, false) }

// BenchmarkRelayOneCallSRTP is BenchmarkRelayOneCall with leg A an SRTP
// phone: the relay decrypts A's packets and encrypts B's for A. The fake
// phone's own encryption is in the CPU figure too (once per round).
func BenchmarkRelayOneCallSRTP(b *testing.B) { benchOneCall(b, false, true) }

func benchOneCall(b *testing.B, transcode, secure bool) {
	pool, err := NewPortPool(40000, 40099)
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewRelay(RelayConfig{Pool: pool, IP: loopback, Timeout: 30 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(b.Context()) }()
	defer func() { r.Close(); <-done }()

	a, bb := newBenchEndpoint(b), newBenchEndpoint(b)
	a.to, bb.to = r.Local(LegA), r.Local(LegB)
	if transcode {
		bb.pt = uint8(G722)
		if err := r.Transcode(Format{Codec: PCMU, PT: 0}, Format{Codec: G722, PT: bb.pt}); err != nil {
			b.Fatal(err)
		}
	}
	r.SetRemote(LegA, a.addr, netip.AddrPort{})
	r.SetRemote(LegB, bb.addr, netip.AddrPort{})
	if secure {
		phoneKey := NewSRTPKey()
		if err := r.SetSRTP(LegA, &SRTPKeys{Remote: phoneKey, Local: NewSRTPKey()}); err != nil {
			b.Fatal(err)
		}
		ctx, err := srtp.CreateContext(phoneKey[:16], phoneKey[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 0, maxPacket)
		var h rtp.Header
		a.seal = func(plain []byte) []byte {
			out, err := ctx.EncryptRTP(buf[:0], plain, &h)
			if err != nil {
				b.Fatal(err)
			}
			return out
		}
	}
	winAB, winBA := make(chan struct{}, 32), make(chan struct{}, 32)
	var wg sync.WaitGroup
	wg.Go(func() { bb.receive(winAB) })
	wg.Go(func() { a.receive(winBA) })
	defer wg.Wait()
	defer a.conn.Close()
	defer bb.conn.Close()

	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		winAB <- struct{}{}
		if err := a.send(); err != nil {
			b.Fatal(err)
		}
		winBA <- struct{}{}
		if err := bb.send(); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime(b) - cpu0
	sent := 2 * float64(b.N)
	b.ReportMetric(sent/b.Elapsed().Seconds(), "pkts/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/sent, "cpu-ns/pkt")
	sa, sb := r.Stats(LegA), r.Stats(LegB)
	b.ReportMetric(float64(sa.Lost+sb.Lost+sa.Dropped+sb.Dropped), "lost")
}

// BenchmarkRelayCalls runs many calls at once at a phone's pace: every
// endpoint sends one 20 ms G.711 packet per tick (50 pkt/s each way), and
// one iteration is one tick. "direct" is the same load with the endpoints
// sending to each other, to tell the relay's CPU from the fake phones'.
//
//	go test -run '^$' -bench 'RelayCalls' -benchtime 250x ./media/
func BenchmarkRelayCalls(b *testing.B) {
	for _, calls := range []int{100, 500} {
		for _, relayed := range []bool{true, false} {
			name := fmt.Sprintf("calls=%d/direct", calls)
			if relayed {
				name = fmt.Sprintf("calls=%d/relayed", calls)
			}
			b.Run(name, func(b *testing.B) { benchCalls(b, calls, relayed) })
		}
	}
}

func benchCalls(b *testing.B, calls int, relayed bool) {
	pool, err := NewPortPool(40000, 40000+4*calls+200)
	if err != nil {
		b.Fatal(err)
	}
	var (
		relays []*Relay
		eps    []*benchEndpoint
		runs   sync.WaitGroup
		recv   sync.WaitGroup
	)
	for range calls {
		a, c := newBenchEndpoint(b), newBenchEndpoint(b)
		a.to, c.to = c.addr, a.addr
		if relayed {
			r, err := NewRelay(RelayConfig{Pool: pool, IP: loopback, Timeout: 30 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			r.SetRemote(LegA, a.addr, netip.AddrPort{})
			r.SetRemote(LegB, c.addr, netip.AddrPort{})
			r.Arm()
			a.to, c.to = r.Local(LegA), r.Local(LegB)
			relays = append(relays, r)
			runs.Go(func() { r.Run(b.Context()) })
		}
		eps = append(eps, a, c)
	}
	for _, e := range eps {
		recv.Go(func() { e.receive(nil) })
	}
	defer func() {
		for _, r := range relays {
			r.Close()
		}
		runs.Wait()
		for _, e := range eps {
			e.conn.Close()
		}
		recv.Wait()
	}()

	// Senders: two goroutines share the endpoints, as phones spread over time.
	const senders = 2
	ticks := make([]chan struct{}, senders)
	var sending sync.WaitGroup
	var sendErr atomic.Uint64
	for i := range senders {
		ticks[i] = make(chan struct{})
		sending.Go(func() {
			for range ticks[i] {
				for j := i; j < len(eps); j += senders {
					if eps[j].send() != nil {
						sendErr.Add(1)
					}
				}
			}
		})
	}

	runtime.GC()
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	cpu0 := cpuTime(b)
	start := time.Now()
	for b.Loop() {
		<-ticker.C
		for _, t := range ticks {
			t <- struct{}{}
		}
	}
	for _, t := range ticks {
		close(t)
	}
	sending.Wait()
	// Let the last tick's packets land: wait one more tick.
	<-ticker.C
	elapsed := time.Since(start)
	cpu := cpuTime(b) - cpu0

	sent := uint64(b.N) * uint64(len(eps))
	var got uint64
	for _, e := range eps {
		got += e.got.Load()
	}
	var relayLost uint64
	for _, r := range relays {
		relayLost += r.Stats(LegA).Lost + r.Stats(LegB).Lost
	}
	b.ReportMetric(float64(got)/elapsed.Seconds(), "pkts/s")
	b.ReportMetric(100*float64(sent-min(got, sent))/float64(sent), "loss-%")
	b.ReportMetric(float64(relayLost), "seq-lost")
	// CPU per call: the share of one core that one call (two legs) costs,
	// fake phones included.
	b.ReportMetric(100*cpu.Seconds()/elapsed.Seconds()/float64(calls), "%core/call")
	b.ReportMetric(float64(cpu.Microseconds())/elapsed.Seconds()/float64(calls), "cpu-µs/call-s")
	if n := sendErr.Load(); n > 0 {
		b.Logf("%d send errors", n)
	}
}

// BenchmarkRecorder costs one second of a call's audio (50 packets each way)
// through a recorder writing to a real file: ns/op is CPU per audio second.
func BenchmarkRecorder(b *testing.B) {
	rec, err := NewRecorder(filepath.Join(b.TempDir(), "call.wav"), RecorderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close()
	a := stream{leg: LegA, codec: PCMU, freq: 440, ssrc: 1, packets: 50}.tone()
	c := stream{leg: LegB, codec: PCMA, freq: 1000, ssrc: 2, packets: 50}.tone()
	b.ReportAllocs()
	sec := 0
	for b.Loop() {
		shift := time.Duration(sec) * time.Second
		for i := range a {
			pa, pc := a[i].p, c[i].p
			pa.SequenceNumber += uint16(50 * sec)
			pa.Timestamp += uint32(8000 * sec)
			pa.Arrival = pa.Arrival.Add(shift)
			pc.SequenceNumber += uint16(50 * sec)
			pc.Timestamp += uint32(8000 * sec)
			pc.Arrival = pc.Arrival.Add(shift)
			rec.RTP(LegA, &pa)
			rec.RTP(LegB, &pc)
		}
		sec++
	}
	b.ReportMetric(100*b.Elapsed().Seconds()/float64(sec), "%core/recording")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(100*sec), "ns/pkt")
}

// BenchmarkRecorders1000 keeps 1,000 recordings open at once and feeds them
// a second of audio each per iteration, in 20 ms rounds as the calls would;
// it reports the heap per open recording.
func BenchmarkRecorders1000(b *testing.B) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	sec := benchRecorders(b, 1000, func() {}, nil)
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc-base)/1000, "heap-B/recording")
	b.ReportMetric(b.Elapsed().Seconds()/float64(sec)/1000*1e6, "cpu-µs/recording-s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(100*1000*sec), "ns/pkt")
}

// BenchmarkRecordersCold is BenchmarkRecorders1000 with the caches cold,
// as a server relaying the calls leaves them: between two rounds of
// packets (20 ms of the calls' audio) 8 MiB of other memory is read, with
// the timer stopped, as the relay's sockets, buffers and 2,000 other
// packets would pass through the caches in those 20 ms. ns/pkt is what a
// recorded packet costs then, its file writes included.
//
//	go test -run '^$' -bench 'RecordersCold' -benchtime 10x ./media/
func BenchmarkRecordersCold(b *testing.B) {
	other := make([]uint64, 1<<20)
	for i := range other {
		other[i] = uint64(i)
	}
	var sum uint64
	sec := benchRecorders(b, 1000, func() {}, func() {
		b.StopTimer()
		for i := 0; i < len(other); i += 8 { // a word a cache line
			sum += other[i]
		}
		b.StartTimer()
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(100*1000*sec), "ns/pkt")
	if sum == 0 {
		b.Log(sum)
	}
}

// benchRecorders runs n recordings at once, each fed a second of audio (50
// packets each way) per iteration, and returns the seconds fed; the
// recordings are closed when b ends. It calls start once they are open,
// and round (if not nil) after each round of packets, 20 ms of audio.
func benchRecorders(b *testing.B, n int, start, round func()) (sec int) {
	dir := b.TempDir()
	a := stream{leg: LegA, codec: PCMU, freq: 440, ssrc: 1, packets: 50}.tone()
	c := stream{leg: LegB, codec: PCMA, freq: 1000, ssrc: 2, packets: 50}.tone()
	recs := make([]*Recorder, n)
	for i := range recs {
		rec, err := NewRecorder(filepath.Join(dir, fmt.Sprintf("%d.wav", i)), RecorderConfig{})
		if err != nil {
			b.Fatal(err)
		}
		recs[i] = rec
	}
	b.Cleanup(func() {
		for _, rec := range recs {
			rec.Close()
		}
	})

	b.ReportAllocs()
	start()
	for b.Loop() {
		shift := time.Duration(sec) * time.Second
		for i := range a {
			pa, pc := a[i].p, c[i].p
			pa.SequenceNumber += uint16(50 * sec)
			pa.Timestamp += uint32(8000 * sec)
			pa.Arrival = pa.Arrival.Add(shift)
			pc.SequenceNumber += uint16(50 * sec)
			pc.Timestamp += uint32(8000 * sec)
			pc.Arrival = pc.Arrival.Add(shift)
			for _, rec := range recs {
				rec.RTP(LegA, &pa)
				rec.RTP(LegB, &pc)
			}
			if round != nil {
				round()
			}
		}
		sec++
	}
	return sec
}

// BenchmarkParseRTP is the per-packet parse of the relay's hot path.
func BenchmarkParseRTP(b *testing.B) {
	pkt := rtpPacket(0, 1, 160, 0xA, false, bytes.Repeat([]byte{0xD5}, 160))
	var p rtp.Packet
	b.ReportAllocs()
	for b.Loop() {
		if parseRTP(pkt, &p) != kindRTP {
			b.Fatal("not rtp")
		}
	}
}

// BenchmarkSRTPLeg is the relay's crypto work for one packet each way on
// an SRTP leg, without sockets: decrypting (and authenticating) what the
// phone sent, encrypting what goes to it. ns/op is per pair of packets.
func BenchmarkSRTPLeg(b *testing.B) {
	phoneKey, relayKey := NewSRTPKey(), NewSRTPKey()
	sl, err := newSRTPLeg(SRTPKeys{Remote: phoneKey, Local: relayKey})
	if err != nil {
		b.Fatal(err)
	}
	phone, err := srtp.CreateContext(phoneKey[:16], phoneKey[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		b.Fatal(err)
	}
	plain := rtpPacket(0, 0, 0, 0xAAAA, false, bytes.Repeat([]byte{0xD5}, 160))
	// Sealed ahead, so that only the relay's side is measured.
	sealed := make([][]byte, 1<<12)
	for i := range sealed {
		plain[2], plain[3] = byte(i>>8), byte(i)
		sealed[i], _ = phone.EncryptRTP(nil, plain, nil)
	}
	var h rtp.Header
	in := make([]byte, maxPacket)
	var out [maxPacket + srtpOverhead]byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(sealed) { // a fresh leg: the replay window would refuse the ring again
			b.StopTimer()
			sl, _ = newSRTPLeg(SRTPKeys{Remote: phoneKey, Local: relayKey})
			i = 0
			b.StartTimer()
		}
		n := copy(in, sealed[i])
		i++
		dec, err := sl.decryptRTP(in[:n], &h)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sl.encryptRTP(out[:], dec, &h); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/pkt")
}

//go:build linux

package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Benchmarks of the relay alone: the fake phones run in a child process
// (this test binary again, in TestRelayBenchPhones), so that the process
// CPU time the benchmarks read (getrusage) is the relay's own, its socket
// system calls included, and allocs/op counts the relay's allocations.
//
//	go test -run '^$' -bench 'RelayPacket|RelayCallsRecorded' -benchtime 200000x ./media/

// BenchmarkRelayPacket pushes packets through one relayed call in both
// directions, as fast as the relay turns them round with at most 32 in
// flight each way; one op is one relayed packet. relay-cpu-ns/pkt is the
// relay process's CPU time (user and system) per packet.
func BenchmarkRelayPacket(b *testing.B) {
	h := startPhones(b, 1)
	defer h.close()
	r := h.relays[0]
	b.ReportAllocs()
	b.ResetTimer()
	ru0 := rusage(b)
	sent, got := h.run(b, fmt.Sprintf("flood %d 32", (b.N+1)/2))
	ru := rusage(b).sub(ru0)
	b.StopTimer()
	ru.report(b, got)
	b.ReportMetric(100*float64(sent-min(got, sent))/float64(sent), "loss-%")
	sa, sb := r.Stats(LegA), r.Stats(LegB)
	b.ReportMetric(float64(sa.Dropped+sb.Dropped), "dropped")
	b.ReportMetric(100*h.pool.Counters().LossRate(), "relay-loss-%")
}

// BenchmarkRelayCallsRecorded runs calls at a phone's pace, each relayed
// and recorded to a WAV file: every phone sends a 20 ms G.711 packet per
// tick (50 packets a second each way) and one op is one tick. It reports
// the relay process's share of one core, its CPU per packet, the packets
// lost between the phones and those the relay counts dropped, and the
// memory per call: heap and goroutine stacks (B/call), and the growth of
// the process's resident memory (RSS-B/call), relay and recorder.
//
//	go test -run '^$' -bench 'RelayCallsRecorded/calls=1000' -benchtime 500x ./media/
func BenchmarkRelayCallsRecorded(b *testing.B) {
	for _, calls := range []int{100, 1000} {
		b.Run(fmt.Sprintf("calls=%d", calls), func(b *testing.B) { benchCallsPaced(b, calls, true) })
	}
	// The same without the pollers (on Linux), for comparison.
	b.Run("calls=1000/goroutine-per-socket", func(b *testing.B) {
		usePollers = false
		defer func() { usePollers = true }()
		benchCallsPaced(b, 1000, true)
	})
}

// BenchmarkRelayCallsPaced is BenchmarkRelayCallsRecorded without the
// recording: the relay alone at a phone's pace.
//
//	go test -run '^$' -bench 'RelayCallsPaced/calls=100$' -benchtime 500x ./media/
func BenchmarkRelayCallsPaced(b *testing.B) {
	for _, calls := range []int{100, 200, 400, 1000} {
		b.Run(fmt.Sprintf("calls=%d", calls), func(b *testing.B) { benchCallsPaced(b, calls, false) })
	}
}

// BenchmarkRelayCallsSpread is BenchmarkRelayCallsPaced with each phone
// sending at a phase of its own in the 20 ms (one of 20 slots of 1 ms),
// as the calls of a real PBX do, rather than every phone at the tick: the
// relay sees a steady stream, not a burst every 20 ms and silence after.
//
//	go test -run '^$' -bench 'RelayCallsSpread/calls=400$' -benchtime 300x ./media/
func BenchmarkRelayCallsSpread(b *testing.B) {
	for _, calls := range []int{100, 200, 400, 1000} {
		b.Run(fmt.Sprintf("calls=%d", calls), func(b *testing.B) { benchPhoneCalls(b, calls, false, "spread") })
	}
}

// BenchmarkRelayChurn is BenchmarkRelayCallsSpread with calls that end
// and begin: at rate calls a second, the oldest call's relay is closed
// and a new one (new ports) takes its phones, as SIPp's calls of 2 s at
// 200 calls a second do to a PBX with 400 calls under way. It reports,
// beside the CPU per packet, the CPU per call begun (relay-cpu-us/call:
// its packets and its setting up and closing). The packets lost are
// those the phones sent to a relay just closed.
//
//	go test -run '^$' -bench 'RelayChurn' -benchtime 300x ./media/
func BenchmarkRelayChurn(b *testing.B) {
	for _, c := range []struct{ calls, rate int }{{400, 200}} {
		b.Run(fmt.Sprintf("calls=%d/rate=%d", c.calls, c.rate), func(b *testing.B) { benchChurn(b, c.calls, c.rate) })
	}
}

func benchChurn(b *testing.B, calls, rate int) {
	h := startPhones(b, calls)
	defer h.close()
	for _, r := range h.relays {
		r.Arm()
	}
	var closing sync.WaitGroup
	defer closing.Wait()
	var closeMu sync.Mutex
	var closeMax time.Duration // the longest Close
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	ru0, start := rusage(b), time.Now()
	fmt.Fprintf(h.in, "churn %d\n", b.N)
	spread := make(chan string, 1) // the child's line once its phones are done
	go func() {
		s, _ := h.out.ReadString('\n')
		spread <- s
	}()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	begun, next := 0, 0
churn:
	for {
		select {
		case s := <-spread:
			if strings.TrimSpace(s) != "spread" {
				b.Fatalf("phones: want spread, got %q", s)
			}
			break churn
		case <-tick.C:
		}
		r, err := NewRelay(RelayConfig{Pool: h.pool, IP: loopback, Timeout: 30 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		for l, ap := range h.addrs[2*next : 2*next+2] {
			r.SetRemote(Leg(l), ap, netip.AddrPort{})
		}
		if err := r.Start(b.Context(), nil); err != nil {
			b.Fatal(err)
		}
		r.Arm()
		fmt.Fprintf(h.in, "move %d %s %s\n", next, r.Local(LegA), r.Local(LegB))
		old := h.relays[next]
		h.relays[next] = r
		closing.Go(func() {
			t := time.Now()
			old.Close()
			d := time.Since(t)
			closeMu.Lock()
			closeMax = max(closeMax, d)
			closeMu.Unlock()
		})
		begun++
		next = (next + 1) % calls
	}
	fmt.Fprintln(h.in, "end")
	sent, got := h.done(b)
	closing.Wait()
	ru, elapsed := rusage(b).sub(ru0), time.Since(start)
	b.StopTimer()
	cpu := ru.user + ru.sys
	b.ReportMetric(100*cpu.Seconds()/elapsed.Seconds(), "%core")
	ru.report(b, got)
	h.reportDelay(b)
	b.ReportMetric(float64(begun)/elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(max(begun, 1)), "relay-cpu-us/call")
	b.ReportMetric(float64(closeMax.Microseconds())/1e3, "close-max-ms")
	b.ReportMetric(100*float64(sent-min(got, sent))/float64(sent), "loss-%")
}

func benchCallsPaced(b *testing.B, calls int, record bool) {
	benchPhoneCalls(b, calls, record, "paced")
}

// benchPhoneCalls runs calls at a phone's pace; how is the phones' command,
// paced or spread.
func benchPhoneCalls(b *testing.B, calls int, record bool, how string) {
	var ms runtime.MemStats
	debug.FreeOSMemory() // what an earlier benchmark left goes back first
	runtime.ReadMemStats(&ms)
	base, rss0 := ms.HeapAlloc+ms.StackInuse, residentBytes(b)
	h := startPhones(b, calls)
	defer h.close()
	dir := b.TempDir()
	var recs []*Recorder
	for i, r := range h.relays {
		if !record {
			r.Arm()
			continue
		}
		rec, err := NewRecorder(filepath.Join(dir, fmt.Sprintf("%d.wav", i)), RecorderConfig{})
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, rec)
		r.SetTap(rec)
		r.Arm()
	}
	defer func() {
		for _, rec := range recs {
			rec.Close()
		}
	}()
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	ru0, start, c0 := rusage(b), time.Now(), h.pool.Counters()
	sent, got := h.run(b, fmt.Sprintf("%s %d", how, b.N))
	ru, elapsed, c := rusage(b).sub(ru0), time.Since(start), h.pool.Counters().sub(c0)
	cpu := ru.user + ru.sys
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if path := os.Getenv("MEDIA_BENCH_HEAPPROFILE"); path != "" {
		// While the calls still hold what they hold; one a benchmark.
		writeHeapProfile(b, path+"."+strings.ReplaceAll(b.Name(), "/", "_"))
	}
	var lost uint64
	for _, r := range h.relays {
		lost += r.Stats(LegA).Lost + r.Stats(LegB).Lost
	}
	b.ReportMetric(100*cpu.Seconds()/elapsed.Seconds(), "%core")
	ru.report(b, got)
	h.reportDelay(b)
	b.ReportMetric(100*float64(sent-min(got, sent))/float64(sent), "loss-%")
	b.ReportMetric(float64(lost), "seq-lost")
	b.ReportMetric(100*c.LossRate(), "relay-loss-%")
	b.ReportMetric(float64(c.Dropped()), "relay-dropped")
	b.ReportMetric(float64(ms.HeapAlloc+ms.StackInuse-base)/float64(calls), "B/call")
	b.ReportMetric(float64(residentBytes(b)-rss0)/float64(calls), "RSS-B/call")
}

// BenchmarkRecordersCPU is BenchmarkRecorders1000 measured by the process's
// CPU time (user and system, getrusage), not the time it took: the CPU a
// recorded packet costs, decoding and placing it and its share of the
// file's writes (cpu-ns/pkt, of which the kernel's sys-ns/pkt).
//
//	go test -run '^$' -bench 'RecordersCPU' -benchtime 20x -count 5 ./media/
func BenchmarkRecordersCPU(b *testing.B) {
	const n = 1000
	var ru0 cpuUse
	sec := benchRecorders(b, n, func() { ru0 = rusage(b) })
	ru := rusage(b).sub(ru0)
	b.StopTimer()
	pkts := float64(100 * n * sec)
	b.ReportMetric(float64((ru.user+ru.sys).Nanoseconds())/pkts, "cpu-ns/pkt")
	b.ReportMetric(float64(ru.sys.Nanoseconds())/pkts, "sys-ns/pkt")
	b.ReportMetric(float64((ru.user+ru.sys).Microseconds())/float64(n*sec), "cpu-µs/recording-s")
}

// writeHeapProfile writes the live heap's profile to path.
func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// residentBytes returns the process's resident memory (VmRSS): heap and
// stacks, the runtime's spare and the pollers' rings and buffers.
func residentBytes(b *testing.B) int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if kb, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var n int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(kb), " kB"), &n)
			return n << 10
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// sub returns the counts from d to c.
func (c RelayCounters) sub(d RelayCounters) RelayCounters {
	return RelayCounters{
		Received:      c.Received - d.Received,
		Forwarded:     c.Forwarded - d.Forwarded,
		NoDestination: c.NoDestination - d.NoDestination,
		SendErrors:    c.SendErrors - d.SendErrors,
		RingFull:      c.RingFull - d.RingFull,
		SRTPErrors:    c.SRTPErrors - d.SRTPErrors,
		RecvOverflow:  c.RecvOverflow - d.RecvOverflow,
		NoBuffers:     c.NoBuffers - d.NoBuffers,
	}
}

// cpuUse is the process's CPU time in user space and in the kernel.
type cpuUse struct {
	user, sys time.Duration
	switches  int64 // context switches, voluntary and not
}

func rusage(b *testing.B) cpuUse {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return cpuUse{time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), ru.Nvcsw + ru.Nivcsw}
}

func (c cpuUse) sub(d cpuUse) cpuUse {
	return cpuUse{c.user - d.user, c.sys - d.sys, c.switches - d.switches}
}

// report reports the CPU time per packet relayed, and the part of it
// spent in the kernel (system calls, the network stack, waking threads).
func (c cpuUse) report(b *testing.B, packets uint64) {
	b.ReportMetric(float64((c.user+c.sys).Nanoseconds())/float64(packets), "relay-cpu-ns/pkt")
	b.ReportMetric(float64(c.sys.Nanoseconds())/float64(packets), "relay-sys-ns/pkt")
	b.ReportMetric(float64(c.switches)/float64(packets), "ctxsw/pkt")
}

// phones is the parent's side of the child process of fake phones, and
// the relays between them.
type phones struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	relays []*Relay
	addrs  []netip.AddrPort // the phones', two a call

	delayAvg, delayMax float64 // µs, the last run's (done)
	pool               *PortPool
	stop               []func()
}

// close stops the relays and the child.
func (h *phones) close() {
	for i := len(h.stop) - 1; i >= 0; i-- {
		h.stop[i]()
	}
}

// startPhones starts the child with two phones per call and a relay
// between each pair.
func startPhones(b *testing.B, calls int) *phones {
	// Below the kernel's ephemeral ports, which the phones get, and the
	// tests' range (30000 up). MEDIA_BENCH_PORTS moves the range's start,
	// so that two benchmark runs on one machine do not collide.
	lo := 10000
	if s := os.Getenv("MEDIA_BENCH_PORTS"); s != "" {
		if _, err := fmt.Sscan(s, &lo); err != nil {
			b.Fatalf("MEDIA_BENCH_PORTS=%q: %v", s, err)
		}
	}
	// Room for twice the calls: BenchmarkRelayChurn's, closing, and the
	// new ones.
	pool, err := NewPortPool(lo, lo+8*calls+200)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRelayBenchPhones$", "-test.count=1")
	cmd.Env = append(os.Environ(), "MEDIA_BENCH_PHONES=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	h := &phones{cmd: cmd, in: in, out: bufio.NewReader(out), pool: pool}
	ok := false
	defer func() {
		if !ok { // b.Fatal
			h.close()
		}
	}()
	h.stop = append(h.stop, func() {
		in.Close()
		cmd.Wait()
	})
	fmt.Fprintf(in, "calls %d\n", calls)
	addrs := h.line(b, "phones")
	if len(addrs) != 2*calls {
		b.Fatalf("phones: %d addresses for %d calls", len(addrs), calls)
	}
	var local []string
	for i := range calls {
		r, err := NewRelay(RelayConfig{Pool: pool, IP: loopback, Timeout: 30 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		for l, s := range addrs[2*i : 2*i+2] {
			ap, err := netip.ParseAddrPort(s)
			if err != nil {
				b.Fatal(err)
			}
			r.SetRemote(Leg(l), ap, netip.AddrPort{})
			h.addrs = append(h.addrs, ap)
			local = append(local, r.Local(Leg(l)).String())
		}
		h.relays = append(h.relays, r)
		if err := r.Start(b.Context(), nil); err != nil {
			b.Fatal(err)
		}
	}
	h.stop = append(h.stop, func() {
		for _, r := range h.relays {
			r.Close()
		}
	})
	fmt.Fprintf(in, "relays %s\n", strings.Join(local, " "))
	h.line(b, "ready")
	ok = true
	return h
}

// line reads the child's next line, which must start with word, and
// returns the rest of its fields.
func (h *phones) line(b *testing.B, word string) []string {
	s, err := h.out.ReadString('\n')
	if err != nil {
		b.Fatalf("phones: %v", err)
	}
	f := strings.Fields(s)
	if len(f) == 0 || f[0] != word {
		b.Fatalf("phones: want %q, got %q", word, s)
	}
	return f[1:]
}

// run has the phones do cmd and returns the packets they sent and got.
func (h *phones) run(b *testing.B, cmd string) (sent, got uint64) {
	fmt.Fprintln(h.in, cmd)
	return h.done(b)
}

// done reads the child's "done" line: the packets the phones sent and
// got, and how long a packet took from phone to phone, on average and at
// most (the relay's delay, and the phones' own).
func (h *phones) done(b *testing.B) (sent, got uint64) {
	f := h.line(b, "done")
	if len(f) != 4 {
		b.Fatalf("phones: done %v", f)
	}
	fmt.Sscan(f[0], &sent)
	fmt.Sscan(f[1], &got)
	fmt.Sscan(f[2], &h.delayAvg)
	fmt.Sscan(f[3], &h.delayMax)
	return sent, got
}

// reportDelay reports the phones' delays of the last run.
func (h *phones) reportDelay(b *testing.B) {
	b.ReportMetric(h.delayAvg, "delay-avg-µs")
	b.ReportMetric(h.delayMax, "delay-max-µs")
}

// TestRelayBenchPhones is the child process of the relay benchmarks, and
// does nothing in a normal test run. It reads commands on stdin:
//
//	calls N         make 2N phones; answers "phones addr...", then reads
//	relays addr...  where each phone sends; answers "ready"
//	flood P W       each call's phone A and B send P packets each, at most
//	                W unanswered each way; answers "done sent got avg max",
//	                avg and max the delays from phone to phone in µs
//	paced T         every phone sends a packet every 20 ms, T times;
//	                answers "done sent got avg max"
//	spread T        paced, each phone at its own phase in the 20 ms
//	churn T         spread, reading meanwhile lines "move I A B": call I's
//	                phones send to A and B from now on; "end" after the
//	                last move (once spread is done); answers "done sent got"
func TestRelayBenchPhones(t *testing.T) {
	if os.Getenv("MEDIA_BENCH_PHONES") != "1" {
		return
	}
	if err := benchPhones(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench phones:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func benchPhones(stdin io.Reader, stdout io.Writer) error {
	in := bufio.NewScanner(stdin)
	in.Buffer(nil, 1<<22)
	var eps []*phoneEndpoint
	var recv sync.WaitGroup
	defer func() {
		for _, e := range eps {
			e.conn.Close()
		}
		recv.Wait()
	}()
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "calls":
			var n int
			fmt.Sscan(f[1], &n)
			var addrs []string
			for range 2 * n {
				e, err := newPhoneEndpoint()
				if err != nil {
					return err
				}
				eps = append(eps, e)
				addrs = append(addrs, e.addr.String())
			}
			fmt.Fprintf(stdout, "phones %s\n", strings.Join(addrs, " "))
		case "relays":
			if len(f)-1 != len(eps) {
				return fmt.Errorf("%d relay addresses for %d phones", len(f)-1, len(eps))
			}
			for i, s := range f[1:] {
				ap, err := netip.ParseAddrPort(s)
				if err != nil {
					return err
				}
				eps[i].to.Store(&ap)
			}
			for _, e := range eps {
				recv.Go(e.receive)
			}
			fmt.Fprintln(stdout, "ready")
		case "flood":
			var p, w int
			fmt.Sscan(f[1], &p)
			fmt.Sscan(f[2], &w)
			delays.reset()
			sent, got := flood(eps, p, w)
			fmt.Fprintf(stdout, "done %d %d %s\n", sent, got, &delays)
		case "paced":
			var n int
			fmt.Sscan(f[1], &n)
			delays.reset()
			sent, got := paced(eps, n)
			fmt.Fprintf(stdout, "done %d %d %s\n", sent, got, &delays)
		case "spread":
			var n int
			fmt.Sscan(f[1], &n)
			delays.reset()
			sent, got := spread(eps, n)
			fmt.Fprintf(stdout, "done %d %d %s\n", sent, got, &delays)
		case "churn":
			var n int
			fmt.Sscan(f[1], &n)
			if err := churnPhones(in, stdout, eps, n); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown command %q", f[0])
		}
	}
	return in.Err()
}

// churnPhones runs spread(eps, n) while it reads moves from in, until
// "end".
func churnPhones(in *bufio.Scanner, stdout io.Writer, eps []*phoneEndpoint, n int) error {
	var sent, got uint64
	delays.reset()
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		sent, got = spread(eps, n)
		fmt.Fprintln(stdout, "spread")
	}()
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 1 && f[0] == "end" {
			<-ran
			fmt.Fprintf(stdout, "done %d %d %s\n", sent, got, &delays)
			return nil
		}
		var i int
		if len(f) != 4 || f[0] != "move" {
			return fmt.Errorf("churn: unexpected %q", in.Text())
		}
		fmt.Sscan(f[1], &i)
		if i < 0 || 2*i+1 >= len(eps) {
			return fmt.Errorf("churn: no call %d", i)
		}
		for l, a := range f[2:] {
			ap, err := netip.ParseAddrPort(a)
			if err != nil {
				return err
			}
			eps[2*i+l].to.Store(&ap)
		}
	}
	if err := in.Err(); err != nil {
		return err
	}
	return errors.New("churn: no end")
}

// delays are the child's delays from phone to phone: each packet carries
// when it was sent (phoneEndpoint.send), after its RTP header.
var delays phoneDelays

// epoch is what the packets' send times count from.
var epoch = time.Now()

type phoneDelays struct {
	mu       sync.Mutex
	sum, max time.Duration
	n        int64
}

func (d *phoneDelays) reset() {
	d.mu.Lock()
	d.sum, d.max, d.n = 0, 0, 0
	d.mu.Unlock()
}

func (d *phoneDelays) add(v time.Duration) {
	d.mu.Lock()
	d.sum += v
	d.max = max(d.max, v)
	d.n++
	d.mu.Unlock()
}

// String returns the average and the longest, in µs.
func (d *phoneDelays) String() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return fmt.Sprintf("%d %d", d.sum.Microseconds()/max(d.n, 1), d.max.Microseconds())
}

// phoneEndpoint is a fake phone of the child process.
type phoneEndpoint struct {
	conn   *net.UDPConn
	addr   netip.AddrPort
	to     atomic.Pointer[netip.AddrPort] // changed by churn's move while sending
	pkt    []byte
	seq    uint16
	ts     uint32
	got    atomic.Uint64
	window chan struct{} // flood: a slot per packet in flight towards this phone
}

func newPhoneEndpoint() (*phoneEndpoint, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	c.SetReadBuffer(1 << 20)
	a := c.LocalAddr().(*net.UDPAddr).AddrPort()
	e := &phoneEndpoint{conn: c, addr: netip.AddrPortFrom(a.Addr().Unmap(), a.Port())}
	e.pkt = rtpPacket(0, 0, 0, uint32(a.Port()), false, bytes.Repeat([]byte{0xD5}, 160))
	return e, nil
}

func (e *phoneEndpoint) receive() {
	buf := make([]byte, 2048)
	for {
		n, _, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if n >= 20 {
			delays.add(time.Since(epoch) - time.Duration(binary.BigEndian.Uint64(buf[12:20])))
		}
		e.got.Add(1)
		if w := e.window; w != nil {
			select {
			case <-w:
			default:
			}
		}
	}
}

func (e *phoneEndpoint) send() bool {
	e.seq++
	e.ts += 160
	e.pkt[2], e.pkt[3] = byte(e.seq>>8), byte(e.seq)
	e.pkt[4], e.pkt[5], e.pkt[6], e.pkt[7] = byte(e.ts>>24), byte(e.ts>>16), byte(e.ts>>8), byte(e.ts)
	binary.BigEndian.PutUint64(e.pkt[12:20], uint64(time.Since(epoch)))
	_, err := e.conn.WriteToUDPAddrPort(e.pkt, *e.to.Load())
	return err == nil
}

func gotAll(eps []*phoneEndpoint) (got uint64) {
	for _, e := range eps {
		got += e.got.Load()
	}
	return got
}

// awaitPhones waits until the phones got what was sent, or stopped getting
// more for 200 ms, and returns what they got since got0.
func awaitPhones(eps []*phoneEndpoint, sent, got0 uint64) uint64 {
	last, since := gotAll(eps), time.Now()
	for last-got0 < sent && time.Since(since) < 200*time.Millisecond {
		time.Sleep(5 * time.Millisecond)
		if n := gotAll(eps); n != last {
			last, since = n, time.Now()
		}
	}
	return last - got0
}

// flood has each pair of phones send p packets each way with at most w in
// flight each way; a packet lost in the relay frees its slot after 100 ms.
func flood(eps []*phoneEndpoint, p, w int) (sent, got uint64) {
	got0 := gotAll(eps)
	for _, e := range eps {
		e.window = make(chan struct{}, w)
	}
	var wg sync.WaitGroup
	var total atomic.Uint64
	for i, e := range eps {
		peer := eps[i^1] // the phone across the call
		wg.Go(func() {
			for range p {
				select {
				case peer.window <- struct{}{}:
				case <-time.After(100 * time.Millisecond):
				}
				if e.send() {
					total.Add(1)
				}
			}
		})
	}
	wg.Wait()
	sent = total.Load()
	return sent, awaitPhones(eps, sent, got0)
}

// paced has every phone send a packet every 20 ms, n times.
func paced(eps []*phoneEndpoint, n int) (sent, got uint64) {
	got0 := gotAll(eps)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for range n {
		<-tick.C
		for _, e := range eps {
			if e.send() {
				sent++
			}
		}
	}
	return sent, awaitPhones(eps, sent, got0)
}

// spread has every phone send a packet every 20 ms, n times, phone i in
// the 1 ms slot i mod 20 of each 20 ms.
func spread(eps []*phoneEndpoint, n int) (sent, got uint64) {
	const slots = 20
	got0 := gotAll(eps)
	tick := time.NewTicker(20 * time.Millisecond / slots)
	defer tick.Stop()
	for k := range n * slots {
		<-tick.C
		for i := k % slots; i < len(eps); i += slots {
			if eps[i].send() {
				sent++
			}
		}
	}
	return sent, awaitPhones(eps, sent, got0)
}

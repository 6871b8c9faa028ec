//go:build linux

package media

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
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
// its packets and its setting up and closing) and the goroutines started
// per call begun (goroutines/call, the benchmark's own closing goroutine
// among them). The packets lost are those the phones sent to a relay
// just closed.
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
	ru0, start, g0 := rusage(b), time.Now(), goroutinesCreated()
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
	ru, elapsed, g := rusage(b).sub(ru0), time.Since(start), goroutinesCreated()-g0
	b.StopTimer()
	cpu := ru.user + ru.sys
	b.ReportMetric(100*cpu.Seconds()/elapsed.Seconds(), "%core")
	ru.report(b, got)
	h.reportDelay(b)
	b.ReportMetric(float64(begun)/elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(max(begun, 1)), "relay-cpu-us/call")
	b.ReportMetric(float64(g)/float64(max(begun, 1)), "goroutines/call")
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
// file's writes (cpu-ns/pkt: the recorder's own, user-ns/pkt, and the
// kernel's, sys-ns/pkt). The kernel's share varies by run far more than
// the recorder's (the page cache's writeback of what earlier runs wrote:
// 225 to 550 ns a packet here), so a change to the recorder's own work is
// best judged by user-ns/pkt.
//
//	go test -run '^$' -bench 'RecordersCPU' -benchtime 20x -count 5 ./media/
func BenchmarkRecordersCPU(b *testing.B) {
	const n = 1000
	var ru0 cpuUse
	sec := benchRecorders(b, n, func() { ru0 = rusage(b) }, nil)
	ru := rusage(b).sub(ru0)
	b.StopTimer()
	pkts := float64(100 * n * sec)
	b.ReportMetric(float64((ru.user+ru.sys).Nanoseconds())/pkts, "cpu-ns/pkt")
	b.ReportMetric(float64(ru.user.Nanoseconds())/pkts, "user-ns/pkt")
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

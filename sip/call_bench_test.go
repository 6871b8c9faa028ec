package sip

import (
	"context"
	"runtime/metrics"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// BenchmarkCallSetup measures call setup and teardown through the B2BUA
// with a relay per call: INVITE (407, INVITE again), 180, 200, ACK, BYE on
// both legs and the CDR row, phones and PBX in one process on loopback.
// "recorded" has recording.policy all: each call's recorder creates its
// file and the call row and recording row are written at the answer.
//
// cpu-us/call is the process's CPU time (user and system) per call, the
// phones' included: compare it between runs on the same machine, not with
// the CPU of a PBX alone. goroutines/call counts the goroutines started
// per call, the phones' (sipgo's) included likewise.
func BenchmarkCallSetup(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchCalls(b, false) })
	b.Run("recorded", func(b *testing.B) { benchCalls(b, true) })
}

func benchCalls(b *testing.B, recorded bool) {
	st, _ := openSQLite(b)
	addUser(b, st, "10001")
	addUser(b, st, "10002")
	opts := []serverOption{func(c *Config) {
		// Loopback is exempt from the flood limit (200 requests a second
		// from one source), as in the load runs.
		c.Guard.Exempt = []string{"127.0.0.0/8"}
	}}
	if recorded {
		setSetting(b, st, directory.SettingRecording, "all")
		dir := b.TempDir()
		opts = append(opts, func(c *Config) { c.RecordingsDir = dir })
	}
	// No port quarantine: thousands of calls a second would empty the pool.
	cs := startCallServer(b, st, CallConfig{MaxCallsPerExt: 10000, RTPQuarantine: -1}, opts...)
	// The phones' goroutines carry the label phone: a CPU profile of the
	// benchmark (-cpuprofile, then pprof -tagignore phone) shows the
	// server's share apart from theirs.
	var pa, pb *callPhone
	pprof.Do(b.Context(), pprof.Labels("phone", "yes"), func(context.Context) {
		pa = newCallPhone(b, cs, "10001", answerOK)
		pb = newCallPhone(b, cs, "10002", answerOK)
	})
	for _, ch := range []chan struct{}{pa.ended, pb.ended} {
		go func() {
			for range ch {
			}
		}()
	}
	go func() {
		for range pb.incoming {
		}
	}()
	go func() {
		for range pb.invites {
		}
	}()
	cs.b.Hooks.Ended = nil
	b.ReportAllocs()
	cpu0, g0 := processCPU(), goroutinesCreated()
	start := time.Now()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		pprof.SetGoroutineLabels(pprof.WithLabels(b.Context(), pprof.Labels("phone", "yes")))
		for pb.Next() {
			sess, err := pa.dial(b.Context(), "10002")
			if err != nil {
				b.Error(err)
				return
			}
			if err := sess.Bye(b.Context()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-us/call")
	b.ReportMetric(float64(goroutinesCreated()-g0)/float64(b.N), "goroutines/call")
}

// goroutinesCreated is how many goroutines this process has started.
func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// processCPU is the CPU time, user and system, this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

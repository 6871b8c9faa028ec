package spool

import (
	"context"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/postgres"
	"github.com/switchboard-pbx/switchboard/directory/postgres/pgtest"
	"github.com/switchboard-pbx/switchboard/directory/sqlite"
)

// BenchmarkHold measures holding one call history write while the store is
// away: a JSON line appended and fsynced.
func BenchmarkHold(b *testing.B) {
	dir := b.TempDir()
	st, err := sqlite.Open(b.Context(), filepath.Join(dir, "switchboard.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	sp, err := Open(filepath.Join(dir, "history.spool"), st, time.Second, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	st.Close()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		c := directory.Call{Key: strconv.Itoa(i), SIPCallID: strconv.Itoa(i) + "@bench", From: "10001", To: "10002",
			Direction: directory.Internal, StartedAt: t0, EndedAt: t0, Disposition: directory.Busy}
		if err := sp.SaveCall(b.Context(), &c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkSaveCall writes call rows through the spool with the store
// answering, from one writer and from many at once (calls ending together
// under load), on SQLite and PostgreSQL (skipped when it is not there).
// cpu-us/row is the process's CPU time (user and system) per row, the
// database server's own excluded.
//
//	go test ./sip/spool/ -run '^$' -bench SaveCall -benchmem -count 3
func BenchmarkSaveCall(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) directory.KeyedStore
	}{
		{"sqlite", func(b *testing.B) directory.KeyedStore {
			st, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "switchboard.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		}},
		{"postgres", func(b *testing.B) directory.KeyedStore {
			st, err := postgres.Open(b.Context(), pgtest.URL(b), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		}},
	}
	for _, sc := range stores {
		for _, writers := range []int{1, 16} {
			b.Run(sc.name+"/writers="+strconv.Itoa(writers), func(b *testing.B) {
				sp, err := Open(filepath.Join(b.TempDir(), "history.spool"), sc.open(b), 5*time.Second, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer sp.Close()
				var n atomic.Int64
				before := cpuTime()
				b.ReportAllocs()
				b.ResetTimer()
				b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
				if writers == 1 {
					for b.Loop() {
						saveBenchRow(b, sp, int(n.Add(1)))
					}
				} else {
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							saveBenchRow(b, sp, int(n.Add(1)))
						}
					})
				}
				b.StopTimer()
				b.ReportMetric(float64((cpuTime()-before).Microseconds())/float64(n.Load()), "cpu-us/row")
				b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "rows/s")
				if sp.Held() != 0 {
					b.Fatalf("%d rows held with the store answering", sp.Held())
				}
			})
		}
	}
}

func saveBenchRow(b *testing.B, sp *Spool, i int) {
	c := directory.Call{Key: "k" + strconv.Itoa(i), SIPCallID: strconv.Itoa(i) + "@bench", From: "10001",
		To: "10002", Dialed: "10002", Direction: directory.Internal, StartedAt: t0, AnsweredAt: t0.Add(time.Second),
		EndedAt: t0.Add(time.Minute), Disposition: directory.Answered, HangupBy: "caller", Node: "bench"}
	if err := sp.SaveCall(context.Background(), &c); err != nil {
		b.Error(err)
	}
}

// cpuTime is the CPU time the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

//go:build unix

package media

import (
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"
)

// BenchmarkRelaySetup opens, starts, arms and closes relays that carry no
// packet, one after another, while another relay runs (as on a server
// with calls under way, whose poller goes on): one op is one relay's life
// without its media, what a call costs the relay besides its packets.
// relay-cpu-us/op is the process's CPU time (user and system),
// goroutines/op the goroutines started (runtime/metrics).
//
//	go test -run '^$' -bench 'RelaySetup' -benchtime 2000x ./media/
func BenchmarkRelaySetup(b *testing.B) {
	lo := 10000 // as startPhones: MEDIA_BENCH_PORTS moves it
	if s := os.Getenv("MEDIA_BENCH_PORTS"); s != "" {
		if _, err := fmt.Sscan(s, &lo); err != nil {
			b.Fatalf("MEDIA_BENCH_PORTS=%q: %v", s, err)
		}
	}
	pool, err := NewPortPool(lo, lo+200)
	if err != nil {
		b.Fatal(err)
	}
	cfg := RelayConfig{Pool: pool, IP: loopback, Timeout: 30 * time.Second}
	other, err := NewRelay(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer other.Close()
	if err := other.Start(b.Context(), nil); err != nil {
		b.Fatal(err)
	}
	// No one listens there: nothing is sent.
	phoneA, phoneB := netip.MustParseAddrPort("127.0.0.1:9"), netip.MustParseAddrPort("127.0.0.1:11")
	g0, cpu0 := goroutinesCreated(), cpuTime(b)
	for b.Loop() {
		r, err := NewRelay(cfg)
		if err != nil {
			b.Fatal(err)
		}
		r.SetRemote(LegA, phoneA, netip.AddrPort{})
		r.SetRemote(LegB, phoneB, netip.AddrPort{})
		if err := r.Start(b.Context(), nil); err != nil {
			b.Fatal(err)
		}
		r.Arm()
		r.Close()
	}
	cpu, g := cpuTime(b)-cpu0, goroutinesCreated()-g0
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "relay-cpu-us/op")
	b.ReportMetric(float64(g)/float64(b.N), "goroutines/op")
}

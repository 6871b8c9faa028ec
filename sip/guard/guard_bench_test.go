package guard

import (
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/clock"
)

func benchGuard() *Guard {
	cfg := Config{}.WithDefaults()
	cfg.MaxFailures, cfg.MaxExtFailures, cfg.Window, cfg.BanTime = 3, 1<<30, time.Minute, time.Hour
	cfg.MaxTracked = 1 << 20
	return New(cfg, clock.Real{}, slog.New(slog.DiscardHandler), func(netip.Addr) bool { return false }, nil)
}

// benchIP returns the i-th address of 10.0.0.0/8 (wrapping).
func benchIP(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

// BenchmarkGuardBanned is the check every packet goes through, with 10,000
// sources banned and the packets coming from sources that are not.
func BenchmarkGuardBanned(b *testing.B) {
	g := benchGuard()
	for i := range 10000 {
		for range 3 {
			g.Fail(benchIP(i), "10001")
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 20000
		for pb.Next() {
			if g.Banned(benchIP(i)) {
				b.Fatal("banned")
			}
			i++
		}
	})
}

// BenchmarkGuardFail counts failed authentications; every third one bans
// a new source, which is what a distributed scan costs.
func BenchmarkGuardFail(b *testing.B) {
	g := benchGuard()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		g.Fail(benchIP(i/3), "10001")
		i++
	}
}

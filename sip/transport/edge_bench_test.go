package transport

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// BenchmarkEdge measures what the edge adds to every message: inspect
// (raw split, checks and one sipgo parse) and the Via fix, next to the
// sipgo parse each message gets anyway.
func BenchmarkEdge(b *testing.B) {
	e := New(Config{MaxMessageSize: 16 << 10}, Parts{CountDrop: func(string) {}})
	for _, file := range []string{"esc01", "cparam01"} {
		raw := tortureMessage(b, file)
		b.Run(file+"/inspect", func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, len(raw)+64)
			for b.Loop() {
				v := e.inspect(raw, false)
				if !v.pass {
					b.Fatal("refused")
				}
				n := copy(buf, raw)
				fixVia(buf, n, v.branch, true)
			}
		})
		b.Run(file+"/sipgo-parse", func(b *testing.B) {
			b.ReportAllocs()
			p := sip.NewParser()
			for b.Loop() {
				if _, err := p.ParseSIP(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

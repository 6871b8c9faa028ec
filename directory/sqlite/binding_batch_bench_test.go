package sqlite

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// BenchmarkPutNewBindings is the registrar's group commit of first
// registrations (each a new binding, written before its 200), by the
// number of registrations a commit carries: what a batch saves per binding.
func BenchmarkPutNewBindings(b *testing.B) {
	for _, batch := range []int{1, 2, 4, 8, 16} {
		b.Run(fmt.Sprint("batch=", batch), func(b *testing.B) {
			s := benchStore(b)
			now := time.Now().UTC().Truncate(time.Microsecond)
			bs := make([]directory.Binding, batch)
			n := 0
			for b.Loop() {
				for i := range bs {
					ext := fmt.Sprint(100000 + n%10000)
					bs[i] = directory.Binding{Extension: ext, Contact: fmt.Sprintf("sip:%s@127.0.0.1:%d", ext, 5061+n/10000),
						Source: "127.0.0.1:5061", Transport: "UDP", Expires: now.Add(time.Hour),
						CallID: fmt.Sprintf("%d@127.0.0.1", n), CSeq: 2, UserAgent: "sipp-bench", Node: "node-a",
						UpdatedAt: now, Direct: true}
					n++
				}
				if err := s.PutBindings(b.Context(), bs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "us/binding")
		})
	}
}

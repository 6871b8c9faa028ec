package sqlite

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// BenchmarkPutBindings is the registrar's write-behind of refreshes: every
// second one batch with a binding of each extension that refreshed (here
// 1,000 of 10,000 extensions, each already stored). It reports the CPU
// per binding written.
func BenchmarkPutBindings(b *testing.B) {
	s := benchStore(b)
	const exts, batch = 10000, 1000
	now := time.Now().UTC().Truncate(time.Microsecond)
	binding := func(i, round int) directory.Binding {
		ext := fmt.Sprint(100000 + i%exts)
		return directory.Binding{Extension: ext, Contact: "sip:" + ext + "@127.0.0.1:5061",
			Source: "127.0.0.1:5061", Transport: "UDP", Expires: now.Add(time.Hour + time.Duration(round)*time.Second),
			CallID: fmt.Sprintf("%d-%d@127.0.0.1", i, round), CSeq: 2, UserAgent: "sipp-bench", Node: "node-a",
			UpdatedAt: now, Direct: true}
	}
	all := make([]directory.Binding, 0, exts)
	for i := range exts {
		all = append(all, binding(i, 0))
	}
	if err := s.PutBindings(b.Context(), all); err != nil {
		b.Fatal(err)
	}
	bs := make([]directory.Binding, batch)
	round := 0
	b.ReportAllocs()
	for b.Loop() {
		round++
		for i := range bs {
			bs[i] = binding(round*batch+i, round)
		}
		if err := s.PutBindings(b.Context(), bs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*batch), "us/binding")
}

package sip

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/clock"
	"github.com/switchboard-pbx/switchboard/sip/creds"
	"github.com/switchboard-pbx/switchboard/sip/location"
)

// BenchmarkMemoryPerRegisteredExtension measures what the registrar keeps
// in memory for each registered extension at 100,000 of them: the cached
// credential and one binding in the location service, with values shaped
// like a real desk phone's. Reported as bytes per extension (target: under
// 2 KiB per binding).
func BenchmarkMemoryPerRegisteredExtension(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)

		cs := creds.New()
		loc := location.New(nil, "node-1", clock.Real{}, slog.New(slog.DiscardHandler), time.Second)
		exp := time.Now().Add(time.Hour)
		ctx := context.Background()
		for i := range n {
			ext := strconv.Itoa(100000 + i)
			u := directory.User{ID: int64(i + 1), Extension: ext, State: directory.UserActive,
				SIP: directory.NewSIPSecret(ext, "pbx.example.com", directory.Password("secret-"+ext))}
			cs.Add(&u)
			src := fmt.Sprintf("10.%d.%d.%d:5060", i>>16&255, i>>8&255, i&255)
			bd := directory.Binding{Extension: ext, Contact: "<sip:" + ext + "@192.168.1.23:5060;transport=udp>;+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-" + fmt.Sprintf("%012d", i) + ">\"",
				Source: src, Transport: "UDP", Expires: exp, CallID: fmt.Sprintf("%032x@192.168.1.23", i),
				CSeq: 2, UserAgent: "Yealink SIP-T46U 108.86.0.45", Node: "node-1", UpdatedAt: exp}
			unlock := loc.Lock(ext)
			loc.Commit(ctx, ext, []directory.Binding{bd}, nil, nil, false) // no store: kept in memory only
			unlock()
		}

		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		per := float64(after.HeapAlloc-before.HeapAlloc) / n
		b.ReportMetric(per, "B/extension")
		if cs.Len() != n || len(loc.All()) != n {
			b.Fatalf("kept %d credentials and %d bindings, want %d", cs.Len(), len(loc.All()), n)
		}
		runtime.KeepAlive(cs)
		runtime.KeepAlive(loc)
	}
}

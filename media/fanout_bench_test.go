//go:build unix

package media

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
)

// BenchmarkFanout pushes a talker's packets through a fanout to 1, 3 and
// 10 listeners as fast as the last listener receives them, with at most
// 32 in flight. pkts/s counts packets in from the talker; cpu-ns/pkt is
// the process's CPU (fanout and fake phones) per packet in.
//
//	go test -run '^$' -bench Fanout -benchtime 20000x ./media/
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1, 3, 10} {
		b.Run(fmt.Sprintf("listeners=%d", n), func(b *testing.B) { benchFanout(b, n) })
	}
}

func benchFanout(b *testing.B, n int) {
	pool, err := NewPortPool(40200, 40299)
	if err != nil {
		b.Fatal(err)
	}
	f, err := NewFanout(FanoutConfig{Pool: pool, IP: loopback})
	if err != nil {
		b.Fatal(err)
	}
	talker := newBenchEndpoint(b)
	talker.to = f.Local()
	f.SetRemote(talker.addr, netip.AddrPort{})
	window := make(chan struct{}, 32)
	var wg sync.WaitGroup
	var eps []*benchEndpoint
	for i := range n {
		l, err := f.AddListener()
		if err != nil {
			b.Fatal(err)
		}
		ep := newBenchEndpoint(b)
		l.SetRemote(ep.addr, netip.AddrPort{})
		eps = append(eps, ep)
		var win chan struct{}
		if i == n-1 {
			win = window
		}
		wg.Go(func() { ep.receive(win) })
	}
	done := make(chan error, 1)
	go func() { done <- f.Run(b.Context()) }()
	defer func() {
		f.Close()
		<-done
		for _, ep := range eps {
			ep.conn.Close()
		}
		wg.Wait()
	}()

	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		window <- struct{}{}
		if err := talker.send(); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime(b) - cpu0
	in := float64(b.N)
	b.ReportMetric(in/b.Elapsed().Seconds(), "pkts/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/in, "cpu-ns/pkt")
	b.ReportMetric(float64(f.Stats().Lost), "lost")
}

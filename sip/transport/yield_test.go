package transport

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/clock"
	"github.com/switchboard-pbx/switchboard/sip/guard"
)

// endless is a listener that never waits: each read takes spin of the
// processor and returns an oversized datagram the edge drops, until
// reads reach max, when it reports the listener closed. At read wakeAt it
// makes waker runnable.
type endless struct {
	net.PacketConn
	reads       atomic.Int64
	max, wakeAt int64
	spin        time.Duration
	wake        chan struct{}
	datagram    []byte
}

func (s *endless) ReadFrom(b []byte) (int, net.Addr, error) {
	n := s.reads.Add(1)
	if n == s.wakeAt {
		close(s.wake)
	}
	if n > s.max {
		return 0, nil, net.ErrClosed
	}
	for start := time.Now(); time.Since(start) < s.spin; {
	}
	return copy(b, s.datagram), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 7), Port: 5060}, nil
}

// The UDP read loop lets the goroutines it made runnable run while
// datagrams keep coming: on one processor, a goroutine woken at the 10th
// read runs within about readSlice of reads, not once the loop waits or
// the runtime preempts it (10 ms: 500 of these 20 us reads, more than the
// endless holds).
func TestReadLoopYields(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	e := benchEdge()
	e.guard = guard.New(guard.Config{}, clock.Real{}, slog.New(slog.DiscardHandler), func(netip.Addr) bool { return false }, nil)
	s := &endless{max: 400, wakeAt: 10, spin: 20 * time.Microsecond, wake: make(chan struct{}),
		datagram: bytes.Repeat([]byte("x"), 17<<10)}
	c := e.PacketConn(s)
	var ranAt atomic.Int64
	woken := make(chan struct{})
	go func() {
		<-s.wake
		ranAt.Store(s.reads.Load())
		close(woken)
	}()
	runtime.Gosched() // the goroutine above waits on s.wake
	b := make([]byte, 32<<10)
	if _, _, err := c.ReadFrom(b); err == nil {
		t.Fatal("the read loop returned an oversized datagram")
	}
	<-woken
	if at := ranAt.Load(); at > 100 {
		t.Errorf("the goroutine woken at read %d ran at read %d; want it within about 25 (500 us)", s.wakeAt, at)
	}
}

//go:build linux

package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The fake phones of the relay benchmarks (relaybench_test.go): a child
// process, this test binary again (TestRelayBenchPhones), whose phones
// send through the relays that the parent, startPhones, puts between them.

// phones is the parent's side of the child process of fake phones, and
// the relays between them.
type phones struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	relays []*Relay
	addrs  []netip.AddrPort // the phones', two a call

	delayAvg, delayMax float64 // µs, the last run's (done)
	pool               *PortPool
	stop               []func()
}

// close stops the relays and the child.
func (h *phones) close() {
	for i := len(h.stop) - 1; i >= 0; i-- {
		h.stop[i]()
	}
}

// startPhones starts the child with two phones per call and a relay
// between each pair.
func startPhones(b *testing.B, calls int) *phones {
	// Below the kernel's ephemeral ports, which the phones get, and the
	// tests' range (30000 up). MEDIA_BENCH_PORTS moves the range's start,
	// so that two benchmark runs on one machine do not collide.
	lo := 10000
	if s := os.Getenv("MEDIA_BENCH_PORTS"); s != "" {
		if _, err := fmt.Sscan(s, &lo); err != nil {
			b.Fatalf("MEDIA_BENCH_PORTS=%q: %v", s, err)
		}
	}
	// Room for twice the calls: BenchmarkRelayChurn's, closing, and the
	// new ones.
	pool, err := NewPortPool(lo, lo+8*calls+200)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRelayBenchPhones$", "-test.count=1")
	cmd.Env = append(os.Environ(), "MEDIA_BENCH_PHONES=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	h := &phones{cmd: cmd, in: in, out: bufio.NewReader(out), pool: pool}
	ok := false
	defer func() {
		if !ok { // b.Fatal
			h.close()
		}
	}()
	h.stop = append(h.stop, func() {
		in.Close()
		cmd.Wait()
	})
	fmt.Fprintf(in, "calls %d\n", calls)
	addrs := h.line(b, "phones")
	if len(addrs) != 2*calls {
		b.Fatalf("phones: %d addresses for %d calls", len(addrs), calls)
	}
	var local []string
	for i := range calls {
		r, err := NewRelay(RelayConfig{Pool: pool, IP: loopback, Timeout: 30 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		for l, s := range addrs[2*i : 2*i+2] {
			ap, err := netip.ParseAddrPort(s)
			if err != nil {
				b.Fatal(err)
			}
			r.SetRemote(Leg(l), ap, netip.AddrPort{})
			h.addrs = append(h.addrs, ap)
			local = append(local, r.Local(Leg(l)).String())
		}
		h.relays = append(h.relays, r)
		if err := r.Start(b.Context(), nil); err != nil {
			b.Fatal(err)
		}
	}
	h.stop = append(h.stop, func() {
		for _, r := range h.relays {
			r.Close()
		}
	})
	fmt.Fprintf(in, "relays %s\n", strings.Join(local, " "))
	h.line(b, "ready")
	ok = true
	return h
}

// line reads the child's next line, which must start with word, and
// returns the rest of its fields.
func (h *phones) line(b *testing.B, word string) []string {
	s, err := h.out.ReadString('\n')
	if err != nil {
		b.Fatalf("phones: %v", err)
	}
	f := strings.Fields(s)
	if len(f) == 0 || f[0] != word {
		b.Fatalf("phones: want %q, got %q", word, s)
	}
	return f[1:]
}

// run has the phones do cmd and returns the packets they sent and got.
func (h *phones) run(b *testing.B, cmd string) (sent, got uint64) {
	fmt.Fprintln(h.in, cmd)
	return h.done(b)
}

// done reads the child's "done" line: the packets the phones sent and
// got, and how long a packet took from phone to phone, on average and at
// most (the relay's delay, and the phones' own).
func (h *phones) done(b *testing.B) (sent, got uint64) {
	f := h.line(b, "done")
	if len(f) != 4 {
		b.Fatalf("phones: done %v", f)
	}
	fmt.Sscan(f[0], &sent)
	fmt.Sscan(f[1], &got)
	fmt.Sscan(f[2], &h.delayAvg)
	fmt.Sscan(f[3], &h.delayMax)
	return sent, got
}

// reportDelay reports the phones' delays of the last run.
func (h *phones) reportDelay(b *testing.B) {
	b.ReportMetric(h.delayAvg, "delay-avg-µs")
	b.ReportMetric(h.delayMax, "delay-max-µs")
}

// TestRelayBenchPhones is the child process of the relay benchmarks, and
// does nothing in a normal test run. It reads commands on stdin:
//
//	calls N         make 2N phones; answers "phones addr...", then reads
//	relays addr...  where each phone sends; answers "ready"
//	flood P W       each call's phone A and B send P packets each, at most
//	                W unanswered each way; answers "done sent got avg max",
//	                avg and max the delays from phone to phone in µs
//	paced T         every phone sends a packet every 20 ms, T times;
//	                answers "done sent got avg max"
//	spread T        paced, each phone at its own phase in the 20 ms
//	churn T         spread, reading meanwhile lines "move I A B": call I's
//	                phones send to A and B from now on; "end" after the
//	                last move (once spread is done); answers "done sent got"
func TestRelayBenchPhones(t *testing.T) {
	if os.Getenv("MEDIA_BENCH_PHONES") != "1" {
		return
	}
	if err := benchPhones(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench phones:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func benchPhones(stdin io.Reader, stdout io.Writer) error {
	in := bufio.NewScanner(stdin)
	in.Buffer(nil, 1<<22)
	var eps []*phoneEndpoint
	var recv sync.WaitGroup
	defer func() {
		for _, e := range eps {
			e.conn.Close()
		}
		recv.Wait()
	}()
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "calls":
			var n int
			fmt.Sscan(f[1], &n)
			var addrs []string
			for range 2 * n {
				e, err := newPhoneEndpoint()
				if err != nil {
					return err
				}
				eps = append(eps, e)
				addrs = append(addrs, e.addr.String())
			}
			fmt.Fprintf(stdout, "phones %s\n", strings.Join(addrs, " "))
		case "relays":
			if len(f)-1 != len(eps) {
				return fmt.Errorf("%d relay addresses for %d phones", len(f)-1, len(eps))
			}
			for i, s := range f[1:] {
				ap, err := netip.ParseAddrPort(s)
				if err != nil {
					return err
				}
				eps[i].to.Store(&ap)
			}
			for _, e := range eps {
				recv.Go(e.receive)
			}
			fmt.Fprintln(stdout, "ready")
		case "flood":
			var p, w int
			fmt.Sscan(f[1], &p)
			fmt.Sscan(f[2], &w)
			delays.reset()
			sent, got := flood(eps, p, w)
			fmt.Fprintf(stdout, "done %d %d %s\n", sent, got, &delays)
		case "paced":
			var n int
			fmt.Sscan(f[1], &n)
			delays.reset()
			sent, got := paced(eps, n)
			fmt.Fprintf(stdout, "done %d %d %s\n", sent, got, &delays)
		case "spread":
			var n int
			fmt.Sscan(f[1], &n)
			delays.reset()
			sent, got := spread(eps, n)
			fmt.Fprintf(stdout, "done %d %d %s\n", sent, got, &delays)
		case "churn":
			var n int
			fmt.Sscan(f[1], &n)
			if err := churnPhones(in, stdout, eps, n); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown command %q", f[0])
		}
	}
	return in.Err()
}

// churnPhones runs spread(eps, n) while it reads moves from in, until
// "end".
func churnPhones(in *bufio.Scanner, stdout io.Writer, eps []*phoneEndpoint, n int) error {
	var sent, got uint64
	delays.reset()
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		sent, got = spread(eps, n)
		fmt.Fprintln(stdout, "spread")
	}()
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 1 && f[0] == "end" {
			<-ran
			fmt.Fprintf(stdout, "done %d %d %s\n", sent, got, &delays)
			return nil
		}
		var i int
		if len(f) != 4 || f[0] != "move" {
			return fmt.Errorf("churn: unexpected %q", in.Text())
		}
		fmt.Sscan(f[1], &i)
		if i < 0 || 2*i+1 >= len(eps) {
			return fmt.Errorf("churn: no call %d", i)
		}
		for l, a := range f[2:] {
			ap, err := netip.ParseAddrPort(a)
			if err != nil {
				return err
			}
			eps[2*i+l].to.Store(&ap)
		}
	}
	if err := in.Err(); err != nil {
		return err
	}
	return errors.New("churn: no end")
}

// delays are the child's delays from phone to phone: each packet carries
// when it was sent (phoneEndpoint.send), after its RTP header.
var delays phoneDelays

// epoch is what the packets' send times count from.
var epoch = time.Now()

type phoneDelays struct {
	mu       sync.Mutex
	sum, max time.Duration
	n        int64
}

func (d *phoneDelays) reset() {
	d.mu.Lock()
	d.sum, d.max, d.n = 0, 0, 0
	d.mu.Unlock()
}

func (d *phoneDelays) add(v time.Duration) {
	d.mu.Lock()
	d.sum += v
	d.max = max(d.max, v)
	d.n++
	d.mu.Unlock()
}

// String returns the average and the longest, in µs.
func (d *phoneDelays) String() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return fmt.Sprintf("%d %d", d.sum.Microseconds()/max(d.n, 1), d.max.Microseconds())
}

// phoneEndpoint is a fake phone of the child process.
type phoneEndpoint struct {
	conn   *net.UDPConn
	addr   netip.AddrPort
	to     atomic.Pointer[netip.AddrPort] // changed by churn's move while sending
	pkt    []byte
	seq    uint16
	ts     uint32
	got    atomic.Uint64
	window chan struct{} // flood: a slot per packet in flight towards this phone
}

func newPhoneEndpoint() (*phoneEndpoint, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	c.SetReadBuffer(1 << 20)
	a := c.LocalAddr().(*net.UDPAddr).AddrPort()
	e := &phoneEndpoint{conn: c, addr: netip.AddrPortFrom(a.Addr().Unmap(), a.Port())}
	e.pkt = rtpPacket(0, 0, 0, uint32(a.Port()), false, bytes.Repeat([]byte{0xD5}, 160))
	return e, nil
}

func (e *phoneEndpoint) receive() {
	buf := make([]byte, 2048)
	for {
		n, _, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if n >= 20 {
			delays.add(time.Since(epoch) - time.Duration(binary.BigEndian.Uint64(buf[12:20])))
		}
		e.got.Add(1)
		if w := e.window; w != nil {
			select {
			case <-w:
			default:
			}
		}
	}
}

func (e *phoneEndpoint) send() bool {
	e.seq++
	e.ts += 160
	e.pkt[2], e.pkt[3] = byte(e.seq>>8), byte(e.seq)
	e.pkt[4], e.pkt[5], e.pkt[6], e.pkt[7] = byte(e.ts>>24), byte(e.ts>>16), byte(e.ts>>8), byte(e.ts)
	binary.BigEndian.PutUint64(e.pkt[12:20], uint64(time.Since(epoch)))
	_, err := e.conn.WriteToUDPAddrPort(e.pkt, *e.to.Load())
	return err == nil
}

func gotAll(eps []*phoneEndpoint) (got uint64) {
	for _, e := range eps {
		got += e.got.Load()
	}
	return got
}

// awaitPhones waits until the phones got what was sent, or stopped getting
// more for 200 ms, and returns what they got since got0.
func awaitPhones(eps []*phoneEndpoint, sent, got0 uint64) uint64 {
	last, since := gotAll(eps), time.Now()
	for last-got0 < sent && time.Since(since) < 200*time.Millisecond {
		time.Sleep(5 * time.Millisecond)
		if n := gotAll(eps); n != last {
			last, since = n, time.Now()
		}
	}
	return last - got0
}

// flood has each pair of phones send p packets each way with at most w in
// flight each way; a packet lost in the relay frees its slot after 100 ms.
func flood(eps []*phoneEndpoint, p, w int) (sent, got uint64) {
	got0 := gotAll(eps)
	for _, e := range eps {
		e.window = make(chan struct{}, w)
	}
	var wg sync.WaitGroup
	var total atomic.Uint64
	for i, e := range eps {
		peer := eps[i^1] // the phone across the call
		wg.Go(func() {
			for range p {
				select {
				case peer.window <- struct{}{}:
				case <-time.After(100 * time.Millisecond):
				}
				if e.send() {
					total.Add(1)
				}
			}
		})
	}
	wg.Wait()
	sent = total.Load()
	return sent, awaitPhones(eps, sent, got0)
}

// paced has every phone send a packet every 20 ms, n times.
func paced(eps []*phoneEndpoint, n int) (sent, got uint64) {
	got0 := gotAll(eps)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for range n {
		<-tick.C
		for _, e := range eps {
			if e.send() {
				sent++
			}
		}
	}
	return sent, awaitPhones(eps, sent, got0)
}

// spread has every phone send a packet every 20 ms, n times, phone i in
// the 1 ms slot i mod 20 of each 20 ms.
func spread(eps []*phoneEndpoint, n int) (sent, got uint64) {
	const slots = 20
	got0 := gotAll(eps)
	tick := time.NewTicker(20 * time.Millisecond / slots)
	defer tick.Stop()
	for k := range n * slots {
		<-tick.C
		for i := k % slots; i < len(eps); i += slots {
			if eps[i].send() {
				sent++
			}
		}
	}
	return sent, awaitPhones(eps, sent, got0)
}

package dial

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/route"
)

// BenchmarkMemoryPerAnsweredCall measures what an answered call holds of
// sip/dial and sip/leg, and of sipgo for them, built the way a call
// builds it: its dial.Env, its dialer with the one fork that answered (the
// INVITE sent to a phone on loopback, its 180 and 200 with SDP, our ACK),
// the fork's client transaction (kept by sipgo for Timer M, 64·T1, so that
// a retransmitted 2xx is ACKed again) and its watcher goroutine if it
// still runs, and the leg.Bridge with both legs' dialogs and SDP. The
// caller's INVITE, the call's actor and the relay are not counted (one
// relay serves all calls here).
//
// It measures at three points of a call's life: "answered", while the
// fork's transaction runs (a call shorter than Timer M); "long", once
// Timer M has ended it, as on a call of more than 32 s (T1 is shrunk here
// so that it comes sooner); "ended", once the call hung up within Timer M
// and its forks were terminated, what is left of it until Timer M fires
// (sipgo's timer keeps the transaction, terminated or not). And two ways
// of ACKing retransmitted 2xx: "kept", the call keeps its ACK and hook,
// as package sip does (calleeTx.ackTmpl); "forkack", Fork.Ack.
//
// heap-B/call is the live heap after GC per call, stack-B/call the
// goroutine stacks in use per call (noisy: freed stacks stay cached),
// goroutines/call those left running. With HEAPPROF=file set, the heap
// profile taken at the measure is written there (go test
// -memprofilerate=1 for every allocation).
func BenchmarkMemoryPerAnsweredCall(b *testing.B) {
	const n = 1000
	for _, at := range []phase{answered, long, ended} {
		for _, forkAck := range []bool{false, true} {
			b.Run(caseName(at, forkAck), func(b *testing.B) {
				for b.Loop() {
					heap, stack, gor := measureAnswered(b, n, at, forkAck)
					b.ReportMetric(heap, "heap-B/call")
					b.ReportMetric(stack, "stack-B/call")
					b.ReportMetric(gor, "goroutines/call")
				}
			})
		}
	}
}

// TestMemoryPerAnsweredCall logs the figures of the benchmark at a
// smaller scale (go test -v -run MemoryPerAnswered).
func TestMemoryPerAnsweredCall(t *testing.T) {
	for _, at := range []phase{answered, long, ended} {
		for _, forkAck := range []bool{false, true} {
			heap, stack, gor := measureAnswered(t, 200, at, forkAck)
			t.Logf("%s: heap %.0f B/call, stack %.0f B/call, %.2f goroutines/call", caseName(at, forkAck),
				heap, stack, gor)
		}
	}
}

// phase is when in a call's life BenchmarkMemoryPerAnsweredCall measures.
type phase string

const (
	answered phase = "answered"
	long     phase = "long"
	ended    phase = "ended"
)

func caseName(at phase, forkAck bool) string {
	if forkAck {
		return string(at) + "-forkack"
	}
	return string(at) + "-kept"
}

// heldCall is what a call of package sip keeps of these packages once
// answered: its env, its dialer, its bridge and the ACK it sends again on
// each retransmission of the 2xx.
type heldCall struct {
	env     *Env
	ring    Dialer
	br      leg.Bridge
	ackTmpl *sip.Request
}

// measureAnswered builds n answered calls against a phone on loopback and
// returns the heap and stack they hold per call and the goroutines left
// per call, at the phase at of their lives. forkAck: see answer.
func measureAnswered(tb testing.TB, n int, at phase, forkAck bool) (heapPer, stackPer, goroutinesPer float64) {
	var txEnded sync.WaitGroup // long: the forks' transactions
	if at == long {
		sip.SetTimers(20*time.Millisecond, 80*time.Millisecond, 100*time.Millisecond) // Timer M: 1.28 s
		defer sip.SetTimers(500*time.Millisecond, 4*time.Second, 5*time.Second)       // sipgo's defaults
	}
	ph := startPhone(tb)
	client, ua := newClient(tb)
	defer ua.Close()
	pool, err := media.NewPortPool(42000, 42100)
	if err != nil {
		tb.Fatal(err)
	}
	relay, err := media.NewRelay(media.RelayConfig{Pool: pool, IP: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		tb.Fatal(err)
	}
	defer relay.Close()
	log := slog.New(slog.DiscardHandler)
	callerOffer := []byte(callerSDP)
	local := netip.MustParseAddr("127.0.0.1")
	contact := func(string, string) sip.ContactHeader {
		return sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "switchboard", Host: "127.0.0.1", Port: 5060}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	events := make(chan any, 4*n)
	post := func(ev any) bool { events <- ev; return true }

	// Call 0 warms up (sipgo's and the phone's read buffers); the others
	// are measured.
	var before runtime.MemStats
	var g0 int
	calls := make([]*heldCall, n+1)
	answered := 0
	for i := range calls {
		hc := &heldCall{}
		calls[i] = hc
		hc.env = &Env{Client: client, UserAgent: "Switchboard", Log: log, Ctx: ctx, WG: &wg, Post: post,
			File: func(string) {}, Contact: contact, MediaIP: func(string) netip.Addr { return local },
			SendAndWait: func(context.Context, *sip.Request) (*sip.Response, error) { return nil, nil },
			Relay:       relay, Hops: 69}
		hc.br = leg.NewBridge(func(string) netip.Addr { return local }, leg.Messenger{}, log)
		hc.br.Relay = relay
		hc.br.Legs[0].Origin.ID = uint64(i) * 2
		hc.br.Legs[1].Origin.ID = uint64(i)*2 + 1
		hc.ring = Dialer{Env: hc.env, Source: callerOffer, Origin: &hc.br.Legs[1].Origin, Leg: media.LegB,
			OnFailed: func(*Fork) { tb.Errorf("call %d failed", i) }}
		hc.ring.OnResponse = func(f *Fork, tx sip.ClientTransaction, res *sip.Response) {
			if !f.Settle(tx, res) {
				return
			}
			if !res.IsSuccess() {
				tb.Errorf("call %d: %d", i, res.StatusCode)
				return
			}
			hc.answer(f, res, callerOffer, forkAck)
			answered++
			if at == long {
				txEnded.Add(1)
				if !f.Tx.OnTerminate(func(string, error) { txEnded.Done() }) {
					txEnded.Done()
				}
			}
		}
		ext := strconv.Itoa(10000 + i)
		t := route.Target{UserID: int64(i), Ext: ext, ToUser: ext, Domain: "pbx.example.com", Dest: ph.addr,
			Transport: "UDP", URI: sip.Uri{Scheme: "sip", User: ext, Host: "192.168.1.23", Port: 5060}}
		rt := &route.Route{Dialed: ext, To: ext, From: "10001", FromUser: "10001", FromName: "Alice",
			Targets: []route.Target{t}}
		if err := hc.ring.Address(t.Dest); err != nil {
			tb.Fatal(err)
		}
		hc.br.Legs[1].SDP = hc.ring.Offer
		hc.ring.DialAll(rt, rt.Targets)
		// In rounds of 50, so that loopback drops no datagram.
		for i%50 == 0 && answered <= i || i == n && answered <= n {
			(<-events).(Event).Deliver(log)
		}
		if i == 0 {
			ph.waitAcks(1)
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&before)
			g0 = runtime.NumGoroutine()
		}
	}
	ph.waitAcks(n + 1)
	// Events still queued (long: the transactions' ends) would count. A
	// transaction's end is told to the call right after ended hears it,
	// by the same sipgo goroutine: the rare one still on its way counts
	// as held.
	txEnded.Wait()
	if at == ended { // hung up: the forks ended, the call dropped
		for _, hc := range calls[1:] {
			Terminate(hc.ring.Forks)
		}
		clear(calls[1:])
	}
	for len(events) > 0 {
		(<-events).(Event).Deliver(log)
	}

	runtime.GC()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	if p := os.Getenv("HEAPPROF"); p != "" { // what the calls hold, by allocation site
		if f, err := os.Create(p); err == nil {
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
	}
	heapPer = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
	stackPer = float64(int64(after.StackInuse)-int64(before.StackInuse)) / float64(n)
	goroutinesPer = float64(g1-g0) / float64(n)
	runtime.KeepAlive(calls)

	for _, hc := range calls {
		if hc != nil {
			Terminate(hc.ring.Forks)
		}
	}
	cancel()
	wg.Wait()
	return heapPer, stackPer, goroutinesPer
}

// answer is what package sip does with the 2xx of the fork that won
// (calleeTx.answered and ack, answerWith): leg B is the fork's dialog, the
// ACK goes and goes again on each retransmission of the 2xx, and the
// callee's answer becomes the caller's. The call keeps a copy of the ACK
// for the retransmissions (calleeTx.ackTmpl), or with forkAck leaves it
// to the fork (Fork.Ack), whose copy goes with the transaction.
func (hc *heldCall) answer(f *Fork, res *sip.Response, callerOffer []byte, forkAck bool) {
	hc.br.JoinB(ForkDialog(f, res))
	ack := hc.br.Legs[1].Dialog.Request(sip.ACK)
	if forkAck {
		_ = f.Ack(ack)
	} else {
		client := hc.env.Client
		var mu sync.Mutex
		f.Tx.OnRetransmission(func(r *sip.Response) {
			mu.Lock()
			tmpl := hc.ackTmpl
			mu.Unlock()
			if tmpl != nil && r.IsSuccess() {
				_ = client.WriteRequest(tmpl.Clone())
			}
		})
		mu.Lock()
		hc.ackTmpl = ack.Clone()
		mu.Unlock()
		_ = client.WriteRequest(ack)
	}
	if _, err := hc.br.AnswerA(res.Body(), callerOffer, false, "192.168.1.50:5060"); err != nil {
		panic(err)
	}
	hc.br.Legs[0].Dialog = leg.Dialog{CallID: "a84b4c76e66710@pc33.example.com",
		LocalURI: sip.Uri{Scheme: "sip", User: "10002", Host: "pbx.example.com"}, LocalTag: sip.GenerateTagN(16),
		RemoteURI: sip.Uri{Scheme: "sip", User: "10001", Host: "pbx.example.com"}, RemoteTag: "1928301774",
		Target: sip.Uri{Scheme: "sip", User: "10001", Host: "192.168.1.50", Port: 5060}, Dest: "192.168.1.50:5060",
		Transport: "UDP", Contact: hc.env.Contact("", "UDP")}
}

// newClient is a sipgo client as the server has one: its user agent, a
// UDP listener on loopback its requests go from.
func newClient(tb testing.TB) (*sipgo.Client, *sipgo.UserAgent) {
	quiet := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("Switchboard"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet),
			sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) {})))
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		tb.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go srv.ServeUDP(conn)
	port := conn.LocalAddr().(*net.UDPAddr).Port
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(quiet), sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port))
	if err != nil {
		tb.Fatal(err)
	}
	return client, ua
}

// callerSDP is the caller's offer, phoneSDP the callee's answer: desk
// phones offering PCMU, PCMA and events.
const (
	callerSDP = "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.168.1.50\r\ns=-\r\n" +
		"c=IN IP4 192.168.1.50\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n" +
		"a=sendrecv\r\n"
	phoneSDP = "v=0\r\no=bob 2808844564 2808844564 IN IP4 192.168.1.23\r\ns=-\r\n" +
		"c=IN IP4 192.168.1.23\r\nt=0 0\r\nm=audio 3456 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
)

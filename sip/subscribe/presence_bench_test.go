package subscribe

import (
	"bytes"
	"net"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/sip/auth"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/presence"
)

// notifySink is a UDP peer standing for many phones: it answers every
// NOTIFY 200 at once and counts those of the watched extension.
type notifySink struct {
	conn    *net.UDPConn
	total   atomic.Int64
	watched atomic.Int64 // NOTIFYs whose Call-ID starts with "w-"
	hit     chan struct{}
	want    atomic.Int64 // signal hit when watched reaches it
}

func startSink(tb testing.TB) *notifySink {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	conn.SetReadBuffer(8 << 20)
	k := &notifySink{conn: conn, hit: make(chan struct{}, 1)}
	tb.Cleanup(func() { conn.Close() })
	go k.run()
	return k
}

func (k *notifySink) run() {
	buf := make([]byte, 65536)
	var out bytes.Buffer
	for {
		n, from, err := k.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		msg := buf[:n]
		if !bytes.HasPrefix(msg, []byte("NOTIFY ")) {
			continue
		}
		out.Reset()
		out.WriteString("SIP/2.0 200 OK\r\n")
		watched := false
		for _, line := range bytes.Split(msg, []byte("\r\n")) {
			if len(line) == 0 {
				break
			}
			for _, h := range []string{"Via:", "From:", "To:", "Call-ID:", "CSeq:"} {
				if bytes.HasPrefix(line, []byte(h)) {
					out.Write(line)
					out.WriteString("\r\n")
					if h == "Call-ID:" && bytes.HasPrefix(bytes.TrimSpace(line[len(h):]), []byte("w-")) {
						watched = true
					}
				}
			}
		}
		out.WriteString("Content-Length: 0\r\n\r\n")
		k.conn.WriteToUDP(out.Bytes(), from)
		k.total.Add(1)
		if watched && k.watched.Add(1) == k.want.Load() {
			k.hit <- struct{}{}
		}
	}
}

// startSubscriptions makes subscriptions, with room for max of them,
// whose NOTIFYs leave from a UDP listener of their own, as the server's
// leave from its SIP listener.
func startSubscriptions(tb testing.TB, max int) *Subscriptions {
	ua, err := sipgo.NewUA(sipgo.WithUserAgentTransactionLayerOptions(
		sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) {})))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ua.Close() })
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go srv.ServeUDP(ln)
	client, err := sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(ln.LocalAddr().String()))
	if err != nil {
		tb.Fatal(err)
	}
	contact := func(dest, transport string) sip.ContactHeader {
		return sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: ln.LocalAddr().(*net.UDPAddr).Port}}
	}
	return New(Config{Agent: "switchboard-test", StoreTimeout: time.Second,
		Presence: presence.Config{MaxSubscriptions: max}},
		Parts{Client: client, Auth: auth.New(auth.Config{Domain: "switchboard.local"}, auth.Parts{}), Contact: contact})
}

// BenchmarkPresenceFanout: 10,000 subscriptions on one node, 50 of them
// watching extension 10001; each op is one state change of 10001 (it
// rings, then it is over, alternately) until the 50th NOTIFY about it is
// answered by the sink. ms_to_50th is the mean time from the change to
// the 50th NOTIFY's arrival.
func BenchmarkPresenceFanout(b *testing.B) {
	sb := startSubscriptions(b, 20000)
	sink := startSink(b)
	dest := sink.conn.LocalAddr().String()
	const total, watchers = 10000, 50
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	subs := make([]*presence.Subscription, 0, total)
	for i := range total {
		ext := "10001"
		id := "w-" + strconv.Itoa(i)
		if i >= watchers {
			ext = strconv.Itoa(10002 + i%199)
			id = "o-" + strconv.Itoa(i)
		}
		sd := &subDialog{watcher: "19999", event: "dialog", d: leg.Dialog{CallID: id,
			LocalURI: sip.Uri{Scheme: "sip", User: ext, Host: "switchboard.local"}, LocalTag: "l" + id,
			RemoteURI: sip.Uri{Scheme: "sip", User: "19999", Host: "switchboard.local"}, RemoteTag: "r" + id,
			Target: sip.Uri{Scheme: "sip", User: "19999", Host: "127.0.0.1"}, Dest: dest, Transport: "UDP",
			Contact: sb.parts.Contact(dest, "UDP"), CSeq: 1}}
		sub := &presence.Subscription{Key: id, Package: presence.DialogPackage, Entity: ext, Watcher: "19999",
			Members: []presence.Member{{Ext: ext, Info: true}}, Dialog: sd}
		if err := sb.pres.Add(sub, time.Hour); err != nil {
			b.Fatal(err)
		}
		subs = append(subs, sub)
		// Subscriptions come in batches, as phones booting do, not all
		// in one burst: the first NOTIFY of each is answered before the
		// next batch.
		if (i+1)%500 == 0 {
			waitCount(b, &sink.total, int64(i+1))
		}
	}
	// The first NOTIFYs' retransmissions (the sink's answers queue behind
	// 10,000 of them) die down before the clock starts.
	for last := int64(-1); last != sink.total.Load(); {
		last = sink.total.Load()
		time.Sleep(2 * time.Second)
	}
	settled := sink.total.Load()
	runtime.GC()
	runtime.ReadMemStats(&after)
	perSub := float64(after.HeapAlloc-before.HeapAlloc) / total
	runtime.KeepAlive(subs)
	base := sink.watched.Load()
	if n := sb.pres.Len(); n != total {
		b.Fatalf("%d subscriptions, want %d", n, total)
	}
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink.want.Store(base + int64(watchers*(i+1)))
		start := time.Now()
		ringing := i%2 == 0
		l := presence.Leg{ID: "leg-" + strconv.Itoa(i/2), Peer: "10002"}
		if ringing {
			l.State = presence.LegRinging
		}
		sb.pres.Leg("10001", l, !ringing)
		select {
		case <-sink.hit:
		case <-time.After(30 * time.Second):
			b.Fatalf("op %d: %d of %d NOTIFYs", i, sink.watched.Load()-base-int64(watchers*i), watchers)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms_to_50th")
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Nanoseconds())/1e6, "p50_ms")
	b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds())/1e6, "p99_ms")
	b.ReportMetric(float64(took[len(took)-1].Nanoseconds())/1e6, "max_ms")
	b.ReportMetric(float64(sb.pres.Len()), "subscriptions")
	b.ReportMetric(perSub, "heap_B/sub")
	b.ReportMetric(float64(sink.total.Load()-settled-int64(watchers*b.N)), "retransmitted")

}

func waitCount(b *testing.B, n *atomic.Int64, want int64) {
	for deadline := time.Now().Add(time.Minute); n.Load() < want; {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d first NOTIFYs arrived", n.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

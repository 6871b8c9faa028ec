package presence

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a Sender that keeps every NOTIFY.
type recorder struct {
	mu  sync.Mutex
	got map[string][]Notify
	ch  chan Notify
}

func newRecorder() *recorder {
	return &recorder{got: map[string][]Notify{}, ch: make(chan Notify, 100)}
}

func (r *recorder) send(_ context.Context, n Notify) error {
	r.mu.Lock()
	r.got[n.Sub.Key] = append(r.got[n.Sub.Key], n)
	r.mu.Unlock()
	select {
	case r.ch <- n:
	default:
	}
	return nil
}

func (r *recorder) next(t *testing.T) Notify {
	t.Helper()
	select {
	case n := <-r.ch:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no NOTIFY")
	}
	return Notify{}
}

func TestPresenceTable(t *testing.T) {
	r := newRecorder()
	tb := New(r.send, Config{Domain: func() string { return "pbx.test" }})
	dlg := &Subscription{Key: "d", Package: DialogPackage, Entity: "10002", Members: []Member{{Ext: "10002", Info: true}}}
	pres := &Subscription{Key: "p", Package: PresencePackage, Entity: "16000", Members: []Member{{Ext: "10001"}, {Ext: "10002"}}}
	if err := tb.Add(dlg, time.Hour); err != nil {
		t.Fatal(err)
	}
	if n := r.next(t); n.Final || n.Expires < 3590 || !strings.Contains(string(n.Body), `entity="sip:10002@pbx.test"`) {
		t.Fatalf("first: %+v %s", n, n.Body)
	}
	if err := tb.Add(pres, time.Hour); err != nil {
		t.Fatal(err)
	}
	if n := r.next(t); !strings.Contains(string(n.Body), "<basic>closed</basic>") {
		t.Fatalf("group of offline members: %s", n.Body)
	}
	tb.SetRegistered("10002", true)
	if n := r.next(t); n.Sub != pres || !strings.Contains(string(n.Body), "<basic>open</basic>") {
		t.Fatalf("registration: %s", n.Body)
	}
	tb.Leg("10002", Leg{ID: "a", State: LegRinging, Peer: "10001", PeerName: "Ann <&>"}, false)
	seen := map[string]string{}
	for range 2 {
		n := r.next(t)
		seen[n.Sub.Key] = string(n.Body)
	}
	if b := seen["d"]; !strings.Contains(b, "<state>early</state>") || !strings.Contains(b, `display="Ann &lt;&amp;&gt;"`) {
		t.Errorf("dialog ringing: %s", b)
	}
	if b := seen["p"]; !strings.Contains(b, "on-the-phone") {
		t.Errorf("group with a ringing member: %s", b)
	}
	if got := tb.View("10002", false); got.Status != Ringing || got.Peer() != "" {
		t.Errorf("view without info: %+v", got)
	}
	if got := tb.View("10002", true); got.Peer() != "Ann <&> 10001" {
		t.Errorf("view with info: peer %q", got.Peer())
	}
	tb.SetDND("10001", true) // a group member in DND, another ringing: ringing wins
	if n := r.next(t); !strings.Contains(string(n.Body), "on-the-phone") {
		t.Errorf("group: %s", n.Body)
	}
	tb.End(dlg, "")
	if n := r.next(t); !n.Final || n.Reason != "" {
		t.Errorf("end: %+v", n)
	}
	if tb.Lookup("d") != nil || tb.Refresh(dlg, time.Hour) {
		t.Error("an ended subscription is still found")
	}
	tb.Close(context.Background())
	if n := r.next(t); !n.Final || n.Reason != "deactivated" {
		t.Errorf("close: %+v", n)
	}
	if tb.Len() != 0 {
		t.Errorf("%d subscriptions after close", tb.Len())
	}
}

func TestPresenceNegotiate(t *testing.T) {
	tb := New(nil, Config{MinExpires: time.Minute, MaxExpires: time.Hour, DefaultExpires: 10 * time.Minute})
	for _, c := range []struct {
		secs  int64
		want  time.Duration
		brief bool
	}{{-1, 10 * time.Minute, false}, {0, 0, false}, {30, 0, true}, {60, time.Minute, false}, {7200, time.Hour, false}, {1 << 40, time.Hour, false}} {
		d, brief := tb.Negotiate(c.secs)
		if d != c.want || brief != c.brief {
			t.Errorf("%d: %v %v", c.secs, d, brief)
		}
	}
}

// BenchmarkPresenceTableFanout: 10,000 subscriptions, one change watched
// by 50 of them; an op is the change until the 50th NOTIFY is handed to
// the Sender (bodies rendered, no network).
func BenchmarkPresenceTableFanout(b *testing.B) {
	var sent atomic.Int64
	hit := make(chan struct{}, 1)
	var want atomic.Int64
	tb := New(func(_ context.Context, n Notify) error {
		if n.Sub.Entity == "10001" && sent.Add(1) == want.Load() {
			hit <- struct{}{}
		}
		return nil
	}, Config{})
	for i := range 10000 {
		ext := "10001"
		if i >= 50 {
			ext = strconv.Itoa(10002 + i%199)
		}
		tb.Add(&Subscription{Key: strconv.Itoa(i), Package: DialogPackage, Entity: ext, Members: []Member{{Ext: ext, Info: true}}}, time.Hour)
	}
	for sent.Load() < 50 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	base := sent.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		want.Store(base + int64(50*(i+1)))
		tb.Leg("10001", Leg{ID: "leg" + strconv.Itoa(i/2), State: LegRinging, Peer: "10002"}, i%2 == 1)
		<-hit
	}
}

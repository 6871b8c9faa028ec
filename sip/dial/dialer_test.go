package dial

import (
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/route"
)

func TestPick(t *testing.T) {
	busy := func(ext string) bool { return ext == "10002" }
	rt := &route.Route{Targets: []route.Target{{Ext: "10001"}, {Ext: "10002"}, {Ext: "10003"}}}
	ring, spare := Pick(rt, busy)
	if got := Exts(ring); !slices.Equal(got, []string{"10001", "10003"}) || spare != nil {
		t.Errorf("phones: ring %v, spare %v; want 10001 and 10003 at once", got, Exts(spare))
	}
	rt = &route.Route{Failover: true, Targets: []route.Target{{Dest: "a:5060"}, {Dest: "b:5060"}, {Dest: "c:5060"}}}
	ring, spare = Pick(rt, busy)
	if len(ring) != 1 || ring[0].Dest != "a:5060" || len(spare) != 2 {
		t.Errorf("trunks: ring %v, spare %v; want the first now and two spare", ring, spare)
	}
}

func failed(codes ...int) []*Fork {
	var forks []*Fork
	for _, c := range codes {
		forks = append(forks, &Fork{Final: &sip.Response{StatusCode: c, Reason: "failed"}})
	}
	return forks
}

func TestBestFailure(t *testing.T) {
	for _, tc := range []struct {
		codes []int
		code  int
		disp  directory.Disposition
	}{
		{nil, 480, directory.Unavailable},
		{[]int{404, 486}, 486, directory.Busy},
		{[]int{486, 603}, 603, directory.Busy},
		{[]int{408, 500}, 480, directory.NoAnswer},
		{[]int{503, 403}, 403, directory.Failed},
		{[]int{487}, 480, directory.NoAnswer},
	} {
		code, _, disp := BestFailure(failed(tc.codes...))
		if code != tc.code || disp != tc.disp {
			t.Errorf("BestFailure(%v) = %d %s, want %d %s", tc.codes, code, disp, tc.code, tc.disp)
		}
	}
}

func TestFailoverStatus(t *testing.T) {
	for code, next := range map[int]bool{408: true, 500: true, 503: true, 404: false, 486: false, 603: false} {
		if failoverStatus(code) != next {
			t.Errorf("failoverStatus(%d) = %v, want %v", code, !next, next)
		}
	}
}

// TestWatcherEndsAtFinal: a fork's watcher ends once it passed up the
// 2xx, not with the transaction (Timer M, 64·T1 after it), which stays to
// catch the 2xx's retransmissions: one that comes after the watcher ended
// is still ACKed again (Fork.Ack, through OnRetransmission). The
// transaction's end still reaches the call, and the fork then keeps no
// message.
func TestWatcherEndsAtFinal(t *testing.T) {
	ph := startPhoneResending(t, true)
	client, ua := newClient(t)
	defer ua.Close()
	var wg sync.WaitGroup
	events := make(chan any, 8)
	env := &Env{Client: client, UserAgent: "Switchboard", Log: slog.New(slog.DiscardHandler), Ctx: t.Context(),
		WG: &wg, Post: func(ev any) bool { events <- ev; return true }, File: func(string) {},
		Contact: func(string, string) sip.ContactHeader {
			return sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "switchboard", Host: "127.0.0.1"}}
		}, Hops: 70}
	var won *Fork
	d := &Dialer{Env: env, Late: true, OnFailed: func(*Fork) { t.Error("the fork failed") }}
	d.OnResponse = func(f *Fork, tx sip.ClientTransaction, res *sip.Response) {
		if !f.Settle(tx, res) {
			return
		}
		if !res.IsSuccess() {
			t.Fatalf("final response %d, want 200", res.StatusCode)
		}
		// The ACK, with the answer to the 2xx's offer, and again on each
		// retransmission of the 2xx.
		dlg := ForkDialog(f, res)
		ack := dlg.Request(sip.ACK)
		ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		ack.SetBody([]byte(callerSDP))
		if err := f.Ack(ack); err != nil {
			t.Errorf("ack: %v", err)
		}
		won = f
	}
	tgt := route.Target{Ext: "10002", ToUser: "10002", Domain: "pbx.example.com", Dest: ph.addr, Transport: "UDP",
		URI: sip.Uri{Scheme: "sip", User: "10002", Host: "192.168.1.23", Port: 5060}}
	rt := &route.Route{FromUser: "10001", Targets: []route.Target{tgt}}
	d.DialAll(rt, rt.Targets)
	for won == nil {
		(<-events).(Event).Deliver(env.Log)
	}
	watchers := make(chan struct{})
	go func() { wg.Wait(); close(watchers) }()
	<-watchers
	select {
	case <-won.Tx.Done():
		t.Fatalf("the watcher ended with the transaction (%v), not at the 2xx", won.Tx.Err())
	default:
	}
	ph.waitAcks(2) // the 2xx sent again got its ACK again
	first, again := ph.lastAck[0], ph.lastAck[1]
	if again.Recipient.String() != first.Recipient.String() || again.CallID().Value() != first.CallID().Value() ||
		again.CSeq().String() != first.CSeq().String() || again.From().String() != first.From().String() ||
		again.To().String() != first.To().String() || string(again.Body()) != callerSDP {
		t.Errorf("ACK sent again:\n%s\nwant the first:\n%s", again, first)
	}

	// The end of the transaction (Timer M, here sooner) still comes to
	// the call, and the fork lets go of its messages.
	Terminate(d.Forks)
	ev := <-events
	if _, ok := ev.(*TxDoneEvent); !ok {
		t.Fatalf("event after the 2xx: %T, want the end of the transaction", ev)
	}
	ev.(Event).Deliver(env.Log)
	if won.Tx != nil || won.Req != nil || won.Final.StatusCode != 200 || won.Final.Body() != nil ||
		Waiting(d.Forks) || d.AllFailed() {
		t.Errorf("fork after its transaction ended: tx %v, req %v, final %d %q; want only the status line kept",
			won.Tx, won.Req, won.Final.StatusCode, won.Final.Body())
	}
}

// TestEndedForkNotHeld: sipgo keeps an answered INVITE's transaction, and
// the hooks on it, until Timer M fires, even once terminated; the hooks of
// the dialer (the end of the transaction, Fork.Ack's) must then not keep
// the fork, its dialer and the call they point to: a call that hung up
// goes at once.
func TestEndedForkNotHeld(t *testing.T) {
	ph := startPhone(t)
	client, ua := newClient(t)
	defer ua.Close()
	var wg sync.WaitGroup
	events := make(chan any, 8)
	gone := make(chan struct{})
	func() { // what the call holds, dropped when it returns
		env := &Env{Client: client, UserAgent: "Switchboard", Log: slog.New(slog.DiscardHandler), Ctx: t.Context(),
			WG: &wg, Post: func(ev any) bool { events <- ev; return true }, File: func(string) {},
			Contact: func(string, string) sip.ContactHeader {
				return sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "switchboard", Host: "127.0.0.1"}}
			}, Hops: 70}
		d := &Dialer{Env: env, Late: true, OnFailed: func(*Fork) { t.Error("the fork failed") }}
		answered := false
		d.OnResponse = func(f *Fork, tx sip.ClientTransaction, res *sip.Response) {
			if f.Settle(tx, res) && res.IsSuccess() {
				dlg := ForkDialog(f, res)
				_ = f.Ack(dlg.Request(sip.ACK))
				answered = true
			}
		}
		tgt := route.Target{Ext: "10002", ToUser: "10002", Domain: "pbx.example.com", Dest: ph.addr, Transport: "UDP",
			URI: sip.Uri{Scheme: "sip", User: "10002", Host: "192.168.1.23", Port: 5060}}
		d.DialAll(&route.Route{FromUser: "10001"}, []route.Target{tgt})
		for !answered {
			(<-events).(Event).Deliver(env.Log)
		}
		runtime.AddCleanup(d, func(ch chan struct{}) { close(ch) }, gone)
		Terminate(d.Forks) // the call hangs up
		(<-events).(Event).Deliver(env.Log)
	}()
	for range 20 {
		runtime.GC()
		select {
		case <-gone:
			return
		default:
			runtime.Gosched()
		}
	}
	t.Fatal("the dialer of an ended call is still held (by its transaction's hooks)")
}

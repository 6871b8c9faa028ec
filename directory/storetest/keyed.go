package storetest

import (
	"errors"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

var keyedTests = []test{
	{"SaveCall and SaveRecording written twice leave one row each, a queue call's queue and wait kept", func(e *env) {
		a, b := e.user("10001"), e.user("10002")
		t0 := fixedTime()
		c := &directory.Call{Key: "k-1", SIPCallID: "e5@pc33.example", CallerID: a.ID, CalleeID: b.ID,
			From: "10001", To: "10002", Dialed: "10002", Direction: directory.Internal, StartedAt: t0,
			AnsweredAt: t0.Add(2 * time.Second), Disposition: directory.Answered, Node: "node-a",
			Queue: "18000", QueueWait: 1500 * time.Millisecond}
		e.ok(e.s.SaveCall(e.ctx, c), "save call")
		first := c.ID
		if first == 0 {
			e.t.Fatal("SaveCall set no ID")
		}
		r := &directory.Recording{Path: "2025/03/14/k1.wav", State: directory.RecordingActive}
		e.ok(e.s.SaveRecording(e.ctx, c.Key, r), "save recording")
		if r.ID == 0 || r.CallID != first || r.CallerID != a.ID || r.CalleeID != b.ID {
			e.t.Fatalf("saved recording %+v of call %d", r, first)
		}
		rid := r.ID

		// The end of the call and of its recording, each written twice (a
		// replay after a crash).
		c.EndedAt, c.HangupBy = t0.Add(time.Minute), "caller"
		done := directory.Recording{Path: r.Path, Size: 4096, Duration: 58 * time.Second, State: directory.RecordingDone,
			SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
		for range 2 {
			again := *c
			again.ID = 0
			e.ok(e.s.SaveCall(e.ctx, &again), "save call again")
			if again.ID != first {
				e.t.Errorf("second SaveCall: ID %d, want %d", again.ID, first)
			}
			rr := done
			e.ok(e.s.SaveRecording(e.ctx, c.Key, &rr), "save recording again")
			if rr.ID != rid {
				e.t.Errorf("second SaveRecording: ID %d, want %d", rr.ID, rid)
			}
		}
		got, err := e.s.Call(e.ctx, first)
		e.ok(err, "call %d", first)
		e.sameCall(got, c)
		n, err := e.s.CountCalls(e.ctx, directory.CallFilter{Vis: all})
		e.ok(err, "count calls")
		if n != 1 {
			e.t.Errorf("%d calls, want 1", n)
		}
		rs, err := e.s.Recordings(e.ctx, directory.RecordingFilter{Vis: all})
		e.ok(err, "recordings")
		if len(rs) != 1 || rs[0].State != directory.RecordingDone || rs[0].Size != 4096 ||
			rs[0].Duration != done.Duration || rs[0].SHA256 != done.SHA256 {
			e.t.Errorf("recordings %+v, want one, done", rs)
		}
	}},
	{"SaveRecording of an unknown call and SaveCall without a key are invalid", func(e *env) {
		err := e.s.SaveRecording(e.ctx, "nobody", &directory.Recording{Path: "x.wav"})
		if !errors.Is(err, directory.ErrInvalid) {
			e.t.Errorf("recording of an unknown call: %v, want ErrInvalid", err)
		}
		err = e.s.SaveCall(e.ctx, &directory.Call{Direction: directory.Internal, StartedAt: fixedTime(),
			Disposition: directory.Failed})
		if !errors.Is(err, directory.ErrInvalid) {
			e.t.Errorf("call without a key: %v, want ErrInvalid", err)
		}
	}},
	{"SaveCalls writes a batch in order, a key written before or twice in it leaving one row", func(e *env) {
		a, b := e.user("10001"), e.user("10002")
		t0 := fixedTime()
		call := func(key string, n int) *directory.Call {
			return &directory.Call{Key: key, SIPCallID: key + "@pc33.example", CallerID: a.ID, CalleeID: b.ID,
				From: "10001", To: "10002", Dialed: "10002", Direction: directory.Internal,
				StartedAt: t0.Add(time.Duration(n) * time.Minute), Disposition: directory.NoAnswer, Node: "node-a"}
		}
		e.ok(e.s.SaveCalls(e.ctx, nil), "save no calls")
		before := call("k-0", 0)
		e.ok(e.s.SaveCall(e.ctx, before), "save call k-0")

		// The end of k-0, two new calls, and the end of k-2 in the same batch.
		ended := call("k-0", 0)
		ended.AnsweredAt, ended.EndedAt, ended.Disposition, ended.HangupBy =
			t0.Add(2*time.Second), t0.Add(time.Minute), directory.Answered, "callee"
		k1, k2 := call("k-1", 1), call("k-2", 2)
		k2end := call("k-2", 2)
		k2end.EndedAt, k2end.Disposition, k2end.Reason = t0.Add(3*time.Minute), directory.Busy, "486"
		batch := []*directory.Call{ended, k1, k2, k2end}
		e.ok(e.s.SaveCalls(e.ctx, batch), "save calls")
		if ended.ID != before.ID {
			e.t.Errorf("k-0 written again: ID %d, want %d", ended.ID, before.ID)
		}
		if k1.ID == 0 || k2.ID == 0 || k1.ID == before.ID || k2.ID <= k1.ID || k2end.ID != k2.ID {
			e.t.Errorf("IDs k-0 %d, k-1 %d, k-2 %d and %d: want new, increasing, one for k-2",
				before.ID, k1.ID, k2.ID, k2end.ID)
		}
		for _, want := range []*directory.Call{ended, k1, k2end} {
			got, err := e.s.Call(e.ctx, want.ID)
			e.ok(err, "call %s", want.Key)
			e.sameCall(got, want)
		}
		n, err := e.s.CountCalls(e.ctx, directory.CallFilter{Vis: all})
		e.ok(err, "count calls")
		if n != 3 {
			e.t.Errorf("%d calls, want 3", n)
		}
	}},
	{"SaveCalls refuses a whole batch naming the invalid row, and writes none of it", func(e *env) {
		t0 := fixedTime()
		call := func(key string) *directory.Call {
			return &directory.Call{Key: key, SIPCallID: key + "@pc33.example", From: "10001", To: "10002",
				Direction: directory.Internal, StartedAt: t0, Disposition: directory.Busy}
		}
		count := func(want int, what string) {
			e.t.Helper()
			n, err := e.s.CountCalls(e.ctx, directory.CallFilter{Vis: all})
			e.ok(err, "count calls")
			if n != want {
				e.t.Errorf("%s: %d calls stored, want %d", what, n, want)
			}
		}
		rowAt := func(err error, index int, what string) {
			e.t.Helper()
			var re *directory.RowError
			if !errors.As(err, &re) || re.Index != index {
				e.t.Errorf("%s: error %v, want a *RowError at index %d", what, err, index)
			}
		}

		noKey := call("")
		bad := []*directory.Call{call("k-1"), noKey, call("k-3")}
		err := e.s.SaveCalls(e.ctx, bad)
		rowAt(err, 1, "call without a key")
		e.invalid(err, "key", "call without a key")
		count(0, "call without a key")

		for _, c := range bad {
			if c.ID != 0 {
				e.t.Errorf("call %q of a refused batch was given ID %d", c.Key, c.ID)
			}
		}
	}},
}

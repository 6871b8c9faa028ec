package storetest

import (
	"fmt"
	"slices"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// fixedTime is a moment with nanoseconds and a zone that is not UTC, so that
// a store that drops precision or zones is caught.
func fixedTime() time.Time {
	return time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.FixedZone("CET", 3600))
}

var callTests = []test{
	{"CreateCall keeps every field", func(e *env) {
		a, b := e.user("10001"), e.user("10002")
		g := e.group("Sales", 0)
		t0 := fixedTime()
		answered := &directory.Call{SIPCallID: "a84b4c76e66710@pc33.example", CallerID: a.ID, CalleeID: b.ID,
			GroupID: g.ID, From: "10001", To: "10002", Dialed: "20000", Direction: directory.Internal,
			StartedAt: t0, AnsweredAt: t0.Add(4*time.Second + 123456789), EndedAt: t0.Add(5 * time.Minute),
			Disposition: directory.Answered, Reason: "", HangupBy: "callee", Node: "node-a"}
		unanswered := &directory.Call{SIPCallID: "b2", CallerID: a.ID, From: "10001", To: "+48221234567",
			Dialed: "0221234567", Direction: directory.Outbound, StartedAt: t0.Add(time.Hour),
			EndedAt: t0.Add(time.Hour + 30*time.Second), Disposition: directory.Denied,
			Reason: "calls.outbound: number not in CRM", HangupBy: "system", Node: "node-b"}
		ongoing := &directory.Call{SIPCallID: "c3", CalleeID: b.ID, From: "+48601000200", To: "10002",
			Dialed: "+48221000000", Direction: directory.Inbound, StartedAt: t0.Add(2 * time.Hour),
			AnsweredAt: t0.Add(2*time.Hour + time.Second), Disposition: directory.Answered}
		for _, c := range []*directory.Call{answered, unanswered, ongoing} {
			e.ok(e.s.CreateCall(e.ctx, c), "create call %s", c.SIPCallID)
			if c.ID == 0 {
				e.t.Fatalf("CreateCall set no ID")
			}
			got, err := e.s.Call(e.ctx, c.ID)
			e.ok(err, "call %d", c.ID)
			e.sameCall(got, c)
		}
		if answered.ID == unanswered.ID {
			e.t.Error("two calls got one ID")
		}
	}},
	{"UpdateCall ends a call stored when it was answered", func(e *env) {
		a, b := e.user("10001"), e.user("10002")
		t0 := fixedTime()
		c := &directory.Call{SIPCallID: "d4@pc33.example", CallerID: a.ID, CalleeID: b.ID, From: "10001",
			To: "10002", Dialed: "10002", Direction: directory.Internal, StartedAt: t0,
			AnsweredAt: t0.Add(3 * time.Second), Disposition: directory.Answered, Node: "node-a"}
		e.ok(e.s.CreateCall(e.ctx, c), "create call")
		c.EndedAt, c.HangupBy, c.Reason = t0.Add(time.Minute), "caller", "done"
		c.CalleeID, c.To = a.ID, "10001"
		e.ok(e.s.UpdateCall(e.ctx, c), "update call")
		got, err := e.s.Call(e.ctx, c.ID)
		e.ok(err, "call %d", c.ID)
		e.sameCall(got, c)
		bad := *c
		bad.EndedAt = t0.Add(-time.Second)
		e.is(e.s.UpdateCall(e.ctx, &bad), directory.ErrInvalid, "end before start")
		gone := *c
		gone.ID = c.ID + 1000
		e.is(e.s.UpdateCall(e.ctx, &gone), directory.ErrNotFound, "unknown call")
	}},
	{"invalid calls are refused", func(e *env) {
		t0 := fixedTime()
		for _, c := range []directory.Call{
			{Direction: directory.Internal, StartedAt: t0, Disposition: "lost"},
			{Direction: "sideways", StartedAt: t0, Disposition: directory.Busy},
			{Direction: directory.Internal, Disposition: directory.Busy},
			{Direction: directory.Internal, StartedAt: t0, EndedAt: t0.Add(-time.Second), Disposition: directory.Busy},
		} {
			e.is(e.s.CreateCall(e.ctx, &c), directory.ErrInvalid, "call %+v", c)
		}
		n, err := e.s.CountCalls(e.ctx, directory.CallFilter{Vis: all})
		e.ok(err, "count calls")
		if n != 0 {
			e.t.Errorf("%d calls stored after refusals", n)
		}
	}},
	{"Calls lists newest first and filters", func(e *env) {
		f := newCallFixture(e)
		t0 := f.t0
		for _, c := range []struct {
			name string
			f    directory.CallFilter
			want []*directory.Call
		}{
			{"all, newest first, ties by ID", directory.CallFilter{Vis: all}, []*directory.Call{f.c5, f.c4, f.c3, f.c2, f.c1}},
			{"from (inclusive)", directory.CallFilter{From: t0.Add(time.Hour), Vis: all},
				[]*directory.Call{f.c5, f.c4, f.c3, f.c2}},
			{"to (exclusive)", directory.CallFilter{To: t0.Add(2 * time.Hour), Vis: all}, []*directory.Call{f.c2, f.c1}},
			{"from and to", directory.CallFilter{From: t0.Add(time.Hour), To: t0.Add(2 * time.Hour), Vis: all},
				[]*directory.Call{f.c2}},
			{"from in another zone", directory.CallFilter{From: t0.Add(2 * time.Hour).UTC(), Vis: all},
				[]*directory.Call{f.c5, f.c4, f.c3}},
			{"user: caller or callee", directory.CallFilter{UserID: f.alice.ID, Vis: all}, []*directory.Call{f.c4, f.c1}},
			{"user bob", directory.CallFilter{UserID: f.bob.ID, Vis: all}, []*directory.Call{f.c2, f.c1}},
			{"group: caller or callee a member", directory.CallFilter{GroupID: f.sales.ID, Vis: all},
				[]*directory.Call{f.c4, f.c2, f.c1}},
			{"group support (not the dialed group)", directory.CallFilter{GroupID: f.support.ID, Vis: all},
				[]*directory.Call{f.c4, f.c3}},
			{"number in from", directory.CallFilter{Number: "601000", Vis: all}, []*directory.Call{f.c3}},
			{"number in to and dialed", directory.CallFilter{Number: "221234567", Vis: all}, []*directory.Call{f.c2}},
			{"number in dialed only", directory.CallFilter{Number: "+48221000000", Vis: all}, []*directory.Call{f.c3}},
			{"extension as number", directory.CallFilter{Number: "10003", Vis: all}, []*directory.Call{f.c4, f.c3}},
			{"disposition", directory.CallFilter{Disposition: directory.Answered, Vis: all}, []*directory.Call{f.c3, f.c1}},
			{"user and disposition", directory.CallFilter{UserID: f.alice.ID, Disposition: directory.Busy, Vis: all},
				[]*directory.Call{f.c4}},
			{"zero visibility shows nothing", directory.CallFilter{}, nil},
			{"contact-only visibility flags show nothing", directory.CallFilter{Vis: directory.Visibility{Unassigned: true,
				Public: true}}, nil},
			{"visibility: caller or callee among UserIDs", directory.CallFilter{Vis: directory.Visibility{
				UserIDs: []int64{f.bob.ID}}}, []*directory.Call{f.c2, f.c1}},
			{"visibility of two users", directory.CallFilter{Vis: directory.Visibility{
				UserIDs: []int64{f.carol.ID, f.bob.ID}}}, []*directory.Call{f.c4, f.c3, f.c2, f.c1}},
			{"visibility and user filter", directory.CallFilter{UserID: f.alice.ID, Vis: directory.Visibility{
				UserIDs: []int64{f.bob.ID}}}, []*directory.Call{f.c1}},
		} {
			e.listCalls(c.f, c.want, c.name)
		}
	}},
	{"Calls pages are stable", func(e *env) {
		f := newCallFixture(e)
		want := []*directory.Call{f.c5, f.c4, f.c3, f.c2, f.c1}
		var paged []*directory.Call
		for n := 1; n <= 4; n++ {
			page, err := e.s.Calls(e.ctx, directory.CallFilter{Vis: all, Page: directory.Page{Number: n, Size: 2}})
			e.ok(err, "calls page %d", n)
			for i := range page {
				paged = append(paged, &page[i])
			}
		}
		e.ids(callPtrIDs(paged), callPtrIDs(want), "pages of two put together")
		n, err := e.s.CountCalls(e.ctx, directory.CallFilter{Vis: all, Page: directory.Page{Number: 2, Size: 2}})
		e.ok(err, "count calls")
		if n != 5 {
			e.t.Errorf("CountCalls with a page: %d, want 5 (paging does not apply)", n)
		}

		// Pages seen by some users only, with calls between two of them.
		t0 := f.t0
		for i := range 6 {
			c := &directory.Call{SIPCallID: fmt.Sprintf("p%d", i), CallerID: f.bob.ID, CalleeID: f.alice.ID,
				From: "10002", To: "10001", Dialed: "10001", Direction: directory.Internal,
				StartedAt: t0.Add(time.Duration(i-3) * time.Hour), Disposition: directory.Answered}
			if i%2 == 1 {
				c.CallerID, c.CalleeID = f.carol.ID, f.bob.ID
			}
			e.ok(e.s.CreateCall(e.ctx, c), "create call")
		}
		everything, err := e.s.Calls(e.ctx, directory.CallFilter{Vis: all, Page: directory.Page{Size: 500}})
		e.ok(err, "calls")
		for _, vis := range [][]int64{{f.alice.ID, f.bob.ID}, {f.bob.ID}, {f.carol.ID, f.alice.ID}} {
			var whole []directory.Call
			for _, c := range everything {
				if slices.Contains(vis, c.CallerID) || slices.Contains(vis, c.CalleeID) {
					whole = append(whole, c)
				}
			}
			for size := 1; size <= 3; size++ {
				var ids []int64
				for n := 1; n <= len(whole)/size+1; n++ {
					page, err := e.s.Calls(e.ctx, directory.CallFilter{Vis: directory.Visibility{UserIDs: vis},
						Page: directory.Page{Number: n, Size: size}})
					e.ok(err, "calls page %d", n)
					ids = append(ids, callIDs(page)...)
				}
				e.ids(ids, callIDs(whole), "pages of %d seen by users %v put together", size, vis)
			}
			e.listCalls(directory.CallFilter{Vis: directory.Visibility{UserIDs: vis}}, ptrs(whole),
				fmt.Sprintf("seen by users %v", vis))
		}
	}},
}

// callFixture: Alice and Bob in Sales, Carol in Support.
//
//	c1  t0     Alice → Bob       internal  answered
//	c2  t0+1h  Bob → +48221234567 outbound no answer
//	c3  t0+2h  +48601000200 → Carol inbound answered
//	c4  t0+2h  Carol → Alice     internal  busy (same start as c3, created later)
//	c5  t0+3h  external → Support's number, nobody answered; GroupID Support
type callFixture struct {
	t0                 time.Time
	sales, support     *directory.Group
	alice, bob, carol  *directory.User
	c1, c2, c3, c4, c5 *directory.Call
}

func newCallFixture(e *env) callFixture {
	e.t.Helper()
	var f callFixture
	f.sales, f.support = e.group("Sales", 0), e.group("Support", 0)
	f.alice, f.bob, f.carol = e.user("10001", f.sales.ID), e.user("10002", f.sales.ID), e.user("10003", f.support.ID)
	// Microseconds, so that filter bounds mean the same to every store.
	t0 := fixedTime().Truncate(time.Microsecond)
	f.t0 = t0
	f.c1 = &directory.Call{SIPCallID: "c1", CallerID: f.alice.ID, CalleeID: f.bob.ID, From: "10001", To: "10002",
		Dialed: "10002", Direction: directory.Internal, StartedAt: t0, AnsweredAt: t0.Add(3 * time.Second),
		EndedAt: t0.Add(time.Minute), Disposition: directory.Answered, HangupBy: "caller"}
	f.c2 = &directory.Call{SIPCallID: "c2", CallerID: f.bob.ID, From: "10002", To: "+48221234567", Dialed: "0221234567",
		Direction: directory.Outbound, StartedAt: t0.Add(time.Hour), EndedAt: t0.Add(time.Hour + 30*time.Second),
		Disposition: directory.NoAnswer, HangupBy: "caller"}
	f.c3 = &directory.Call{SIPCallID: "c3", CalleeID: f.carol.ID, From: "+48601000200", To: "10003",
		Dialed: "+48221000000", Direction: directory.Inbound, StartedAt: t0.Add(2 * time.Hour),
		AnsweredAt: t0.Add(2*time.Hour + time.Second), EndedAt: t0.Add(2*time.Hour + time.Minute),
		Disposition: directory.Answered, HangupBy: "callee"}
	f.c4 = &directory.Call{SIPCallID: "c4", CallerID: f.carol.ID, CalleeID: f.alice.ID, From: "10003", To: "10001",
		Dialed: "10001", Direction: directory.Internal, StartedAt: t0.Add(2 * time.Hour),
		EndedAt: t0.Add(2*time.Hour + 5*time.Second), Disposition: directory.Busy, HangupBy: "system"}
	f.c5 = &directory.Call{SIPCallID: "c5", GroupID: f.support.ID, From: "+48602000300", To: "+48227000000",
		Dialed: "+48227000000", Direction: directory.Inbound, StartedAt: t0.Add(3 * time.Hour),
		EndedAt: t0.Add(3*time.Hour + 20*time.Second), Disposition: directory.Cancelled, HangupBy: "caller"}
	for _, c := range []*directory.Call{f.c1, f.c2, f.c3, f.c4, f.c5} {
		e.ok(e.s.CreateCall(e.ctx, c), "create call %s", c.SIPCallID)
	}
	return f
}

func callIDs(cs []directory.Call) []int64 {
	out := make([]int64, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func ptrs(cs []directory.Call) []*directory.Call {
	out := make([]*directory.Call, 0, len(cs))
	for i := range cs {
		out = append(out, &cs[i])
	}
	return out
}

func callPtrIDs(cs []*directory.Call) []int64 {
	out := make([]int64, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// listCalls checks Calls (order included) and CountCalls for f.
func (e *env) listCalls(f directory.CallFilter, want []*directory.Call, what string) {
	e.t.Helper()
	cs, err := e.s.Calls(e.ctx, f)
	e.ok(err, "calls %s", what)
	e.ids(callIDs(cs), callPtrIDs(want), "Calls %s", what)
	n, err := e.s.CountCalls(e.ctx, f)
	e.ok(err, "count calls %s", what)
	if n != len(want) {
		e.t.Errorf("CountCalls %s: %d, want %d", what, n, len(want))
	}
	// Rows in lists are whole rows.
	for i := range cs {
		for _, w := range want {
			if w.ID == cs[i].ID {
				e.sameCall(&cs[i], w)
			}
		}
	}
}

func (e *env) sameCall(got, want *directory.Call) {
	e.t.Helper()
	if got.ID != want.ID || got.SIPCallID != want.SIPCallID || got.CallerID != want.CallerID ||
		got.CalleeID != want.CalleeID || got.GroupID != want.GroupID || got.From != want.From || got.To != want.To ||
		got.Dialed != want.Dialed || got.Direction != want.Direction || got.Disposition != want.Disposition ||
		got.Reason != want.Reason || got.HangupBy != want.HangupBy || got.Node != want.Node ||
		got.Queue != want.Queue || got.QueueWait != want.QueueWait {
		e.t.Errorf("call read back\n got %+v\nwant %+v", got, want)
	}
	e.sameTime(got.StartedAt, want.StartedAt, "call %d started at", want.ID)
	e.sameTime(got.AnsweredAt, want.AnsweredAt, "call %d answered at", want.ID)
	e.sameTime(got.EndedAt, want.EndedAt, "call %d ended at", want.ID)
}

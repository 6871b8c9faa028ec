package acd_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/acd"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// rig is an engine on a manual clock with helpers that fail the test on
// an error and keep only the events a test asks about.
type rig struct {
	t   *testing.T
	e   *acd.Engine
	clk *clock
}

func newRig(t *testing.T, qs ...acd.Queue) *rig {
	r := &rig{t: t, clk: &clock{now: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}}
	r.e = acd.New(r.clk)
	for _, q := range qs {
		r.ok(r.e.SetQueue(q))
	}
	return r
}

func (r *rig) ok(ev []acd.Event, err error) []acd.Event {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
	return ev
}

// calls shows the offers, cancels, overflows and positions of evs, the
// way the tests write them.
func calls(evs []acd.Event, kinds ...acd.EventKind) string {
	if len(kinds) == 0 {
		kinds = []acd.EventKind{acd.EventOffer, acd.EventCancel, acd.EventOverflow}
	}
	var out []string
	for _, ev := range evs {
		if slices.Contains(kinds, ev.Kind) {
			out = append(out, ev.String())
		}
	}
	return strings.Join(out, "; ")
}

func (r *rig) want(what string, evs []acd.Event, want string, kinds ...acd.EventKind) {
	r.t.Helper()
	if got := calls(evs, kinds...); got != want {
		r.t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func (r *rig) login(ids ...string) {
	for _, id := range ids {
		r.e.Login(id)
		r.clk.Advance(time.Second) // so that idle times differ: the first logged in is idle longest
	}
}

// serve answers and ends the call of caller by agent: agent becomes idle
// again (no wrap-up unless the queue has one).
func (r *rig) serve(agent, caller string) []acd.Event {
	r.t.Helper()
	ev := r.ok(r.e.AgentAnswered(agent, caller))
	return append(ev, r.ok(r.e.CallEnded(agent))...)
}

func TestRingAll(t *testing.T) {
	r := newRig(t, acd.Queue{ID: "sales", Strategy: acd.RingAll, Members: []string{"a", "b", "c"}})
	r.login("a", "b")
	r.want("enqueue rings every free member", r.ok(r.e.Enqueue("sales", "x")), "offer x→a; offer x→b")
	r.want("the second caller waits: nobody free", r.ok(r.e.Enqueue("sales", "y")), "")
	r.want("an agent logging in joins the ringing of the head caller", r.e.Login("c"), "offer x→c")
	r.want("b answers: the others stop ringing and ring for the next",
		r.ok(r.e.AgentAnswered("b", "x")), "cancel x→a; cancel x→c; offer y→a; offer y→c")
	if _, err := r.e.AgentAnswered("a", "x"); !errors.Is(err, acd.ErrUnknownCaller) {
		t.Errorf("a answers x too late: %v", err)
	}
}

func TestLongestIdle(t *testing.T) {
	r := newRig(t, acd.Queue{ID: "q", Strategy: acd.LongestIdle, Members: []string{"a", "b", "c"}})
	r.login("b", "a", "c") // b idle longest, then a, then c
	r.want("first caller to the longest idle", r.ok(r.e.Enqueue("q", "1")), "offer 1→b")
	r.want("second caller to the next longest idle", r.ok(r.e.Enqueue("q", "2")), "offer 2→a")
	r.clk.Advance(time.Minute)
	r.serve("b", "1") // b idle since now: the shortest
	r.clk.Advance(time.Second)
	r.serve("a", "2")
	r.want("c has waited longest", r.ok(r.e.Enqueue("q", "3")), "offer 3→c")
	r.want("then b, whose call ended first", r.ok(r.e.Enqueue("q", "4")), "offer 4→b")
}

func TestRoundRobin(t *testing.T) {
	r := newRig(t, acd.Queue{ID: "q", Strategy: acd.RoundRobin, Members: []string{"a", "b", "c"}})
	r.login("c", "b", "a")
	var got []string
	for _, id := range []string{"1", "2", "3", "4", "5"} {
		for _, ev := range r.ok(r.e.Enqueue("q", id)) {
			if ev.Kind == acd.EventOffer {
				got = append(got, ev.Agent)
				r.serve(ev.Agent, id)
			}
		}
	}
	if strings.Join(got, ",") != "a,b,c,a,b" {
		t.Errorf("round robin offered %v, want a,b,c,a,b in member order whatever the login order", got)
	}
	// A busy member is skipped and the turn goes on from the one offered.
	r.ok(r.e.AgentBusy("c"))
	r.want("c busy: a", r.ok(r.e.Enqueue("q", "6")), "offer 6→a")
}

func TestFewestCalls(t *testing.T) {
	r := newRig(t, acd.Queue{ID: "q", Strategy: acd.FewestCalls, Members: []string{"a", "b", "c"}})
	r.login("a", "b", "c")
	r.want("all at 0 calls: the longest idle", r.ok(r.e.Enqueue("q", "1")), "offer 1→a")
	r.serve("a", "1")
	r.want("b has 0 calls and waited longer than c", r.ok(r.e.Enqueue("q", "2")), "offer 2→b")
	r.serve("b", "2")
	r.want("c has the fewest", r.ok(r.e.Enqueue("q", "3")), "offer 3→c")
	r.serve("c", "3")
	r.clk.Advance(time.Minute)
	r.want("all at 1: a idle longest", r.ok(r.e.Enqueue("q", "4")), "offer 4→a")
}

func TestPauseWithReason(t *testing.T) {
	r := newRig(t, acd.Queue{ID: "q", Strategy: acd.LongestIdle, Members: []string{"a", "b"}})
	r.login("a", "b")
	ev := r.ok(r.e.Pause("a", "lunch"))
	if len(ev) != 1 || ev[0].State != "paused" || ev[0].Reason != "lunch" {
		t.Errorf("pause events %v", ev)
	}
	r.want("a paused: b", r.ok(r.e.Enqueue("q", "1")), "offer 1→b")
	r.want("nobody free", r.ok(r.e.Enqueue("q", "2")), "")
	if st := r.e.Agents(); st[0].State != "paused" || st[0].Reason != "lunch" || st[1].State != "offered" {
		t.Errorf("agents %+v", st)
	}
	r.want("unpaused: a takes the waiting caller", r.ok(r.e.Unpause("a")), "offer 2→a")
	if _, err := r.e.Pause("nobody", "x"); !errors.Is(err, acd.ErrUnknownAgent) {
		t.Errorf("pause of an unknown agent: %v", err)
	}
}

func TestWrapUp(t *testing.T) {
	r := newRig(t, acd.Queue{ID: "q", Strategy: acd.LongestIdle, Members: []string{"a"}, WrapUp: 30 * time.Second})
	r.login("a")
	r.ok(r.e.Enqueue("q", "1"))
	r.ok(r.e.Enqueue("q", "2"))
	r.want("the call ends: wrap-up, no offer", r.serve("a", "1"), "")
	if at, ok := r.e.NextDeadline(); !ok || !at.Equal(r.clk.Now().Add(30*time.Second)) {
		t.Errorf("next deadline %v %v, want the end of wrap-up", at, ok)
	}
	r.clk.Advance(29 * time.Second)
	r.want("29 s: still wrapping up", r.e.Tick(), "")
	r.clk.Advance(time.Second)
	r.want("30 s: the next caller", r.e.Tick(), "offer 2→a")
	// "Ready" ends wrap-up early.
	r.ok(r.e.Enqueue("q", "3"))
	r.serve("a", "2")
	r.want("ready before the wrap-up ends", r.ok(r.e.AgentFree("a")), "offer 3→a")
}

func TestMaxWaitOverflowAndPositions(t *testing.T) {
	r := newRig(t, acd.Queue{ID: "q", Strategy: acd.RingAll, Members: []string{"a"}, MaxWait: time.Minute,
		Overflow: "voicemail:10020"})
	r.want("first caller is number 1", r.ok(r.e.Enqueue("q", "1")), "position 1=1", acd.EventPosition)
	r.clk.Advance(20 * time.Second)
	r.want("second is number 2", r.ok(r.e.Enqueue("q", "2")), "position 2=2", acd.EventPosition)
	r.clk.Advance(20 * time.Second)
	r.want("third is number 3", r.ok(r.e.Enqueue("q", "3")), "position 3=3", acd.EventPosition)
	r.clk.Advance(20 * time.Second)
	r.want("a minute: the first overflows, the others move up", r.e.Tick(),
		"overflow 1→voicemail:10020 (max_wait); position 2=1; position 3=2", acd.EventOverflow, acd.EventPosition)
	r.want("the second hangs up: the third is next", r.ok(r.e.Abandon("2")), "position 3=1", acd.EventPosition)
	if q, pos, err := r.e.Position("3"); err != nil || q != "q" || pos != 1 {
		t.Errorf("position of 3: %s %d %v", q, pos, err)
	}
	r.clk.Advance(40 * time.Second)
	r.want("the third waited its minute too", r.e.Tick(), "overflow 3→voicemail:10020 (max_wait)")
	st, _ := r.e.Stats("q")
	if st.Entered != 3 || st.Overflowed != 2 || st.Abandoned != 1 || st.Waiting != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestFullAndEmptyQueuesOverflow(t *testing.T) {
	r := newRig(t, acd.Queue{ID: "q", Strategy: acd.RingAll, Members: []string{"a"}, MaxCallers: 1,
		LeaveWhenEmpty: true, Overflow: "10099"})
	r.want("no agent logged in", r.ok(r.e.Enqueue("q", "1")), "overflow 1→10099 (no_agents)")
	r.login("a")
	r.ok(r.e.AgentBusy("a"))
	r.ok(r.e.Enqueue("q", "2"))
	r.want("full", r.ok(r.e.Enqueue("q", "3")), "overflow 3→10099 (full)")
	r.want("the last agent logs out: the waiting caller leaves", r.ok(r.e.Logout("a")), "overflow 2→10099 (no_agents)")
}

func TestMissedOffersGoToTheOthers(t *testing.T) {
	r := newRig(t, acd.Queue{ID: "q", Strategy: acd.LongestIdle, Members: []string{"a", "b"}, RingTimeout: 15 * time.Second})
	r.login("a", "b")
	r.want("a first", r.ok(r.e.Enqueue("q", "1")), "offer 1→a")
	r.want("a declines: b", r.ok(r.e.AgentMissed("a", "1")), "offer 1→b")
	r.clk.Advance(15 * time.Second)
	r.want("b rings out: a again, everyone having missed once", r.e.Tick(), "cancel 1→b; offer 1→a")
	r.want("a answers", r.ok(r.e.AgentAnswered("a", "1")), "")
	if _, err := r.e.AgentMissed("b", "1"); err == nil {
		t.Errorf("a miss after the caller was answered was accepted")
	}
	st, _ := r.e.Stats("q")
	if st.Missed != 2 || st.Answered != 1 || st.Offered != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestLogoutWhileRingingOffersTheOthers(t *testing.T) {
	r := newRig(t, acd.Queue{ID: "q", Strategy: acd.LongestIdle, Members: []string{"a", "b"}})
	r.login("a", "b")
	r.ok(r.e.Enqueue("q", "1"))
	r.want("a logs out while ringing", r.ok(r.e.Logout("a")), "cancel 1→a; offer 1→b")
}

func TestAgentInTwoQueuesTakesTheLongestWaiting(t *testing.T) {
	r := newRig(t, acd.Queue{ID: "sales", Strategy: acd.LongestIdle, Members: []string{"a"}},
		acd.Queue{ID: "support", Strategy: acd.LongestIdle, Members: []string{"a"}})
	r.ok(r.e.Enqueue("support", "s1"))
	r.clk.Advance(time.Second)
	r.ok(r.e.Enqueue("sales", "p1"))
	r.want("a logs in: support's caller waited longer", r.e.Login("a"), "offer s1→a")
	r.want("then sales", r.serve("a", "s1"), "offer p1→a")
}

func TestServiceLevel(t *testing.T) {
	r := newRig(t, acd.Queue{ID: "q", Strategy: acd.LongestIdle, Members: []string{"a"}, ServiceLevel: 20 * time.Second})
	r.login("a")
	r.ok(r.e.Enqueue("q", "1"))
	r.ok(r.e.Enqueue("q", "2"))
	r.ok(r.e.Enqueue("q", "3"))
	r.clk.Advance(10 * time.Second)
	r.serve("a", "1") // waited 10 s
	r.clk.Advance(15 * time.Second)
	r.serve("a", "2") // 25 s
	r.ok(r.e.Abandon("3"))
	st, _ := r.e.Stats("q")
	if st.Answered != 2 || st.AnsweredWithin != 1 || st.Abandoned != 1 || st.AverageWait() != 17500*time.Millisecond {
		t.Errorf("stats %+v", st)
	}
	if sl := st.ServiceLevel(); sl < 0.333 || sl > 0.334 {
		t.Errorf("service level %v, want 1/3", sl)
	}
}

func TestBadInput(t *testing.T) {
	r := newRig(t)
	if _, err := r.e.SetQueue(acd.Queue{ID: ""}); !errors.Is(err, acd.ErrBadQueue) {
		t.Errorf("queue without ID: %v", err)
	}
	if _, err := r.e.SetQueue(acd.Queue{ID: "x", Strategy: 9}); !errors.Is(err, acd.ErrBadQueue) {
		t.Errorf("unknown strategy: %v", err)
	}
	if _, err := r.e.Enqueue("none", "1"); !errors.Is(err, acd.ErrUnknownQueue) {
		t.Errorf("unknown queue: %v", err)
	}
	r.ok(r.e.SetQueue(acd.Queue{ID: "q"}))
	r.ok(r.e.Enqueue("q", "1"))
	if _, err := r.e.Enqueue("q", "1"); !errors.Is(err, acd.ErrCallerWaiting) {
		t.Errorf("caller twice: %v", err)
	}
	for _, n := range []string{"ring_all", "longest_idle", "round_robin", "fewest_calls"} {
		if s, err := acd.ParseStrategy(n); err != nil || s.String() != n {
			t.Errorf("strategy %s: %v %v", n, s, err)
		}
	}
	if _, err := acd.ParseStrategy("random"); err == nil {
		t.Errorf("random strategy accepted")
	}
}

// TestConcurrentUse drives one engine from many goroutines (run with
// -race): the mutex rule holds and nothing is lost.
func TestConcurrentUse(t *testing.T) {
	r := newRig(t, acd.Queue{ID: "q", Strategy: acd.FewestCalls, Members: []string{"a", "b", "c", "d"}})
	r.login("a", "b", "c", "d")
	var wg sync.WaitGroup
	answered := make(chan struct{}, 400)
	var mu sync.Mutex
	offers := map[string]string{} // caller → agent
	handle := func(evs []acd.Event) {
		for _, ev := range evs {
			if ev.Kind == acd.EventOffer {
				mu.Lock()
				offers[ev.Caller] = ev.Agent
				mu.Unlock()
			}
		}
	}
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				evs, err := r.e.Enqueue("q", string(rune('A'+g))+itoa(i))
				if err != nil {
					t.Error(err)
					return
				}
				handle(evs)
			}
		}()
	}
	wg.Add(1)
	go func() { // the agents' side: answer what is offered, end, repeat
		defer wg.Done()
		for n := 0; n < 400; {
			mu.Lock()
			var c, a string
			for c, a = range offers {
				delete(offers, c)
				break
			}
			mu.Unlock()
			if c == "" {
				r.e.Tick()
				continue
			}
			evs, err := r.e.AgentAnswered(a, c)
			if err != nil {
				t.Error(err)
				return
			}
			handle(evs)
			evs, err = r.e.CallEnded(a)
			if err != nil {
				t.Error(err)
				return
			}
			handle(evs)
			n++
			answered <- struct{}{}
		}
	}()
	wg.Wait()
	st, _ := r.e.Stats("q")
	if st.Answered != 400 || st.Waiting != 0 || len(answered) != 400 {
		t.Errorf("stats %+v", st)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

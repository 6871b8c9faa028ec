package acd

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// invariants checks what must hold between any two calls of the engine.
func (e *Engine) invariants() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, c := range e.callers {
		q := c.q
		i := slices.Index(q.waiting, c)
		if i < 0 {
			return fmt.Errorf("caller %s not in %s's line", id, q.ID)
		}
		if c.position != i+1 {
			return fmt.Errorf("caller %s at %d has position %d", id, i+1, c.position)
		}
		if q.Strategy != RingAll && len(c.offers) > 1 {
			return fmt.Errorf("caller %s rings %d agents in a %s queue", id, len(c.offers), q.Strategy)
		}
		for _, a := range c.offers {
			if a.activity != offered || a.offer != c {
				return fmt.Errorf("caller %s lists agent %s, who is %s", id, a.id, a.state())
			}
			if !slices.Contains(q.members, a) {
				return fmt.Errorf("caller %s rings %s, not a member of %s", id, a.id, q.ID)
			}
		}
	}
	n := 0
	for _, q := range e.queues {
		n += len(q.waiting)
		for _, c := range q.waiting {
			if e.callers[c.id] != c {
				return fmt.Errorf("%s's line holds a caller %s the engine forgot", q.ID, c.id)
			}
		}
		// Nobody free while someone waits unserved (ring all: the head
		// rings everyone free).
		if q.anyAvailable() {
			for _, c := range q.waiting {
				if len(c.offers) == 0 {
					return fmt.Errorf("%s: caller %s waits unserved while a member is free", q.ID, c.id)
				}
			}
		}
	}
	if n != len(e.callers) {
		return fmt.Errorf("%d callers in lines, %d known", n, len(e.callers))
	}
	for _, a := range e.agents {
		if a.activity == offered {
			if a.offer == nil || e.callers[a.offer.id] != a.offer || !slices.Contains(a.offer.offers, a) {
				return fmt.Errorf("agent %s is offered a caller that does not ring them", a.id)
			}
			if !a.loggedIn {
				return fmt.Errorf("agent %s is offered while logged out", a.id)
			}
		} else if a.offer != nil {
			return fmt.Errorf("agent %s is %s with an offer", a.id, a.state())
		}
	}
	return nil
}

type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// FuzzEngine runs random sequences of operations on two overlapping
// queues and checks the invariants after each: no input breaks the state.
func FuzzEngine(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
	f.Add([]byte{6, 6, 6, 0, 0, 0, 7, 7, 8, 9, 10, 11, 12, 1, 2, 3})
	f.Fuzz(runOps)
}

func runOps(t *testing.T, ops []byte) {
	{
		clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		e := New(clk)
		agents := []string{"a", "b", "c", "d"}
		strategy := Strategy(0)
		if len(ops) > 0 {
			strategy = Strategy(ops[0] % 4)
		}
		e.SetQueue(Queue{ID: "q1", Strategy: strategy, Members: agents[:3], MaxWait: 90 * time.Second,
			Overflow: "x", WrapUp: 10 * time.Second, RingTimeout: 20 * time.Second, MaxCallers: 6})
		e.SetQueue(Queue{ID: "q2", Strategy: (strategy + 1) % 4, Members: agents[1:], LeaveWhenEmpty: true,
			Overflow: "y", RingTimeout: 15 * time.Second})
		callers := 0
		// offers seen, so that answers and misses name real ones
		type offer struct{ agent, caller string }
		var seen []offer
		note := func(evs []Event, err error) {
			for _, ev := range evs {
				if ev.Kind == EventOffer {
					seen = append(seen, offer{ev.Agent, ev.Caller})
				}
			}
		}
		for i, op := range ops {
			arg := 0
			if i+1 < len(ops) {
				arg = int(ops[i+1])
			}
			a := agents[arg%len(agents)]
			switch op % 14 {
			case 0:
				callers++
				note(e.Enqueue([]string{"q1", "q2"}[arg%2], fmt.Sprint("c", callers)))
			case 1:
				note(e.Login(a), nil)
			case 2:
				note(e.Logout(a))
			case 3:
				note(e.Pause(a, "lunch"))
			case 4:
				note(e.Unpause(a))
			case 5, 6:
				if len(seen) > 0 {
					o := seen[arg%len(seen)]
					note(e.AgentAnswered(o.agent, o.caller))
				}
			case 7:
				if len(seen) > 0 {
					o := seen[arg%len(seen)]
					note(e.AgentMissed(o.agent, o.caller))
				}
			case 8:
				note(e.CallEnded(a))
			case 9:
				note(e.AgentBusy(a))
			case 10:
				note(e.AgentFree(a))
			case 11:
				note(e.Abandon(fmt.Sprint("c", 1+arg%max(callers, 1))))
			case 12:
				clk.now = clk.now.Add(time.Duration(arg) * time.Second)
				note(e.Tick(), nil)
			case 13:
				members := agents[arg%2 : 2+arg%3]
				note(e.SetQueue(Queue{ID: "q1", Strategy: Strategy(arg % 4), Members: members, MaxWait: time.Minute, Overflow: "x"}))
			}
			if err := e.invariants(); err != nil {
				t.Fatalf("after op %d (%d, arg %d): %v", i, op%14, arg, err)
			}
		}
		e.Stats("q1")
		e.Agents()
		e.NextDeadline()
	}
}

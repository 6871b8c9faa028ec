package acd

import (
	"fmt"
	"slices"
	"time"
)

// timeKey orders times with "none" last.
type timeKey struct {
	t    time.Time
	none bool
}

func (k timeKey) Compare(o timeKey) int {
	switch {
	case k.none && o.none:
		return 0
	case k.none:
		return 1
	case o.none:
		return -1
	}
	return k.t.Compare(o.t)
}

// Stats are a queue's figures since it was created.
type Stats struct {
	Entered        int // callers who called the queue
	Offered        int // offers made to agents (ring all: one per agent rung)
	Answered       int
	AnsweredWithin int // answered within the queue's ServiceLevel
	Missed         int // offers that rang out or were declined
	Abandoned      int // callers who hung up while waiting
	Overflowed     int // callers sent to the overflow route (full, no agents, max wait)
	WaitAnswered   time.Duration
	// Waiting and LongestWait describe the callers waiting now.
	Waiting     int
	LongestWait time.Duration
}

// ServiceLevel is the share of callers that left the queue who were
// answered within the queue's ServiceLevel: AnsweredWithin divided by
// Answered + Abandoned + Overflowed (0 when none left yet).
func (s Stats) ServiceLevel() float64 {
	n := s.Answered + s.Abandoned + s.Overflowed
	if n == 0 {
		return 0
	}
	return float64(s.AnsweredWithin) / float64(n)
}

// AverageWait is the mean wait of answered callers.
func (s Stats) AverageWait() time.Duration {
	if s.Answered == 0 {
		return 0
	}
	return s.WaitAnswered / time.Duration(s.Answered)
}

// Stats returns a queue's figures now.
func (e *Engine) Stats(queueID string) (Stats, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	q, ok := e.queues[queueID]
	if !ok {
		return Stats{}, fmt.Errorf("stats of %s: %w", queueID, ErrUnknownQueue)
	}
	s := q.stats
	s.Waiting = len(q.waiting)
	if len(q.waiting) > 0 {
		s.LongestWait = e.clock.Now().Sub(q.waiting[0].joined)
	}
	return s, nil
}

// AgentState is what a wallboard shows of an agent.
type AgentState struct {
	ID       string
	State    string // logged_out, paused, idle, offered, on_call, wrap_up, busy
	Reason   string // of a pause
	Queues   []string
	Answered int
	Caller   string // offered or, while on a call, nothing: the driver knows the call
}

// Agents lists every agent's state, by ID.
func (e *Engine) Agents() []AgentState {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]AgentState, 0, len(e.agents))
	for _, a := range e.agents {
		st := AgentState{ID: a.id, State: a.state(), Answered: a.answered}
		if a.paused {
			st.Reason = a.reason
		}
		if a.offer != nil {
			st.Caller = a.offer.id
		}
		for _, q := range a.queues {
			st.Queues = append(st.Queues, q.ID)
		}
		slices.Sort(st.Queues)
		out = append(out, st)
	}
	slices.SortFunc(out, func(x, y AgentState) int { return cmpString(x.ID, y.ID) })
	return out
}

// Position returns where a caller waits (1 is next) and in which queue.
func (e *Engine) Position(callerID string) (queueID string, pos int, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.callers[callerID]
	if !ok {
		return "", 0, fmt.Errorf("position of %s: %w", callerID, ErrUnknownCaller)
	}
	return c.q.ID, c.position, nil
}

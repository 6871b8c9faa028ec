package acd

import (
	"fmt"
	"slices"
	"time"
)

var timeZero time.Time

// Enqueue puts a caller (an ID of the caller's choosing, such as the SIP
// Call-ID) at the end of a queue. The events say where they are, whom to
// ring, or that the queue sends them elsewhere at once.
func (e *Engine) Enqueue(queueID, callerID string) ([]Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	q, ok := e.queues[queueID]
	if !ok {
		return nil, fmt.Errorf("enqueue %s in %s: %w", callerID, queueID, ErrUnknownQueue)
	}
	if _, ok := e.callers[callerID]; ok {
		return nil, fmt.Errorf("enqueue %s in %s: %w", callerID, queueID, ErrCallerWaiting)
	}
	q.stats.Entered++
	switch {
	case q.MaxCallers > 0 && len(q.waiting) >= q.MaxCallers:
		q.stats.Overflowed++
		e.emit(Event{Kind: EventOverflow, Queue: q.ID, Caller: callerID, Target: q.Overflow, Reason: "full"})
		return e.flush(), nil
	case q.LeaveWhenEmpty && !q.staffed():
		q.stats.Overflowed++
		e.emit(Event{Kind: EventOverflow, Queue: q.ID, Caller: callerID, Target: q.Overflow, Reason: "no_agents"})
		return e.flush(), nil
	}
	c := &caller{id: callerID, q: q, joined: e.clock.Now(), position: len(q.waiting) + 1}
	q.waiting = append(q.waiting, c)
	e.callers[callerID] = c
	e.emit(Event{Kind: EventPosition, Queue: q.ID, Caller: c.id, Position: c.position})
	e.dispatch(q)
	return e.flush(), nil
}

// Abandon: the caller hung up while waiting.
func (e *Engine) Abandon(callerID string) ([]Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.callers[callerID]
	if !ok {
		return nil, fmt.Errorf("abandon %s: %w", callerID, ErrUnknownCaller)
	}
	c.q.stats.Abandoned++
	e.remove(c)
	return e.flush(), nil
}

// staffed reports whether a member of q is logged in.
func (q *queue) staffed() bool {
	return slices.ContainsFunc(q.members, func(a *agent) bool { return a.loggedIn })
}

// remove takes c out of its queue: offers ringing for c are cancelled,
// the callers behind move up, and the freed agents are offered the next
// callers. Locked.
func (e *Engine) remove(c *caller) {
	q := c.q
	delete(e.callers, c.id)
	i := slices.Index(q.waiting, c)
	q.waiting = slices.Delete(q.waiting, i, i+1)
	for _, b := range q.waiting[i:] {
		b.position--
		e.emit(Event{Kind: EventPosition, Queue: q.ID, Caller: b.id, Position: b.position})
	}
	freed := c.offers
	c.offers = nil
	for _, a := range freed {
		a.activity, a.offer, a.until = idle, nil, timeZero
		e.emit(Event{Kind: EventCancel, Queue: q.ID, Caller: c.id, Agent: a.id})
		e.changed(a)
	}
	for _, a := range freed {
		e.dispatchAgent(a)
	}
	e.dispatch(q)
}

// overflow sends c to its queue's overflow route. Locked.
func (e *Engine) overflow(c *caller, reason string) {
	c.q.stats.Overflowed++
	e.emit(Event{Kind: EventOverflow, Queue: c.q.ID, Caller: c.id, Target: c.q.Overflow, Reason: reason})
	e.remove(c)
}

// leaveIfEmpty overflows the callers of a queue that sends them away
// while no member is logged in. Locked.
func (e *Engine) leaveIfEmpty(q *queue) {
	if !q.LeaveWhenEmpty || q.staffed() {
		return
	}
	for len(q.waiting) > 0 {
		e.overflow(q.waiting[0], "no_agents")
	}
}

// Tick acts on every deadline that has passed: callers who waited the
// maximum overflow, wrap-ups end, offers ring out.
func (e *Engine) Tick() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	for _, a := range e.sortedAgents() {
		switch {
		case a.activity == wrapUp && !now.Before(a.until):
			e.free(a)
		case a.activity == offered && !a.until.IsZero() && !now.Before(a.until):
			c := a.offer
			e.emit(Event{Kind: EventCancel, Queue: c.q.ID, Caller: c.id, Agent: a.id})
			e.missed(a, c)
		}
	}
	for _, q := range e.sortedQueues() {
		if q.MaxWait == 0 {
			continue
		}
		for len(q.waiting) > 0 && !now.Before(q.waiting[0].joined.Add(q.MaxWait)) {
			e.overflow(q.waiting[0], "max_wait")
		}
	}
	return e.flush()
}

// NextDeadline returns when Tick next has something to do; ok is false
// when nothing waits on the clock.
func (e *Engine) NextDeadline() (at time.Time, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	take := func(t time.Time) {
		if !t.IsZero() && (!ok || t.Before(at)) {
			at, ok = t, true
		}
	}
	for _, a := range e.agents {
		if a.activity == wrapUp || a.activity == offered {
			take(a.until)
		}
	}
	for _, q := range e.queues {
		if q.MaxWait > 0 && len(q.waiting) > 0 {
			take(q.waiting[0].joined.Add(q.MaxWait))
		}
	}
	return at, ok
}

// sortedAgents and sortedQueues give Tick a stable order, so that its
// events do not depend on map order. Locked.
func (e *Engine) sortedAgents() []*agent {
	out := make([]*agent, 0, len(e.agents))
	for _, a := range e.agents {
		if a.activity == wrapUp || a.activity == offered {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(x, y *agent) int { return cmpString(x.id, y.id) })
	return out
}

func (e *Engine) sortedQueues() []*queue {
	out := make([]*queue, 0, len(e.queues))
	for _, q := range e.queues {
		out = append(out, q)
	}
	slices.SortFunc(out, func(x, y *queue) int { return cmpString(x.ID, y.ID) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

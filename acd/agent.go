package acd

import (
	"fmt"
	"slices"
)

// Login makes an agent take calls of their queues (an agent not named by
// any queue yet is created, and takes calls once a queue names them).
func (e *Engine) Login(agentID string) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.agent(agentID)
	if a.loggedIn {
		return nil
	}
	a.loggedIn, a.answered, a.idleSince = true, 0, e.clock.Now()
	e.changed(a)
	e.dispatchAgent(a)
	return e.flush()
}

// Logout stops an agent taking calls. A call they are on goes on; an offer
// ringing them is cancelled and its caller offered to someone else.
func (e *Engine) Logout(agentID string) ([]Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.agents[agentID]
	if !ok {
		return nil, fmt.Errorf("logout %s: %w", agentID, ErrUnknownAgent)
	}
	if !a.loggedIn {
		return nil, nil
	}
	a.loggedIn, a.paused, a.reason = false, false, ""
	if a.activity == offered {
		e.withdraw(a, idle)
	}
	e.changed(a)
	for _, q := range a.queues {
		e.leaveIfEmpty(q)
	}
	return e.flush(), nil
}

// Pause keeps a logged-in agent from being offered calls, with a reason
// (lunch, training, …) that supervisors see. A call they are on, or one
// ringing them, goes on.
func (e *Engine) Pause(agentID, reason string) ([]Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.agents[agentID]
	if !ok || !a.loggedIn {
		return nil, fmt.Errorf("pause %s: %w", agentID, ErrUnknownAgent)
	}
	a.paused, a.reason = true, reason
	e.changed(a)
	return e.flush(), nil
}

// Unpause lets a paused agent take calls again.
func (e *Engine) Unpause(agentID string) ([]Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.agents[agentID]
	if !ok || !a.loggedIn {
		return nil, fmt.Errorf("unpause %s: %w", agentID, ErrUnknownAgent)
	}
	if !a.paused {
		return nil, nil
	}
	a.paused, a.reason = false, ""
	e.changed(a)
	e.dispatchAgent(a)
	return e.flush(), nil
}

// AgentAnswered: the agent picked up the caller's call. The caller leaves
// the queue, the agent is on the call, other agents ringing for the
// caller are cancelled.
func (e *Engine) AgentAnswered(agentID, callerID string) ([]Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, c, err := e.offerOf(agentID, callerID)
	if err != nil {
		return nil, fmt.Errorf("answered %s by %s: %w", callerID, agentID, err)
	}
	now := e.clock.Now()
	q := c.q
	q.stats.Answered++
	wait := now.Sub(c.joined)
	q.stats.WaitAnswered += wait
	if q.ServiceLevel == 0 || wait <= q.ServiceLevel {
		q.stats.AnsweredWithin++
	}
	c.offers = slices.DeleteFunc(c.offers, func(x *agent) bool { return x == a })
	a.activity, a.offer, a.call = onCall, nil, q
	a.answered++
	e.changed(a)
	e.remove(c) // cancels the other offers, which dispatches again
	return e.flush(), nil
}

// AgentMissed: the offer rang out, or the agent declined or was busy. The
// agent is free again; the caller is offered to the others first.
func (e *Engine) AgentMissed(agentID, callerID string) ([]Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, c, err := e.offerOf(agentID, callerID)
	if err != nil {
		return nil, fmt.Errorf("missed %s by %s: %w", callerID, agentID, err)
	}
	e.missed(a, c)
	return e.flush(), nil
}

// missed ends a's offer of c without a cancel (the phone stopped ringing
// by itself). Locked.
func (e *Engine) missed(a *agent, c *caller) {
	c.offers = slices.DeleteFunc(c.offers, func(x *agent) bool { return x == a })
	if c.tried == nil {
		c.tried = map[*agent]int{}
	}
	c.tried[a]++
	c.q.stats.Missed++
	a.activity, a.offer = idle, nil
	e.changed(a)
	e.dispatchAgent(a)
	e.dispatch(c.q)
}

// CallEnded: the agent's queue call is over. Wrap-up starts (the queue's
// WrapUp), after which the agent is offered the next caller.
func (e *Engine) CallEnded(agentID string) ([]Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.agents[agentID]
	if !ok || a.activity != onCall {
		return nil, fmt.Errorf("call ended for %s: %w", agentID, ErrUnknownAgent)
	}
	if a.call != nil && a.call.WrapUp > 0 {
		a.activity, a.until = wrapUp, e.clock.Now().Add(a.call.WrapUp)
		e.changed(a)
		return e.flush(), nil
	}
	e.free(a)
	return e.flush(), nil
}

// AgentBusy: the agent's phone is on a call that is not the queue's, so
// they are offered nothing until AgentFree.
func (e *Engine) AgentBusy(agentID string) ([]Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.agents[agentID]
	if !ok {
		return nil, fmt.Errorf("busy %s: %w", agentID, ErrUnknownAgent)
	}
	if a.activity == offered {
		e.withdraw(a, busy)
	}
	a.activity = busy
	e.changed(a)
	return e.flush(), nil
}

// AgentFree ends an agent's other call or their wrap-up early (the agent
// pressed "ready"): they are offered the next caller now.
func (e *Engine) AgentFree(agentID string) ([]Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.agents[agentID]
	if !ok {
		return nil, fmt.Errorf("free %s: %w", agentID, ErrUnknownAgent)
	}
	if a.activity == busy || a.activity == wrapUp {
		e.free(a)
	}
	return e.flush(), nil
}

// free makes a the agent idle after a call and offers them the next
// caller. Locked.
func (e *Engine) free(a *agent) {
	wasQueueCall := a.activity == wrapUp || a.activity == onCall
	a.activity, a.call, a.until = idle, nil, timeZero
	if wasQueueCall {
		a.idleSince = e.clock.Now()
	}
	e.changed(a)
	e.dispatchAgent(a)
}

// offerOf finds the offer of caller c to agent a. Locked.
func (e *Engine) offerOf(agentID, callerID string) (*agent, *caller, error) {
	a, ok := e.agents[agentID]
	if !ok {
		return nil, nil, ErrUnknownAgent
	}
	c, ok := e.callers[callerID]
	if !ok {
		return nil, nil, ErrUnknownCaller
	}
	if a.activity != offered || a.offer != c {
		return nil, nil, ErrNoOffer
	}
	return a, c, nil
}

// withdraw cancels the offer ringing a, puts a in activity next, and
// offers its caller again. Locked.
func (e *Engine) withdraw(a *agent, next activity) {
	c := a.offer
	c.offers = slices.DeleteFunc(c.offers, func(x *agent) bool { return x == a })
	a.activity, a.offer, a.until = next, nil, timeZero
	e.emit(Event{Kind: EventCancel, Queue: c.q.ID, Caller: c.id, Agent: a.id})
	e.dispatch(c.q)
	e.dispatchAgent(a) // taken out of c's queue, a may serve another
}

package acd

import "slices"

// dispatch offers the callers of q, oldest first, to its available
// members by the queue's strategy, until callers or agents run out.
// Locked.
func (e *Engine) dispatch(q *queue) {
	for _, c := range q.waiting {
		if !q.anyAvailable() {
			return
		}
		if q.Strategy != RingAll && len(c.offers) > 0 {
			continue // one agent at a time rings for this caller
		}
		if q.Strategy == RingAll {
			for _, a := range q.candidates(c) {
				e.offer(a, c)
			}
			if len(c.offers) > 0 {
				return // ring all: the head caller takes everyone free
			}
			continue
		}
		if a := q.pick(c); a != nil {
			e.offer(a, c)
		}
	}
}

// dispatchAgent offers an agent who just became available to the queue
// whose unserved caller has waited longest. Locked.
func (e *Engine) dispatchAgent(a *agent) {
	if !a.available() {
		return
	}
	qs := slices.Clone(a.queues)
	slices.SortStableFunc(qs, func(x, y *queue) int { return x.oldest().Compare(y.oldest()) })
	for _, q := range qs {
		if !a.available() {
			return
		}
		if len(q.waiting) > 0 {
			e.dispatch(q)
		}
	}
}

// oldest is when the longest-waiting caller of q joined; queues without
// callers sort last.
func (q *queue) oldest() (t timeKey) {
	if len(q.waiting) == 0 {
		return timeKey{none: true}
	}
	return timeKey{t: q.waiting[0].joined}
}

func (q *queue) anyAvailable() bool { return slices.ContainsFunc(q.members, (*agent).available) }

// candidates are the available members c has not yet missed; once c has
// been missed by every one of them, all of them again.
func (q *queue) candidates(c *caller) []*agent {
	var out, all []*agent
	for _, a := range q.members {
		if !a.available() {
			continue
		}
		all = append(all, a)
		if c.tried[a] == 0 {
			out = append(out, a)
		}
	}
	if len(out) == 0 && len(all) > 0 {
		clear(c.tried)
		return all
	}
	return out
}

// pick chooses one member for c by the queue's strategy, or nil.
func (q *queue) pick(c *caller) *agent {
	cands := q.candidates(c)
	if len(cands) == 0 {
		return nil
	}
	switch q.Strategy {
	case RoundRobin:
		n := len(q.members)
		for k := 1; k <= n; k++ {
			i := (q.rr + k) % n
			if i < 0 {
				i += n
			}
			if slices.Contains(cands, q.members[i]) {
				q.rr = i
				return q.members[i]
			}
		}
		return nil
	case FewestCalls:
		best := cands[0]
		for _, a := range cands[1:] {
			if a.answered < best.answered || a.answered == best.answered && a.idleSince.Before(best.idleSince) {
				best = a
			}
		}
		return best
	}
	best := cands[0] // LongestIdle
	for _, a := range cands[1:] {
		if a.idleSince.Before(best.idleSince) {
			best = a
		}
	}
	return best
}

// offer rings a for c. Locked.
func (e *Engine) offer(a *agent, c *caller) {
	a.activity, a.offer = offered, c
	a.until = timeZero
	if c.q.RingTimeout > 0 {
		a.until = e.clock.Now().Add(c.q.RingTimeout)
	}
	c.offers = append(c.offers, a)
	c.q.stats.Offered++
	e.emit(Event{Kind: EventOffer, Queue: c.q.ID, Caller: c.id, Agent: a.id})
	e.changed(a)
}

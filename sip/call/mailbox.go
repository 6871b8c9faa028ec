package call

import "sync"

// Mailbox is the event queue of an actor (a call, a page): the one
// goroutine that owns the actor's state takes its events; every other
// goroutine only posts. It is unbounded, so that posting never blocks a
// SIP handler.
//
// An actor with nothing to wait for but its events may park: its
// goroutine returns, and the next post starts another (resume) that takes
// the events. A held call then keeps no goroutine, nor its stack, which
// handling the call's setup grew to 8-16 KiB.
type Mailbox struct {
	Mu     sync.Mutex
	Queue  []any
	Closed bool          // the actor is over: posts are refused
	parked bool          // the actor's goroutine returned: a post starts resume
	Wake   chan struct{} // signalled, never blocking, when an event comes
	resume func()        // the actor's goroutine after a park (park sets it)
}

func NewMailbox() Mailbox { return Mailbox{Wake: make(chan struct{}, 1)} }

// Post queues an event; false when the actor is over.
func (m *Mailbox) Post(ev any) bool {
	m.Mu.Lock()
	if m.Closed {
		m.Mu.Unlock()
		return false
	}
	m.Queue = append(m.Queue, ev)
	parked := m.parked
	m.parked = false
	m.Mu.Unlock()
	select {
	case m.Wake <- struct{}{}:
	default:
	}
	if parked {
		go m.resume()
	}
	return true
}

// TakeEvents returns the events queued so far, oldest first.
func (m *Mailbox) TakeEvents() []any {
	m.Mu.Lock()
	defer m.Mu.Unlock()
	q := m.Queue
	m.Queue = nil
	return q
}

// park has the actor's goroutine return, resume to run on the next post;
// false, and no park, when events are queued already.
func (m *Mailbox) park(resume func()) bool {
	m.Mu.Lock()
	defer m.Mu.Unlock()
	if len(m.Queue) > 0 {
		return false
	}
	m.parked, m.resume = true, resume
	return true
}

// drain refuses later posts and returns the events still queued, which
// the actor answers as it ends.
func (m *Mailbox) drain() []any {
	m.Mu.Lock()
	defer m.Mu.Unlock()
	m.Closed = true
	rest := m.Queue
	m.Queue = nil
	return rest
}

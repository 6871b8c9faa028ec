package call

import "sync"

// Mailbox is the event queue of an actor (a call, a page): the one
// goroutine that owns the actor's state takes its events; every other
// goroutine only posts. It is unbounded, so that posting never blocks a
// SIP handler.
type Mailbox struct {
	Mu     sync.Mutex
	Queue  []any
	Closed bool          // the actor is over: posts are refused
	Wake   chan struct{} // signalled, never blocking, when an event comes
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
	m.Mu.Unlock()
	select {
	case m.Wake <- struct{}{}:
	default:
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

package sip

import "sync"

// mailbox is the event queue of an actor (a call, a page): the one
// goroutine that owns the actor's state takes its events; every other
// goroutine only posts. It is unbounded, so that posting never blocks a
// SIP handler.
type mailbox struct {
	mu     sync.Mutex
	queue  []any
	closed bool          // the actor is over: posts are refused
	wake   chan struct{} // signalled, never blocking, when an event comes
}

func newMailbox() mailbox { return mailbox{wake: make(chan struct{}, 1)} }

// post queues an event; false when the actor is over.
func (m *mailbox) post(ev any) bool {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return false
	}
	m.queue = append(m.queue, ev)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return true
}

// takeEvents returns the events queued so far, oldest first.
func (m *mailbox) takeEvents() []any {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queue
	m.queue = nil
	return q
}

// drain refuses later posts and returns the events still queued, which
// the actor answers as it ends.
func (m *mailbox) drain() []any {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	rest := m.queue
	m.queue = nil
	return rest
}

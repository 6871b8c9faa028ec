package sip

// Questions the core asks the rooms beyond rooms.go's, first needed by
// transfer: the forks a room's dialers started (the busy lamps show those
// ringing, teardown ends them all), and whether a room has a transaction
// of its own open on a leg (then the legs may not change hands).

// forkKeeper is a room whose dialers rang someone.
type forkKeeper interface {
	// ringingForks are the forks that may ring now (the core shows those
	// without a final response on the targets' lamps).
	ringingForks() []*fork
	// allForks are every fork the room's dialers started.
	allForks() []*fork
}

// transactionRoom is a room that may have a transaction of its own open on
// a leg (a transfer under way).
type transactionRoom interface {
	transactionOpen() bool
}

// roomRingingForks returns the forks of the rooms that may ring now.
func (c *call) roomRingingForks() []*fork {
	var forks []*fork
	for _, r := range c.rooms {
		if k, ok := r.(forkKeeper); ok {
			forks = append(forks, k.ringingForks()...)
		}
	}
	return forks
}

// roomForks returns every fork the rooms' dialers started.
func (c *call) roomForks() []*fork {
	var forks []*fork
	for _, r := range c.rooms {
		if k, ok := r.(forkKeeper); ok {
			forks = append(forks, k.allForks()...)
		}
	}
	return forks
}

// roomTransactionOpen reports whether a room has a transaction of its own
// open on a leg.
func (c *call) roomTransactionOpen() bool {
	for _, r := range c.rooms {
		if t, ok := r.(transactionRoom); ok && t.transactionOpen() {
			return true
		}
	}
	return false
}

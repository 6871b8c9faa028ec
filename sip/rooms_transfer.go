package sip

import "github.com/switchboard-pbx/switchboard/sip/dial"

// Questions the core asks the rooms beyond rooms.go's, first needed by
// transfer: the forks a room's dialers started (the busy lamps show those
// ringing, teardown ends them all), and whether a room has a transaction
// of its own open on a leg (then the legs may not change hands).

// forkKeeper is a room whose dialers rang someone.
type forkKeeper interface {
	// ringingForks are the forks that may ring now (the core shows those
	// without a final response on the targets' lamps).
	ringingForks() []*dial.Fork
	// allForks are every fork the room's dialers started.
	allForks() []*dial.Fork
}

// transactionRoom is a room that may have a transaction of its own open on
// a leg (a transfer under way).
type transactionRoom interface {
	transactionOpen() bool
}

// ringingForks returns the forks of the rooms that may ring now.
func (rs *roomSet) ringingForks() []*dial.Fork {
	var forks []*dial.Fork
	for _, r := range *rs {
		if k, ok := r.(forkKeeper); ok {
			forks = append(forks, k.ringingForks()...)
		}
	}
	return forks
}

// allForks returns every fork the rooms' dialers started.
func (rs *roomSet) allForks() []*dial.Fork {
	var forks []*dial.Fork
	for _, r := range *rs {
		if k, ok := r.(forkKeeper); ok {
			forks = append(forks, k.allForks()...)
		}
	}
	return forks
}

// transactionOpen reports whether a room has a transaction of its own
// open on a leg.
func (rs *roomSet) transactionOpen() bool {
	for _, r := range *rs {
		if t, ok := r.(transactionRoom); ok && t.transactionOpen() {
			return true
		}
	}
	return false
}

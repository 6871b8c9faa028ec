package call

import "github.com/switchboard-pbx/switchboard/sip/dial"

// Questions the core asks the rooms beyond rooms.go's, first needed by
// transfer: the forks a room's dialers started (the busy lamps show those
// ringing, teardown ends them all), and whether a room has a transaction
// of its own open on a leg (then the legs may not change hands).

// ForkKeeper is a room whose dialers rang someone.
type ForkKeeper interface {
	// RingingForks are the forks that may ring now (the core shows those
	// without a final response on the targets' lamps).
	RingingForks() []*dial.Fork
	// AllForks are every fork the room's dialers started.
	AllForks() []*dial.Fork
}

// TransactionRoom is a room that may have a transaction of its own open on
// a leg (a transfer under way).
type TransactionRoom interface {
	TransactionOpen() bool
}

// RingingForks returns the forks of the rooms that may ring now.
func (rs *roomSet) RingingForks() []*dial.Fork {
	var forks []*dial.Fork
	for _, r := range *rs {
		if k, ok := r.(ForkKeeper); ok {
			forks = append(forks, k.RingingForks()...)
		}
	}
	return forks
}

// AllForks returns every fork the rooms' dialers started.
func (rs *roomSet) AllForks() []*dial.Fork {
	var forks []*dial.Fork
	for _, r := range *rs {
		if k, ok := r.(ForkKeeper); ok {
			forks = append(forks, k.AllForks()...)
		}
	}
	return forks
}

// TransactionOpen reports whether a room has a transaction of its own
// open on a leg.
func (rs *roomSet) TransactionOpen() bool {
	for _, r := range *rs {
		if t, ok := r.(TransactionRoom); ok && t.TransactionOpen() {
			return true
		}
	}
	return false
}

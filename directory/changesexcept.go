package directory

import "context"

// ChangesExcepter is offered by a Store that can leave out of a read of the
// change log the binding changes one node logged: a node has its own
// bindings in memory, and at thousands of registrations a second their
// changes are most of the log.
type ChangesExcepter interface {
	// ChangesExcept reads up to limit entries with Seq > after, oldest
	// first, and returns them less the ChangeBinding entries of node, with
	// the Seq of the last entry read (after when none): the next read
	// starts there.
	ChangesExcept(ctx context.Context, after int64, limit int, node string) (cs []Change, last int64, err error)
}

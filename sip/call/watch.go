package call

import (
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/sip/dial"
)

// watched is the one fork transaction the call's actor reads itself
// (dial.Env.Watch): its run selects on the transaction's responses and
// end, as a watcher goroutine would, and handles what it reads at once.
// A call rings one phone most of the time; that fork's 180 and 200 then
// go from sipgo's goroutine straight to the actor, with no watcher
// goroutine started and woken in between. Any other fork the call's
// dialers start meanwhile gets a watcher, as before.
type watched struct {
	fork *dial.Fork
	tx   sip.ClientTransaction
}

// watch takes tx, f's new transaction, for the actor to read, unless it
// reads another already. Only the actor calls it (a dialer's send), or
// the call's maker before the actor starts.
func (c *Call) watch(f *dial.Fork, tx sip.ClientTransaction) bool {
	if c.watched.tx != nil {
		return false
	}
	c.watched = watched{fork: f, tx: tx}
	return true
}

// watchChans are the channels the actor selects on for the transaction it
// reads; nil, which never fires, when it reads none.
func (c *Call) watchChans() (<-chan *sip.Response, <-chan struct{}) {
	if c.watched.tx == nil {
		return nil, nil
	}
	return c.watched.tx.Responses(), c.watched.tx.Done()
}

// onWatched handles res, read from the watched transaction, as the
// watcher's posted event would be; a final response ends the watch.
func (c *Call) onWatched(res *sip.Response) {
	w := c.watched
	final := !res.IsProvisional()
	if final {
		// Cleared first: handling a challenge sends the fork again, and
		// its new transaction may be watched in turn.
		c.watched = watched{}
	}
	c.handle(&dial.ResponseEvent{Fork: w.fork, Tx: w.tx, Res: res})
	if final {
		w.fork.TellEnd(w.tx)
	}
}

// watchedEnded handles the end of the watched transaction before a final
// response.
func (c *Call) watchedEnded() {
	w := c.watched
	c.watched = watched{}
	c.handle(&dial.TxDoneEvent{Fork: w.fork, Tx: w.tx, Err: w.tx.Err()})
}

// unwatch hands the transaction the actor still reads, as it ends, to a
// watcher goroutine: whatever comes of it then goes where it went before,
// and teardown waits for that watcher as for the others.
func (c *Call) unwatch() {
	if w := c.watched; w.tx != nil {
		c.watched = watched{}
		w.fork.Watch(w.tx)
	}
}

package sip

import (
	"errors"
	"sync"
)

// callTable is the calls in progress, filed by the Call-ID of each of
// their legs, and the call slots each extension holds (an extension's
// calls count against its limit from the first ring to the end). SIP
// handlers find a call here and post it an event; the call's actor files
// and unfiles itself. mu guards calls, perExt and closing; a call's slots
// (call.slots) are written only under mu, by its actor.
type callTable struct {
	mu        sync.Mutex
	calls     map[string]*call // by the Call-ID of either leg
	perExt    map[string]int   // calls in progress per extension
	closing   bool
	maxPerExt int            // an extension's call limit
	wg        sync.WaitGroup // call actors
}

func newCallTable(maxPerExt int) callTable {
	return callTable{calls: make(map[string]*call), perExt: make(map[string]int), maxPerExt: maxPerExt}
}

// active returns the number of calls in progress.
func (t *callTable) active() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for id, c := range t.calls {
		if c.id == id {
			n++
		}
	}
	return n
}

func (t *callTable) lookup(callID string) *call {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls[callID]
}

// add files c under its A-leg Call-ID and takes a call slot for each
// extension in exts. It fails when the Call-ID is already known (a loop)
// or the server is shutting down.
func (t *callTable) add(c *call) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return errors.New("shutting down")
	}
	if _, ok := t.calls[c.id]; ok {
		return errLoop
	}
	t.calls[c.id] = c
	t.wg.Add(1)
	return nil
}

var errLoop = errors.New("call-id in use")

func (t *callTable) alias(callID string, c *call) {
	t.mu.Lock()
	t.calls[callID] = c
	t.mu.Unlock()
}

// unalias drops callID from the call table if it names c.
func (t *callTable) unalias(callID string, c *call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.calls[callID] == c {
		delete(t.calls, callID)
	}
}

// aliasIfFiled files callID under c unless c is gone from the table
// already (it ended while another call handed it a leg).
func (t *callTable) aliasIfFiled(callID string, c *call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.calls[c.id] == c {
		t.calls[callID] = c
	}
}

func (t *callTable) remove(c *call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, x := range t.calls {
		if x == c {
			delete(t.calls, id)
		}
	}
	for _, ext := range c.slots {
		if t.perExt[ext]--; t.perExt[ext] <= 0 {
			delete(t.perExt, ext)
		}
	}
	c.slots = nil
}

// slotsHeld returns the number of call slots held over all extensions.
func (t *callTable) slotsHeld() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, k := range t.perExt {
		n += k
	}
	return n
}

// busy reports whether ext has reached its call limit.
func (t *callTable) busy(ext string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.perExt[ext] >= t.maxPerExt
}

// inCall reports whether ext takes part in a call now.
func (t *callTable) inCall(ext string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.perExt[ext] > 0
}

// take counts a call for each of exts (once each).
func (t *callTable) take(c *call, exts ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ext := range exts {
		if ext == "" || containsStr(c.slots, ext) {
			continue
		}
		t.perExt[ext]++
		c.slots = append(c.slots, ext)
	}
}

// takeNew counts a call for each of exts it does not hold yet and returns
// those.
func (t *callTable) takeNew(c *call, exts ...string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, ext := range exts {
		if ext == "" || containsStr(c.slots, ext) {
			continue
		}
		t.perExt[ext]++
		c.slots = append(c.slots, ext)
		out = append(out, ext)
	}
	return out
}

// swap moves c's call slot of ext out to ext in; out stays held while
// a party of c is still ext out.
func (t *callTable) swap(c *call, out, in string) {
	var keep []string
	for _, p := range c.parties {
		keep = append(keep, p.ext)
	}
	if out != "" && !containsStr(keep, out) {
		t.release(c, out)
	}
	t.take(c, in)
}

// release gives back the call slots of exts that c holds.
func (t *callTable) release(c *call, exts ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ext := range exts {
		i := -1
		for j, s := range c.slots {
			if s == ext {
				i = j
				break
			}
		}
		if i < 0 {
			continue
		}
		c.slots = append(c.slots[:i], c.slots[i+1:]...)
		if t.perExt[ext]--; t.perExt[ext] <= 0 {
			delete(t.perExt, ext)
		}
	}
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

package call

import (
	"errors"
	"slices"
	"sync"
)

// callTable is the calls in progress, filed by the Call-ID of each of
// their legs, and the call slots each extension holds (an extension's
// calls count against its limit from the first ring to the end). SIP
// handlers find a call here and post it an event; the call's actor files
// and unfiles itself. mu guards calls, perExt and closing; a call's slots
// (call.slots) are written only under mu, by its actor.
type callTable struct {
	Mu        sync.Mutex
	Calls     map[string]*Call // by the Call-ID of either leg
	PerExt    map[string]int   // calls in progress per extension
	active    int              // calls filed (add), each under its own Call-ID among others
	closing   bool
	maxPerExt int            // an extension's call limit
	WG        sync.WaitGroup // call actors
}

func newCallTable(maxPerExt int) callTable {
	return callTable{Calls: make(map[string]*Call), PerExt: make(map[string]int), maxPerExt: maxPerExt}
}

// Active returns the number of calls in progress.
func (t *callTable) Active() int {
	t.Mu.Lock()
	defer t.Mu.Unlock()
	return t.active
}

func (t *callTable) Lookup(callID string) *Call {
	t.Mu.Lock()
	defer t.Mu.Unlock()
	return t.Calls[callID]
}

// add files c under its A-leg Call-ID and takes a call slot for each
// extension in exts. It fails when the Call-ID is already known (a loop)
// or the server is shutting down.
func (t *callTable) add(c *Call) error {
	t.Mu.Lock()
	defer t.Mu.Unlock()
	if t.closing {
		return errors.New("shutting down")
	}
	if _, ok := t.Calls[c.ID]; ok {
		return errLoop
	}
	t.Calls[c.ID] = c
	c.filed = append(c.filed, c.ID)
	t.active++
	t.WG.Add(1)
	return nil
}

var errLoop = errors.New("call-id in use")

func (t *callTable) Alias(callID string, c *Call) {
	t.Mu.Lock()
	t.file(callID, c)
	t.Mu.Unlock()
}

// file files c under callID too; t.Mu is held. A Call-ID filed under
// another call before is that call's no more.
func (t *callTable) file(callID string, c *Call) {
	t.Calls[callID] = c
	if !slices.Contains(c.filed, callID) {
		c.filed = append(c.filed, callID)
	}
}

// Unalias drops callID from the call table if it names c.
func (t *callTable) Unalias(callID string, c *Call) {
	t.Mu.Lock()
	defer t.Mu.Unlock()
	if t.Calls[callID] == c {
		delete(t.Calls, callID)
	}
}

// AliasIfFiled files callID under c unless c is gone from the table
// already (it ended while another call handed it a leg).
func (t *callTable) AliasIfFiled(callID string, c *Call) {
	t.Mu.Lock()
	defer t.Mu.Unlock()
	if t.Calls[c.ID] == c {
		t.file(callID, c)
	}
}

func (t *callTable) remove(c *Call) {
	t.Mu.Lock()
	defer t.Mu.Unlock()
	// Only the Call-IDs c was filed under: the table may hold thousands.
	for _, id := range c.filed {
		if t.Calls[id] == c {
			delete(t.Calls, id)
		}
	}
	if len(c.filed) > 0 {
		t.active--
	}
	c.filed = nil
	for _, ext := range c.slots {
		if t.PerExt[ext]--; t.PerExt[ext] <= 0 {
			delete(t.PerExt, ext)
		}
	}
	c.slots = nil
}

// SlotsHeld returns the number of call slots held over all extensions.
func (t *callTable) SlotsHeld() int {
	t.Mu.Lock()
	defer t.Mu.Unlock()
	n := 0
	for _, k := range t.PerExt {
		n += k
	}
	return n
}

// Busy reports whether ext has reached its call limit.
func (t *callTable) Busy(ext string) bool {
	t.Mu.Lock()
	defer t.Mu.Unlock()
	return t.PerExt[ext] >= t.maxPerExt
}

// InCall reports whether ext takes part in a call now.
func (t *callTable) InCall(ext string) bool {
	t.Mu.Lock()
	defer t.Mu.Unlock()
	return t.PerExt[ext] > 0
}

// Take counts a call for each of exts (once each).
func (t *callTable) Take(c *Call, exts ...string) {
	t.Mu.Lock()
	defer t.Mu.Unlock()
	for _, ext := range exts {
		if ext == "" || slices.Contains(c.slots, ext) {
			continue
		}
		t.PerExt[ext]++
		c.slots = append(c.slots, ext)
	}
}

// TakeNew counts a call for each of exts it does not hold yet and returns
// those.
func (t *callTable) TakeNew(c *Call, exts ...string) []string {
	t.Mu.Lock()
	defer t.Mu.Unlock()
	var out []string
	for _, ext := range exts {
		if ext == "" || slices.Contains(c.slots, ext) {
			continue
		}
		t.PerExt[ext]++
		c.slots = append(c.slots, ext)
		out = append(out, ext)
	}
	return out
}

// Swap moves c's call slot of ext out to ext in; out stays held while
// a party of c is still ext out.
func (t *callTable) Swap(c *Call, out, in string) {
	var keep []string
	for _, p := range c.Parties {
		keep = append(keep, p.Ext)
	}
	if out != "" && !slices.Contains(keep, out) {
		t.Release(c, out)
	}
	t.Take(c, in)
}

// Release gives back the call slots of exts that c holds.
func (t *callTable) Release(c *Call, exts ...string) {
	t.Mu.Lock()
	defer t.Mu.Unlock()
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
		if t.PerExt[ext]--; t.PerExt[ext] <= 0 {
			delete(t.PerExt, ext)
		}
	}
}

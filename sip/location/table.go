package location

import (
	"cmp"
	"context"
	"hash/maphash"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/clock"
)

// Table is the location service: the bindings of every extension, in
// memory for speed and persisted through the directory store so that a
// restart keeps them and other nodes see them. Its bindingWriter writes
// them (writes.go); writes the store cannot take (ErrUnavailable) are held
// in order and flushed when it answers again.
type Table struct {
	store   directory.BindingStore
	node    string
	clock   clock.Clock
	log     *slog.Logger
	timeout time.Duration

	mu    sync.Mutex
	exts  map[string]*extBindings
	bySrc map[netip.Addr]int // bindings per source IP, for the guard
	byAdr map[string]int     // bindings per source ip:port, for TCP idle limits
	// onReg, when set (OnRegistered), is told when an extension gets its
	// first binding or loses its last; it runs under mu and must not block.
	onReg func(ext string, registered bool)

	// Serialises the registrations of one extension (read, decide, write).
	stripes [64]sync.Mutex
	seed    maphash.Seed

	// later holds refreshes written behind (later.go), under mu.
	later map[laterKey]directory.Binding

	writes *bindingWriter // to the store, in order (writes.go)
}

type extBindings struct {
	gen  uint64 // bumped by every local change, so a reload never undoes one
	list []directory.Binding
	// stored is what the store holds of list's bindings, as far as this
	// node wrote or read it (later.go).
	stored []storedCopy
}

// New returns an empty table whose bindings are stored in store as made by
// node; every store call is given timeout.
func New(store directory.BindingStore, node string, c clock.Clock, log *slog.Logger, timeout time.Duration) *Table {
	return &Table{store: store, node: node, clock: c, log: log, timeout: timeout,
		exts: make(map[string]*extBindings), bySrc: make(map[netip.Addr]int), byAdr: make(map[string]int),
		seed: maphash.MakeSeed(), writes: &bindingWriter{store: store, log: log, timeout: timeout}}
}

// OnRegistered has f told when an extension gets its first binding or
// loses its last. Set it before the table is used; f runs under the
// table's lock and must not block.
func (l *Table) OnRegistered(f func(ext string, registered bool)) {
	l.mu.Lock()
	l.onReg = f
	l.mu.Unlock()
}

// Lock serialises changes to the bindings of ext (a registration reads,
// decides and writes under it) and returns the function that unlocks.
func (l *Table) Lock(ext string) (unlock func()) {
	m := &l.stripes[maphash.String(l.seed, ext)%uint64(len(l.stripes))]
	m.Lock()
	return m.Unlock
}

// TryLock is Lock without the wait, for a caller that must not wait (a
// socket's reader): nil when the lock is held.
func (l *Table) TryLock(ext string) (unlock func()) {
	m := &l.stripes[maphash.String(l.seed, ext)%uint64(len(l.stripes))]
	if !m.TryLock() {
		return nil
	}
	return m.Unlock
}

// Current returns the unexpired bindings of ext.
func (l *Table) Current(ext string) []directory.Binding {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.exts[ext]
	if e == nil {
		return nil
	}
	out := make([]directory.Binding, 0, len(e.list))
	for _, b := range e.list {
		if b.Expires.After(now) {
			out = append(out, b)
		}
	}
	return out
}

// All returns every unexpired binding, by extension and contact.
func (l *Table) All() []directory.Binding {
	now := l.clock.Now()
	l.mu.Lock()
	var out []directory.Binding
	for _, e := range l.exts {
		for _, b := range e.list {
			if b.Expires.After(now) {
				out = append(out, b)
			}
		}
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b directory.Binding) int {
		return cmp.Or(cmp.Compare(a.Extension, b.Extension), cmp.Compare(a.Contact, b.Contact))
	})
	return out
}

// Count returns the number of unexpired bindings and of extensions that
// hold at least one.
func (l *Table) Count() (bindings, extensions int) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.exts {
		n := 0
		for _, b := range e.list {
			if b.Expires.After(now) {
				n++
			}
		}
		bindings += n
		if n > 0 {
			extensions++
		}
	}
	return bindings, extensions
}

// Registered reports whether ip holds a binding.
func (l *Table) Registered(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bySrc[ip.Unmap()] > 0
}

// RegisteredExt reports whether ip holds a current binding of ext.
func (l *Table) RegisteredExt(ip netip.Addr, ext string) bool {
	ip = ip.Unmap()
	for _, b := range l.Current(ext) {
		if src, err := netip.ParseAddrPort(b.Source); err == nil && src.Addr().Unmap() == ip {
			return true
		}
	}
	return false
}

// Commit persists a registration's changes and then makes next the bindings
// of ext. Call it holding Lock(ext). all deletes every binding of ext in
// the store, those of other nodes included (Contact: *).
func (l *Table) Commit(ctx context.Context, ext string, next, puts, dels []directory.Binding, all bool) {
	ws := make([]heldWrite, 0, len(dels)+len(puts)+1)
	if all {
		ws = append(ws, heldWrite{kind: heldDeleteAll, b: directory.Binding{Extension: ext, Node: l.node}})
	}
	for _, b := range dels {
		ws = append(ws, heldWrite{kind: heldDelete, b: b})
	}
	for _, b := range puts {
		ws = append(ws, heldWrite{kind: heldPut, b: b})
	}
	l.writes.persist(ctx, ws)
	l.mu.Lock()
	l.forgetLaterLocked(ext, all, dels)
	l.forgetLaterLocked(ext, false, puts)
	l.setLocked(ext, next, true)
	e := l.exts[ext]
	if all {
		e.stored = nil
	}
	for _, b := range dels {
		e.dropStored(b.Contact)
	}
	for _, b := range puts {
		e.setStored(b)
	}
	l.mu.Unlock()
}

// Drop forgets every binding of ext at once (its user was deleted) and
// makes sure the store has none left either.
func (l *Table) Drop(ctx context.Context, ext string) {
	unlock := l.Lock(ext)
	defer unlock()
	l.mu.Lock()
	n := 0
	if e := l.exts[ext]; e != nil {
		n = len(e.list)
	}
	l.setLocked(ext, nil, true)
	l.exts[ext].stored = nil
	l.forgetLaterLocked(ext, true, nil)
	l.mu.Unlock()
	if n == 0 {
		return // the store deleted them with the user
	}
	l.log.Info("registrations dropped", "ext", ext, "bindings", n)
	// The store dropped them with the user; this catches a registration
	// that raced with the deletion.
	l.writes.persist(ctx, []heldWrite{{kind: heldDeleteAll, b: directory.Binding{Extension: ext, Node: l.node}}})
}

// setLocked replaces the bindings of ext and keeps bySrc in step.
func (l *Table) setLocked(ext string, next []directory.Binding, local bool) {
	e := l.exts[ext]
	if e == nil {
		if len(next) == 0 && !local {
			return
		}
		e = &extBindings{}
		l.exts[ext] = e
	}
	if was, is := len(e.list) > 0, len(next) > 0; was != is && l.onReg != nil {
		l.onReg(ext, is)
	}
	for _, b := range e.list {
		l.srcAddLocked(b.Source, -1)
	}
	e.list = next
	for _, b := range next {
		l.srcAddLocked(b.Source, 1)
	}
	if local {
		e.gen++
	}
	if len(next) == 0 && !local {
		delete(l.exts, ext)
	}
}

func (l *Table) srcAddLocked(source string, d int) {
	if n := l.byAdr[source] + d; n > 0 {
		l.byAdr[source] = n
	} else {
		delete(l.byAdr, source)
	}
	ap, err := netip.ParseAddrPort(source)
	if err != nil {
		return
	}
	ip := ap.Addr().Unmap()
	if n := l.bySrc[ip] + d; n > 0 {
		l.bySrc[ip] = n
	} else {
		delete(l.bySrc, ip)
	}
}

// HasConnection reports whether a binding came in from src (ip:port): a
// connection's peer address is unique while it is open. (A phone
// registered over UDP from the same ip:port also counts: it holds valid
// credentials all the same.)
func (l *Table) HasConnection(src string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byAdr[src] > 0
}

// Index returns the position of contact's binding in list, -1 if none.
func Index(list []directory.Binding, contact string) int {
	for i := range list {
		if list[i].Contact == contact {
			return i
		}
	}
	return -1
}

// Held returns the number of binding writes waiting for the store.
func (l *Table) Held() int { return l.writes.held() }

// Flush writes the held binding writes in order and reports whether none
// is left.
func (l *Table) Flush(ctx context.Context) bool { return l.writes.flush(ctx) }

// Queued returns how many writes wait for the group commit in progress to
// end (they make the next one).
func (l *Table) Queued() int { return l.writes.queued() }

// Reload replaces the bindings of exts (all of them when exts is nil) with
// what the store holds, except for extensions changed locally meanwhile.
func (l *Table) Reload(ctx context.Context, exts map[string]bool) error {
	if l.Held() > 0 {
		return nil // the store is behind us until the held writes are in
	}
	l.mu.Lock()
	gens := make(map[string]uint64, len(l.exts))
	for ext, e := range l.exts {
		gens[ext] = e.gen
	}
	l.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	list, err := l.store.Bindings(ctx, l.clock.Now())
	if err != nil {
		return err
	}
	byExt := make(map[string][]directory.Binding)
	for _, b := range list {
		if exts == nil || exts[b.Extension] {
			byExt[b.Extension] = append(byExt[b.Extension], b)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	apply := func(ext string) {
		if e := l.exts[ext]; e != nil && e.gen != gens[ext] {
			return // registered here while we read; that is newer
		}
		l.setLocked(ext, byExt[ext], false)
		if e := l.exts[ext]; e != nil {
			e.stored = e.stored[:0]
			for _, b := range e.list {
				e.setStored(b)
			}
		}
	}
	if exts == nil {
		for ext := range l.exts {
			if _, ok := byExt[ext]; !ok {
				apply(ext)
			}
		}
		for ext := range byExt {
			apply(ext)
		}
		return nil
	}
	for ext := range exts {
		apply(ext)
	}
	return nil
}

// Sweep forgets expired bindings in memory, logging each, and reports how
// many went.
func (l *Table) Sweep() int {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for ext, e := range l.exts {
		// Most sweeps find nothing expired: look before copying, so that a
		// sweep of 100,000 extensions allocates nothing (it ran once a
		// second and made a new list for every extension: 870 KB of
		// garbage a second with 14,000 of them).
		if len(e.list) > 0 && !anyExpired(e.list, now) {
			continue
		}
		keep := e.list[:0:0]
		for _, b := range e.list {
			if b.Expires.After(now) {
				keep = append(keep, b)
				continue
			}
			n++
			l.log.Info("registration expired", "ext", ext, "contact", b.Contact, "src", b.Source)
		}
		// Not a local change: a reload reading the store meanwhile sees
		// the same (it returns only unexpired bindings). An emptied entry
		// goes too, its generation no longer needed.
		if len(keep) != len(e.list) || len(e.list) == 0 {
			l.setLocked(ext, keep, false)
			e.stored = slices.DeleteFunc(e.stored, func(c storedCopy) bool { return Index(keep, c.contact) < 0 })
		}
	}
	return n
}

func anyExpired(list []directory.Binding, now time.Time) bool {
	for _, b := range list {
		if !b.Expires.After(now) {
			return true
		}
	}
	return false
}

// DeleteExpired removes expired bindings from the store.
func (l *Table) DeleteExpired(ctx context.Context) error {
	if l.Held() > 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	_, err := l.store.DeleteExpiredBindings(ctx, l.clock.Now())
	return err
}

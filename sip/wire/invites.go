package wire

import (
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/clock"
)

// Invites is the table of the INVITE transactions served outside sipgo
// (InviteTx). Those still without a final response are held until they
// have one, however long a call rings; from their final response on, they
// are remembered as Transactions remembers a REGISTER's, in two
// generations of at most regTxGeneration each, for Timer J (64·T1, which
// is also Timer L) unless regTxGeneration INVITEs more are answered
// meanwhile, and never for more than three times that. What a transaction
// keeps from then on is small: its last response while it waits for the
// ACK of a non-2xx, nothing of the call.
//
// It has one timer of its own, for the 100 Trying of the INVITEs that
// have had no response within sipgo's Timer_1xx (up to a quarter of it
// later); it runs only while an INVITE waits for that.
type Invites struct {
	clock  clock.Clock
	handle func(*sip.Request, sip.ServerTransaction)

	mu    sync.Mutex
	live  map[regTxKey]*InviteTx // without a final response
	cur   map[regTxKey]*InviteTx // answered, newest generation
	old   map[regTxKey]*InviteTx
	since time.Time // when cur was started

	// trying is the INVITEs that may need a 100 Trying, oldest first;
	// tryTimer fires for the oldest.
	trying   []*InviteTx
	tryTimer *time.Timer
}

func newInvites(c clock.Clock, handle func(*sip.Request, sip.ServerTransaction)) *Invites {
	return &Invites{clock: c, handle: handle, live: make(map[regTxKey]*InviteTx)}
}

// ServeInvite has the table serve INVITEs (and their CANCELs and the ACKs
// of their non-2xx responses) too, with invite, the server's INVITE
// handler. Unlike the REGISTER and BYE handlers, invite runs on a
// goroutine of its own, as sipgo runs it, and may wait (store lookups, a
// call's answer); when it returns, a transaction without a final response
// ends, as sipgo ends it. Call it before the listeners serve.
func (t *Transactions) ServeInvite(invite func(*sip.Request, sip.ServerTransaction)) {
	t.inv = newInvites(t.clock, invite)
}

// ServesInvite reports whether INVITEs are served here (ServeInvite).
func (t *Transactions) ServesInvite() bool { return t != nil && t.inv != nil }

// AbsorbAck reports whether an ACK from src with top Via branch was
// absorbed by the INVITE transaction it acknowledges: the ACK of a non-2xx
// response, which carries its INVITE's branch (RFC 3261 §17.1.1.3). Any
// other ACK is left to the caller.
func (t *Transactions) AbsorbAck(src netip.AddrPort, branch string) bool {
	if !t.ServesInvite() || branch == "" {
		return false
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	tx := t.inv.find(regTxKey{branch, src, sip.INVITE})
	return tx != nil && tx.acked()
}

// serve serves req, an INVITE or a CANCEL from src whose key is key (the
// INVITE's), answering on pc, and reports whether it did: a CANCEL that
// matches no INVITE of the table is left to the caller.
func (inv *Invites) serve(pc net.PacketConn, key regTxKey, dest netip.AddrPort, req *sip.Request) bool {
	if req.Method == sip.CANCEL {
		tx := inv.find(key)
		if tx == nil {
			return false
		}
		tx.cancelled(req)
		return true
	}
	now := time.Now()
	inv.mu.Lock()
	tx := inv.lookup(key)
	if tx != nil {
		inv.mu.Unlock()
		tx.retransmitted()
		return true
	}
	tx = &InviteTx{t: inv, key: key, pc: pc, dest: net.UDPAddrFromAddrPort(dest), started: now, origin: req}
	inv.live[key] = tx
	inv.trying = append(inv.trying, tx)
	if len(inv.trying) == 1 {
		if inv.tryTimer == nil {
			inv.tryTimer = time.AfterFunc(sip.Timer_1xx, inv.sendTrying)
		} else {
			inv.tryTimer.Reset(sip.Timer_1xx)
		}
	}
	inv.mu.Unlock()
	go func() {
		defer tx.returned()
		inv.handle(req, tx)
	}()
	return true
}

// find returns the transaction of key, nil when there is none.
func (inv *Invites) find(key regTxKey) *InviteTx {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return inv.lookup(key)
}

// lookup is find with inv.mu held.
func (inv *Invites) lookup(key regTxKey) *InviteTx {
	if tx := inv.live[key]; tx != nil {
		return tx
	}
	inv.rotate(inv.clock.Now())
	if tx := inv.cur[key]; tx != nil {
		return tx
	}
	return inv.old[key]
}

// rotate starts a new generation of answered transactions when the
// current one is Timer J old, and drops both when the current one is
// twice that; inv.mu is held.
func (inv *Invites) rotate(now time.Time) {
	switch age := now.Sub(inv.since); {
	case inv.cur == nil || age >= 2*TimerJ():
		inv.old, inv.cur, inv.since = nil, make(map[regTxKey]*InviteTx, 64), now
	case age >= TimerJ():
		inv.old, inv.cur, inv.since = inv.cur, make(map[regTxKey]*InviteTx, 64), now
	}
}

// finished moves tx, which has had its final response, from the live
// transactions to the answered ones.
func (inv *Invites) finished(tx *InviteTx) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.live[tx.key] != tx {
		return
	}
	delete(inv.live, tx.key)
	now := inv.clock.Now()
	inv.rotate(now)
	if len(inv.cur) >= regTxGeneration {
		inv.old, inv.cur, inv.since = inv.cur, make(map[regTxKey]*InviteTx, 64), now
	}
	inv.cur[tx.key] = tx
}

// forget drops tx, which ended without a final response.
func (inv *Invites) forget(tx *InviteTx) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.live[tx.key] == tx {
		delete(inv.live, tx.key)
	}
}

// sendTrying sends a 100 Trying for each INVITE that has waited Timer_1xx
// without a response, and sets the timer for the next one, if any.
func (inv *Invites) sendTrying() {
	now := time.Now()
	inv.mu.Lock()
	n := 0
	for n < len(inv.trying) && !now.Before(inv.trying[n].started.Add(sip.Timer_1xx)) {
		n++
	}
	due := slices.Clone(inv.trying[:n])
	clear(inv.trying[:n])
	inv.trying = inv.trying[n:]
	if len(inv.trying) > 0 {
		// Not sooner than a quarter of Timer_1xx: at a few hundred INVITEs
		// a second, one firing each would cost a goroutine each; a 100
		// Trying may so go up to a quarter late.
		inv.tryTimer.Reset(max(inv.trying[0].started.Add(sip.Timer_1xx).Sub(now), sip.Timer_1xx/4))
	} else {
		inv.trying = nil // let go of the array: it holds transactions
	}
	inv.mu.Unlock()
	for _, tx := range due {
		tx.trying()
	}
}

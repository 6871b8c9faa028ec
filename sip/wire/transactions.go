package wire

import (
	"bytes"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/clock"
)

// A REGISTER or a BYE that came in a datagram and passed the server's
// checks is served here, outside sipgo's transaction layer: sipgo would
// parse it a second time, give it a transaction with its own goroutine,
// timers and channels, run its handler on a goroutine of its own that
// waits for the answer (sipgo ends the transaction when the handler
// returns), and build its response through a connection lookup. Ours is
// the non-INVITE server transaction of RFC 3261 §17.2.2 reduced to what a
// registrar or a call needs: the request goes to the server's handler of
// its method on the socket's reader (the handler must not wait: it answers
// from memory or hands the request to a goroutine of its own, a call's),
// its final response is written to the socket it came in on and kept for
// Timer J (64·T1), and a retransmission of the request gets that response
// again instead of a second run of the handler. One that arrives while the
// first is still being served is absorbed (the first's answer will do).
//
// The table of transactions is bounded by count and by time: two
// generations of at most regTxGeneration transactions each; the older is
// dropped when the newer fills up or is Timer J old, both when the newer
// is twice Timer J old. A transaction is so remembered for Timer J unless
// more than regTxGeneration REGISTERs arrive meanwhile (2.7 s at 6,000/s:
// a phone's first three retransmissions), and never for more than three
// times Timer J. Each holds its final response (under 1,300 bytes, the
// most sent over UDP; a 200 with one contact is about 450), so the table
// holds at most 2·regTxGeneration of them: under 45 MB if every one were
// that large, about 15 MB of 200s at 6,000/s, well under 1 MB at the
// rates of an office.
//
// REGISTERs and BYEs over TCP and TLS go through sipgo: a stream is reliable,
// there are no retransmissions to absorb. INVITEs have transactions of
// their own kind (InviteTx, in the table Invites), which Transactions
// serves too when told to (ServeInvite).

// regTxGeneration bounds one generation of the transaction table.
const regTxGeneration = 16384

// regTxKey identifies a transaction: the branch of its top Via (RFC 3261
// §17.2.3; the caller gives a synthetic one to a request without an RFC
// 3261 branch), the address it came from and its method.
type regTxKey struct {
	branch string
	src    netip.AddrPort
	method sip.RequestMethod
}

// Transactions is the table of the REGISTER and BYE transactions served
// outside sipgo, and holds that of the INVITEs (ServeInvite).
type Transactions struct {
	clock  clock.Clock
	handle func(*sip.Request, sip.ServerTransaction) // the server's REGISTER handler; must not wait
	bye    func(*sip.Request, sip.ServerTransaction) // its BYE handler, or nil: BYEs go to sipgo
	inv    *Invites                                  // the INVITEs (ServeInvite), or nil: they go to sipgo

	mu    sync.Mutex
	cur   map[regTxKey]*Transaction
	old   map[regTxKey]*Transaction
	since time.Time // when cur was started
}

// NewTransactions returns an empty table whose requests go to handle, the
// server's REGISTER handler, which answers them on the Transaction it is
// given. handle runs on the reader of the socket: it must not wait.
func NewTransactions(c clock.Clock, handle func(*sip.Request, sip.ServerTransaction)) *Transactions {
	return &Transactions{clock: c, handle: handle}
}

// ServeBye has the table serve BYEs too, with bye, which like the
// REGISTER handler runs on the reader of the socket and must not wait.
// Call it before the listeners serve.
func (t *Transactions) ServeBye(bye func(*sip.Request, sip.ServerTransaction)) { t.bye = bye }

// ServesBye reports whether BYEs are served here (ServeBye).
func (t *Transactions) ServesBye() bool { return t != nil && t.bye != nil }

// TimerJ is how long a non-INVITE server transaction over UDP answers
// retransmissions (RFC 3261 §17.2.2), with sipgo's T1 in force.
func TimerJ() time.Duration { return 64 * sip.T1 }

// start returns a new transaction for key, or nil when key's is known: its
// response, if it has one yet, has been sent again to dest.
func (t *Transactions) start(key regTxKey, pc net.PacketConn, dest netip.AddrPort) *Transaction {
	now := t.clock.Now()
	t.mu.Lock()
	switch age := now.Sub(t.since); {
	case t.cur == nil || age >= 2*TimerJ():
		t.old, t.cur, t.since = nil, make(map[regTxKey]*Transaction, 64), now
	case age >= TimerJ():
		t.old, t.cur, t.since = t.cur, make(map[regTxKey]*Transaction, 64), now
	}
	tx := t.cur[key]
	if tx == nil {
		tx = t.old[key]
	}
	if tx != nil {
		t.mu.Unlock()
		tx.retransmitted()
		return nil
	}
	if len(t.cur) >= regTxGeneration {
		t.old, t.cur, t.since = t.cur, make(map[regTxKey]*Transaction, 64), now
	}
	tx = &Transaction{pc: pc, dest: net.UDPAddrFromAddrPort(dest)}
	t.cur[key] = tx
	t.mu.Unlock()
	return tx
}

// Transaction is one REGISTER or BYE transaction served outside sipgo. It
// is a sip.ServerTransaction so that the registrar and the call side
// answer it as they answer one of sipgo's (see Respond); the registrar
// sends its Replies with Send.
type Transaction struct {
	pc   net.PacketConn
	dest *net.UDPAddr

	mu  sync.Mutex
	res []byte // the final response sent, nil while there is none
}

// Respond sends res and keeps it for retransmissions when it is final. A
// second final response is refused, as sipgo refuses one. The registrar
// sends its own responses with Send; this is for the server's (a handler's
// panic gets 500).
func (tx *Transaction) Respond(res *sip.Response) error {
	buf := replyBufs.Get().(*bytes.Buffer)
	defer replyBufs.Put(buf)
	buf.Reset()
	res.StringWrite(buf)
	return tx.write(buf.Bytes(), res.StatusCode >= 200)
}

// Send is Respond for a Reply, written straight from the request.
func (tx *Transaction) Send(rep *Reply) error {
	buf := replyBufs.Get().(*bytes.Buffer)
	defer replyBufs.Put(buf)
	buf.Reset()
	rep.Encode(buf)
	return tx.write(buf.Bytes(), rep.code >= 200)
}

// Respond sends rep on tx: as bytes on a Transaction (Send), as a
// sip.Response on one of sipgo's.
func Respond(tx sip.ServerTransaction, rep *Reply) error {
	if t, ok := tx.(*Transaction); ok {
		return t.Send(rep)
	}
	return tx.Respond(rep.Response())
}

// write sends the response b and keeps a copy of it when it is final.
func (tx *Transaction) write(b []byte, final bool) error {
	if len(b) > sip.UDPMTUSize-200 {
		// As sipgo does, the registrar keeps its UDP 200s under this
		// size.
		return sip.ErrUDPMTUCongestion
	}
	tx.mu.Lock()
	if tx.res != nil {
		tx.mu.Unlock()
		return sip.ErrTransactionTerminated
	}
	if final {
		tx.res = bytes.Clone(b)
	}
	tx.mu.Unlock()
	_, err := tx.pc.WriteTo(b, tx.dest)
	return err
}

// retransmitted sends the final response again to a retransmission of the
// request; while there is none, the retransmission is dropped.
func (tx *Transaction) retransmitted() {
	tx.mu.Lock()
	res := tx.res
	tx.mu.Unlock()
	if res != nil {
		tx.pc.WriteTo(res, tx.dest)
	}
}

// The rest of sip.ServerTransaction: neither the registrar nor a call's
// answer to a BYE uses any of it. A non-INVITE transaction has no ACK, no
// CANCEL and nothing to wait for.

func (tx *Transaction) Terminate()                         {}
func (tx *Transaction) OnTerminate(sip.FnTxTerminate) bool { return false }
func (tx *Transaction) Done() <-chan struct{}              { return closedChan }
func (tx *Transaction) Err() error                         { return nil }
func (tx *Transaction) Acks() <-chan *sip.Request          { return nil }
func (tx *Transaction) OnCancel(sip.FnTxCancel) bool       { return false }

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Serve serves req, a REGISTER, (ServeBye) a BYE or (ServeInvite) an
// INVITE or CANCEL in a datagram from src that the server's checks passed
// and that was not challenged statelessly, answering on pc, and reports
// true; false leaves it to sipgo (another method, a CANCEL that matches
// no INVITE here, or a request sipgo would refuse before any handler).
func (t *Transactions) Serve(pc net.PacketConn, src netip.AddrPort, req *sip.Request) bool {
	var handle func(*sip.Request, sip.ServerTransaction)
	invite := req.Method == sip.INVITE || req.Method == sip.CANCEL
	switch req.Method {
	case sip.REGISTER:
		handle = t.handle
	case sip.BYE:
		handle = t.bye
	}
	via := req.Via()
	if (handle == nil && !(invite && t.inv != nil)) || via == nil || req.CSeq() == nil {
		return false
	}
	branch, _ := via.Params.Get("branch")
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	req.SetSource(src.String())
	req.SetTransport("UDP")
	if invite {
		// A CANCEL is matched to its INVITE's transaction (RFC 3261 §9.2).
		return t.inv.serve(pc, regTxKey{branch, src, sip.INVITE}, ResponseDest(via, src), req)
	}
	tx := t.start(regTxKey{branch, src, req.Method}, pc, ResponseDest(via, src))
	if tx == nil {
		return true
	}
	handle(req, tx)
	return true
}

// ResponseDest is where the response to a request over UDP from src with
// top Via via goes: to the source port when the client asked for rport
// (RFC 3581); else, RFC 3261 §18.2.2, to the source address at the Via's
// port.
func ResponseDest(via *sip.ViaHeader, src netip.AddrPort) netip.AddrPort {
	if via.Params.Has("rport") {
		return src
	}
	port := via.Port
	if port == 0 {
		port = 5060
	}
	return netip.AddrPortFrom(src.Addr(), uint16(port))
}

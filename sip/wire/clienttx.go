package wire

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/clock"
)

// The requests the server sends over UDP to an address (a call's INVITEs
// and BYEs, CANCELs, NOTIFYs, trunk registrations) get their client
// transaction here, outside sipgo's transaction layer: sipgo would start a
// goroutine for every response (TransactionLayer.handleMessage), parse it
// on that goroutine and pass it up through its state machine's locks and
// an unbuffered channel, and keep an answered INVITE's transaction, with
// the request, its hooks and a timer, for Timer M (32 s). Ours is RFC
// 3261 §17.1 with RFC 6026's Accepted state, reduced to what the call side
// reads: the socket's reader matches a response by its top Via's branch
// and its CSeq method (§17.1.3), hands it to the transaction's buffered
// channel, and goes on; the one timer runs only while the request still
// needs retransmitting or timing out (Timers A and B, E and F).
//
// Once a final response came, a transaction ends for the one who sent it
// (its OnTerminate hooks run then) but the table remembers it for another
// Timer M, 64·T1, to absorb what comes again: a 2xx's retransmissions go to
// the OnRetransmission hook (the ACK again), a failure's get the ACK the
// transaction sent (§17.1.1.3, Timer D), a non-INVITE's are dropped (Timer
// K). What it keeps for that is small: the ACK's bytes, the hook; not the
// request.
//
// The remembered transactions are dropped by generations, as
// wire.Transactions does, with no timer each: at most 2·clientTxGeneration
// at once, each for 64·T1 to three times that.

// clientTxGeneration bounds one generation of completed transactions.
const clientTxGeneration = 65536

// Clients is the table of client transactions served outside sipgo.
type Clients struct {
	clock clock.Clock

	mu    sync.Mutex
	live  [2]map[string]*ClientTx // waiting for a final response: [0] INVITEs, [1] the rest, by branch
	cur   [2]map[string]*ClientTx // answered, by branch, for retransmissions
	old   [2]map[string]*ClientTx
	since time.Time // when cur was started
}

// NewClients returns an empty table.
func NewClients(c clock.Clock) *Clients {
	t := &Clients{clock: c}
	for i := range t.live {
		t.live[i] = make(map[string]*ClientTx)
	}
	return t
}

// kind is the index of a method's maps: a CANCEL has its INVITE's branch.
func kind(invite bool) int {
	if invite {
		return 0
	}
	return 1
}

// ErrTooLarge is returned by Request for a request too large for a UDP
// datagram: sipgo refuses it the same way (sip.ErrUDPMTUCongestion).
var ErrTooLarge = sip.ErrUDPMTUCongestion

// Request sends req, stamped with its top Via, from pc to dest and returns
// its transaction. The request is written once and its bytes kept for the
// retransmissions; req itself is kept only while an INVITE waits for its
// final response (the ACK of a failure is built from it).
func (t *Clients) Request(pc net.PacketConn, dest netip.AddrPort, req *sip.Request) (*ClientTx, error) {
	via := req.Via()
	if via == nil {
		return nil, errors.New("client transaction: request without a Via")
	}
	branch, _ := via.Params.Get("branch")
	if branch == "" {
		return nil, errors.New("client transaction: Via without a branch")
	}
	buf := replyBufs.Get().(*bytes.Buffer)
	buf.Reset()
	req.StringWrite(buf)
	if buf.Len() > sip.UDPMTUSize-200 {
		replyBufs.Put(buf)
		return nil, ErrTooLarge
	}
	invite := req.Method == sip.INVITE
	tx := &ClientTx{t: t, branch: branch, invite: invite, pc: pc, dest: net.UDPAddrFromAddrPort(dest),
		msg: bytes.Clone(buf.Bytes()), responses: make(chan *sip.Response, clientTxQueue),
		done: make(chan struct{}), interval: sip.T1, t2: sip.T2, timerM: 64 * sip.T1}
	replyBufs.Put(buf)
	if invite {
		tx.origin = req
	}
	k := kind(invite)
	t.mu.Lock()
	if _, dup := t.live[k][branch]; dup {
		t.mu.Unlock()
		return nil, fmt.Errorf("client transaction %s %s already exists", req.Method, branch)
	}
	t.live[k][branch] = tx
	t.mu.Unlock()
	tx.mu.Lock()
	tx.deadline = time.Now().Add(tx.timerM) // Timer B/F, 64·T1 as M; the timer is real: so is its deadline
	tx.timer = time.AfterFunc(tx.interval, tx.fire)
	tx.mu.Unlock()
	if _, err := pc.WriteTo(tx.msg, tx.dest); err != nil {
		tx.end(fmt.Errorf("client transaction: write %s: %w", req.Method, err))
		return nil, err
	}
	return tx, nil
}

// Match returns the transaction a response with the top Via branch and the
// CSeq method belongs to, nil when none here does (sipgo's may).
func (t *Clients) Match(branch, method string) *ClientTx {
	k := kind(method == "INVITE")
	t.mu.Lock()
	tx := t.live[k][branch]
	if tx == nil && t.cur[k] != nil {
		if tx = t.cur[k][branch]; tx == nil && t.old[k] != nil {
			tx = t.old[k][branch]
		}
	}
	t.mu.Unlock()
	if tx != nil && tx.invite != (method == "INVITE") {
		return nil
	}
	return tx
}

// answered moves tx, which got its final response, from the live
// transactions to the answered ones.
func (t *Clients) answered(tx *ClientTx) {
	k := kind(tx.invite)
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.live[k][tx.branch] != tx {
		return
	}
	delete(t.live[k], tx.branch)
	m := tx.timerM
	switch age := now.Sub(t.since); {
	case t.cur[0] == nil || age >= 2*m:
		t.old, t.cur, t.since = [2]map[string]*ClientTx{}, newGeneration(), now
	case age >= m || len(t.cur[0])+len(t.cur[1]) >= clientTxGeneration:
		t.old, t.cur, t.since = t.cur, newGeneration(), now
	}
	t.cur[k][tx.branch] = tx
}

func newGeneration() [2]map[string]*ClientTx {
	return [2]map[string]*ClientTx{make(map[string]*ClientTx, 64), make(map[string]*ClientTx, 64)}
}

// forget removes tx from the table, live or answered.
func (t *Clients) forget(tx *ClientTx) {
	k := kind(tx.invite)
	t.mu.Lock()
	for _, m := range []map[string]*ClientTx{t.live[k], t.cur[k], t.old[k]} {
		if m != nil && m[tx.branch] == tx {
			delete(m, tx.branch)
		}
	}
	t.mu.Unlock()
}

// Close ends every transaction still waiting for its final response,
// as the server stops: their timers go, and with them the last reason a
// transaction's goroutine could start.
func (t *Clients) Close() {
	t.mu.Lock()
	var live []*ClientTx
	for _, m := range t.live {
		for _, tx := range m {
			live = append(live, tx)
		}
	}
	t.mu.Unlock()
	for _, tx := range live {
		tx.end(fmt.Errorf("server stopped: %w", sip.ErrTransactionTransport))
	}
}

// Answered returns how many answered transactions the table remembers.
func (t *Clients) Answered() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for k := range t.cur {
		n += len(t.cur[k]) + len(t.old[k])
	}
	return n
}

// Live returns how many transactions wait for a final response.
func (t *Clients) Live() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.live[0]) + len(t.live[1])
}

// clientTxQueue is how many responses wait in a transaction's channel for
// the one reading it. The socket's reader never waits for that reader: a
// provisional response that finds the channel all but full is dropped
// (another comes, or the final), and the final one always finds room (it
// is passed up once).
const clientTxQueue = 4

// The states of a client transaction.
const (
	txCalling    = iota // sent, nothing heard: retransmitting
	txProceeding        // a provisional response came
	txAnswered          // the final response came
	txEnded             // timed out, failed to send, or terminated
)

// ClientTx is one client transaction served outside sipgo: a
// sip.ClientTransaction, so that the call side reads it as it reads one of
// sipgo's.
type ClientTx struct {
	t      *Clients
	branch string
	invite bool
	pc     net.PacketConn
	dest   *net.UDPAddr

	responses chan *sip.Response
	done      chan struct{}

	mu       sync.Mutex
	state    int
	msg      []byte       // the request on the wire, while it may be sent again
	origin   *sip.Request // an INVITE, until its final response
	ack      []byte       // the ACK of an INVITE's failure, sent again to its retransmissions
	timer    *time.Timer  // Timer A/E (retransmission) and B/F (timeout), while calling or proceeding
	interval time.Duration
	t2       time.Duration // sipgo's T2 and 64·T1 when the request went: nothing reads
	timerM   time.Duration // sipgo's timer globals later, which tests change
	deadline time.Time
	err      error
	answered time.Time // when the final response came (AnsweredAt)
	onRetx   sip.FnTxResponse
	onTerm   []sip.FnTxTerminate
}

// Responses returns the channel the transaction's responses come on, up
// to the final one.
func (tx *ClientTx) Responses() <-chan *sip.Response { return tx.responses }

// AnsweredAt returns when the final response came, as the socket's reader
// saw it; zero before one came.
func (tx *ClientTx) AnsweredAt() time.Time {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.answered
}

// Done is closed when the transaction ends with no final response
// (timeout, a failed send, Terminate). A final response is read from
// Responses; Done stays open after one, as sipgo's does until Timer M.
func (tx *ClientTx) Done() <-chan struct{} { return tx.done }

// Err returns why the transaction ended.
func (tx *ClientTx) Err() error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.err
}

// OnRetransmission has f called with each retransmission of the final 2xx
// (RFC 6026 §7.2), on the socket's reader: f must not wait. It may be set
// after the final response, for as long as the table remembers the
// transaction.
func (tx *ClientTx) OnRetransmission(f sip.FnTxResponse) bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.state == txEnded {
		return false
	}
	if prev := tx.onRetx; prev != nil {
		tx.onRetx = func(r *sip.Response) { prev(r); f(r) }
	} else {
		tx.onRetx = f
	}
	return true
}

// OnTerminate has f called when the transaction ends for its sender: its
// final response passed up, or no final response to come. It reports false,
// and does not call f, when that has happened already.
func (tx *ClientTx) OnTerminate(f sip.FnTxTerminate) bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.state >= txAnswered {
		return false
	}
	tx.onTerm = append(tx.onTerm, f)
	return true
}

// Terminate ends the transaction: nothing more is sent or passed up, and
// the table forgets it.
func (tx *ClientTx) Terminate() { tx.end(sip.ErrTransactionTerminated) }

// end ends the transaction with err, when it has not ended already, and
// the table forgets it.
func (tx *ClientTx) end(err error) {
	tx.mu.Lock()
	if tx.state == txEnded {
		tx.mu.Unlock()
		return
	}
	tx.state, tx.err = txEnded, err
	tx.stopTimer()
	tx.msg, tx.origin, tx.ack, tx.onRetx = nil, nil, nil, nil
	hooks := tx.onTerm
	tx.onTerm = nil
	tx.mu.Unlock()
	tx.t.forget(tx)
	close(tx.done)
	for _, f := range hooks { // none left once answered
		f(tx.branch, err)
	}
}

// stopTimer stops the retransmission timer; tx.mu is held.
func (tx *ClientTx) stopTimer() {
	if tx.timer != nil {
		tx.timer.Stop()
		tx.timer = nil
	}
}

// fire is the timer: the request goes again (Timer A or E, doubling, a
// non-INVITE's capped at T2 and at T2 from its first provisional), or
// the transaction times out (Timer B or F).
func (tx *ClientTx) fire() {
	tx.mu.Lock()
	if tx.timer == nil || tx.state >= txAnswered {
		tx.mu.Unlock()
		return
	}
	now := time.Now()
	if !now.Before(tx.deadline) {
		tx.timer = nil
		tx.mu.Unlock()
		tx.end(fmt.Errorf("client transaction timed out (Timer B/F): %w", sip.ErrTransactionTimeout))
		return
	}
	msg := tx.msg
	if tx.state == txCalling {
		tx.interval *= 2
		if !tx.invite {
			tx.interval = min(tx.interval, tx.t2)
		}
	}
	next := min(tx.interval, tx.deadline.Sub(now))
	tx.timer.Reset(next)
	tx.mu.Unlock()
	if msg != nil {
		tx.pc.WriteTo(msg, tx.dest)
	}
}

// Receive handles res, a response that Match gave tx, on the socket's
// reader: it never waits.
func (tx *ClientTx) Receive(res *sip.Response) {
	tx.mu.Lock()
	switch tx.state {
	case txCalling, txProceeding:
		if !res.IsProvisional() {
			tx.answer(res)
			return
		}
		if tx.state == txCalling {
			tx.state = txProceeding
			if tx.invite {
				// No retransmission and no timeout for a ringing INVITE
				// (§17.1.1.2): the call side decides how long it rings.
				tx.stopTimer()
			} else {
				tx.interval = tx.t2
			}
		}
		if len(tx.responses) < cap(tx.responses)-1 {
			tx.responses <- res // under tx.mu: the last place stays the final's
		}
		tx.mu.Unlock()
	case txAnswered:
		ack, hook := tx.ack, tx.onRetx
		tx.mu.Unlock()
		switch {
		case !tx.invite:
		case ack != nil && !res.IsSuccess():
			tx.pc.WriteTo(ack, tx.dest)
		case hook != nil && res.IsSuccess():
			hook(res)
		}
	default:
		tx.mu.Unlock()
	}
}

// answer handles the final response res; tx.mu is held, and unlocked.
func (tx *ClientTx) answer(res *sip.Response) {
	tx.state = txAnswered
	tx.answered = time.Now()
	tx.stopTimer()
	if tx.invite && !res.IsSuccess() && tx.origin != nil {
		tx.ack = failureAck(tx.origin, res)
	}
	ack := tx.ack
	tx.msg, tx.origin = nil, nil
	hooks := tx.onTerm
	tx.onTerm = nil
	tx.responses <- res // there is room: see Receive
	tx.mu.Unlock()
	if ack != nil {
		tx.pc.WriteTo(ack, tx.dest)
	}
	tx.t.answered(tx)
	for _, f := range hooks {
		f(tx.branch, nil)
	}
}

// failureAck is the ACK of the failure res to the INVITE req (RFC 3261
// §17.1.1.3): req's Request-URI, top Via, Route set, From, Call-ID and
// CSeq number, and res's To.
func failureAck(req *sip.Request, res *sip.Response) []byte {
	ack := sip.NewRequest(sip.ACK, req.Recipient)
	ack.AppendHeader(sip.HeaderClone(req.Via()))
	for _, r := range req.GetHeaders("Route") {
		ack.AppendHeader(sip.HeaderClone(r))
	}
	mf := sip.MaxForwardsHeader(70)
	ack.AppendHeader(&mf)
	ack.AppendHeader(sip.HeaderClone(req.From()))
	if to := res.To(); to != nil {
		ack.AppendHeader(sip.HeaderClone(to))
	}
	ack.AppendHeader(sip.HeaderClone(req.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.ACK})
	ack.SetBody(nil)
	var buf bytes.Buffer
	ack.StringWrite(&buf)
	return buf.Bytes()
}

package transfer

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// Blind transfer (RFC 3515, RFC 3892 basics). A party of an answered call,
// the transferor, sends REFER in its dialog naming a number. The PBX
// answers 202, reports progress in NOTIFYs with a message/sipfrag body,
// routes the number as if the transferor had dialed it (its outbound rule
// applies) and invites the target with an offer on the relay port of the
// transferor's leg. When the target answers, that leg of the relay is
// pointed at the target, the transferor gets NOTIFY 200 and a BYE, and the
// transferee, who never left its leg, talks to the target. A transfer that
// fails is reported in the final NOTIFY and the call goes on. Attended
// transfer (Refer-To with Replaces) is in attended.go.
//
// CDR: the call's row ends at the transfer (hangup_by "transfer", reason
// "transferred to X by Y") and the transferee and target get a row of
// their own, from the transferee to the target, started at the REFER and
// answered at the target's answer. A failed transfer writes a row for the
// attempt, from the transferor to the number, reason "transfer failed: …".
// A recording goes on across the transfer and stays with the first row.

// xferExpires is the Expires of the implicit subscription (RFC 3515 §2.4.4).
const xferExpires = "60"

// transfers is a call's transfer room: the transfer in progress, the
// forks the transfers' dialers started, and the REFERs accepted so far.
// It opens at the call's first REFER and stays open while the call lives:
// a transfer's forks may still ring after it is over, and the actor waits
// for their final responses.
type transfers struct {
	b      *call.Core
	lot    Parker // where a REFER to a park orbit or the park code parks the party
	c      *call.Call
	cur    *Transfer    // the transfer in progress, nil when none
	forks  []*dial.Fork // every fork a transfer started
	refers int          // REFERs accepted, for the Event id
}

// Parker parks the party a REFER hands over on a park orbit (the parking
// lot, package sip's park).
type Parker interface {
	// Target reports the orbit a REFER's Target names: an orbit's number,
	// or the park code (the first free orbit).
	Target(number string) (orbit string, ok bool)
	// Park puts the party p, the other party of transfer x on call c, on
	// the orbit, and tells the transferor.
	Park(c *call.Call, x *Transfer, p call.Party, orbit string)
}

// xfer is a transfer in progress.
type Transfer struct {
	t        *transfers
	FromA    bool   // the transferor is on leg A
	Target   string // the Refer-To user part
	event    string // the Event header of our NOTIFYs
	started  time.Time
	deadline time.Time // the targets ring until then
	rt       *route.Route
	ring     dial.Dialer   // the target's phones, or the trunk
	origin   sdpneg.Origin // of our SDP toward the target
	slots    []string      // extensions whose call slot the transfer took
	// gone: the transferor hung up after the 202: nobody to notify, and
	// nobody for the transferee if the transfer fails.
	gone bool
	// referredBy is the Referred-By of the INVITEs (RFC 3892): the
	// REFER's, or the transferor's address.
	referredBy string
	rang       bool // the NOTIFY of the target's ringing went
	// attended: the Refer-To has Replaces naming the transferor's dialog
	// of another call (attended.go); no INVITE goes out.
	attended bool
}

// openTransfers returns the call's transfer room, opening it the first
// time (the core passes REFERs to its onRefer).
func Open(b *call.Core, lot Parker, c *call.Call) *transfers {
	t := call.RoomOf[*transfers](c.Rooms)
	if t == nil {
		t = &transfers{b: b, lot: lot, c: c}
		c.Rooms.Open(t)
	}
	return t
}

func (t *transfers) RoomName() string { return "transfer" }

// TakeRequest takes the transferor's BYE once its transfer is under way:
// its dialog is over, the transfer goes on without it.
func (t *transfers) TakeRequest(ev *call.ReqEvent) bool {
	x := t.cur
	if x == nil || ev.Req.Method != sip.BYE || t.c.State != call.StAnswered || x.FromA != ev.FromA || x.gone {
		return false
	}
	t.c.Core.Responder.Send(ev.Tx, sip.NewResponseFromRequest(ev.Req, 200, "OK", nil))
	close(ev.Done)
	t.transferorLeft(ev.FromA)
	return true
}

// CallEnding abandons the transfer in progress; a transferor that hung up
// already has left the call.
func (t *transfers) CallEnding(gone int) int {
	if left := t.abort("call ended"); left >= 0 {
		return left
	}
	return gone
}

// Deadline is when the target of the transfer in progress stops ringing.
func (t *transfers) Deadline() time.Time {
	if t.cur == nil {
		return time.Time{}
	}
	return t.cur.deadline
}

// Expire fails a transfer whose target did not answer in time.
func (t *transfers) Expire() {
	x := t.cur
	t.c.Log.Info("transfer target did not answer", "to", x.Target)
	x.Failed(480, "Temporarily Unavailable", directory.NoAnswer, "no answer")
}

// RefuseReinvite refuses a leg's re-INVITE while a transfer is under way.
func (t *transfers) RefuseReinvite(passOn bool) (int, string) {
	if t.cur != nil && !passOn {
		return 491, "Request Pending (Transfer In Progress)"
	}
	return 0, ""
}

// ForksRinging reports whether a fork of a transfer waits for its final
// response.
func (t *transfers) ForksRinging() bool {
	for _, f := range t.forks {
		if f.Final == nil && f.Tx != nil {
			return true
		}
	}
	return false
}

// RingingForks are the forks of the transfer in progress, for the busy
// lamps of the targets.
func (t *transfers) RingingForks() []*dial.Fork {
	if t.cur == nil {
		return nil
	}
	return t.cur.ring.Forks
}

// AllForks are the forks every transfer of the call started.
func (t *transfers) AllForks() []*dial.Fork { return t.forks }

// TransactionOpen reports whether a transfer is under way.
func (t *transfers) TransactionOpen() bool { return t.cur != nil }

// OnRefer starts a blind transfer asked by one leg.
func (t *transfers) OnRefer(ev *call.ReqEvent) {
	c := t.c
	reject := func(code int, reason string) {
		c.Core.Responder.Respond(ev.Tx, ev.Req, code, reason)
		close(ev.Done)
	}
	if c.State != call.StAnswered {
		reject(481, "Call/Transaction Does Not Exist")
		return
	}
	if t.cur != nil {
		reject(491, "Request Pending (Transfer In Progress)")
		return
	}
	if c.Transacting() || c.NeedAnswer {
		reject(491, "Request Pending")
		return
	}
	hs := ev.Req.GetHeaders("Refer-To")
	if len(hs) != 1 {
		reject(400, "Bad Request (One Refer-To Needed)")
		return
	}
	raw := hs[0].Value()
	if ev.Req.GetHeader("Replaces") != nil {
		reject(400, "Bad Request (Replaces In REFER)")
		return
	}
	rep, attended, ok := call.ReferReplaces(raw)
	if !ok {
		reject(400, "Bad Request (Bad Replaces)")
		return
	}
	number, ok := ReferTarget(raw)
	if !ok {
		reject(400, "Bad Request (Bad Refer-To)")
		return
	}
	p := c.Parties[leg.Index(ev.FromA)]
	if p.Ext == "" {
		reject(403, "Forbidden (Transfer From Outside)")
		return
	}
	cred, err := t.b.Auth.Credential(p.Ext)
	if err != nil || cred == nil {
		reject(403, "Forbidden (Transfer From Outside)")
		return
	}
	d := c.LegDialog(ev.FromA)
	res := sip.NewResponseFromRequest(ev.Req, 202, "Accepted", nil)
	res.AppendHeader(sip.HeaderClone(&d.Contact))
	res.AppendHeader(sip.NewHeader("Server", c.Core.UserAgent))
	c.Core.Responder.Send(ev.Tx, res)
	close(ev.Done)

	t.refers++
	now := time.Now()
	x := &Transfer{t: t, FromA: ev.FromA, Target: number, event: "refer", started: now.UTC(),
		deadline: now.Add(c.Core.Config.RingTime)}
	if t.refers > 1 { // RFC 3515 §2.4.6: later REFERs of a dialog need the id
		x.event = "refer;id=" + strconv.Itoa(int(ev.Req.CSeq().SeqNo))
	}
	x.origin.ID = uint64(now.UnixNano()&0x7fffffffffff) + 2
	x.referredBy = "<sip:" + p.Ext + "@" + c.Core.Realm() + ">"
	if h := ev.Req.GetHeader("Referred-By"); h != nil && len(h.Value()) < 256 {
		x.referredBy = h.Value()
	}
	t.cur = x
	c.Log.Info("transfer asked", "by", p.Num, "to", number, "attended", attended)
	c.SendInOrder(x.Notify(d, "SIP/2.0 100 Trying", false))
	if attended {
		t.startAttended(x, rep, p)
		return
	}
	if orbit, ok := t.lot.Target(number); ok {
		t.lot.Park(c, x, p, orbit)
		return
	}

	uri := sip.Uri{Scheme: "sip", User: number, Host: c.Core.Realm()}
	invite := sip.NewRequest(sip.INVITE, uri)
	invite.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: p.Ext, Host: c.Core.Realm()}})
	invite.AppendHeader(&sip.ToHeader{Address: uri})
	ctx, cancel := context.WithTimeout(context.Background(), c.Core.StoreTimeout)
	rt, ref := c.Core.Route(ctx, cred, invite)
	cancel()
	x.rt = rt
	if ref != nil {
		x.Failed(ref.Code, ref.Reason, ref.Disp, ref.Why)
		return
	}
	targets, spare := dial.Pick(rt, c.Core.Busy)
	if len(targets) == 0 {
		x.Failed(486, "Busy Here", directory.Busy, "callee call limit")
		return
	}
	sent := c.Legs[leg.Index(x.FromA)].SDP
	x.ring = dial.Dialer{Env: c.Env, OnFork: func(f *dial.Fork) { t.forks = append(t.forks, f) },
		OnResponse: t.onResponse, OnFailed: func(*dial.Fork) { t.forkFailed() }, Spare: spare, Source: sent,
		Origin: &x.origin, Leg: leg.RelayLeg(x.FromA), SendRecv: true, ReferredBy: x.referredBy}
	if err := x.ring.Address(targets[0].Dest); err != nil {
		c.Log.Info("transfer failed: no sdp for the target", "err", err)
		x.Failed(500, "Server Internal Error", directory.Failed, "no sdp for the target")
		return
	}
	x.slots = c.Core.TakeNew(c, dial.Exts(targets)...)
	x.ring.DialAll(rt, targets)
	if x.ring.AllFailed() {
		t.forkFailed()
	}
}

// onResponse takes a response to a fork of a transfer's dialer.
func (t *transfers) onResponse(f *dial.Fork, tx sip.ClientTransaction, res *sip.Response) {
	if tx != f.Tx || f.Final != nil {
		return
	}
	c := t.c
	f.Responded = true
	if res.IsProvisional() {
		if res.StatusCode == 100 {
			return
		}
		f.Provis = true
		if f.Cancelled {
			f.SendCancel()
			return
		}
		// Phones show the target ringing (RFC 3515 §2.4.5: any status).
		if x := t.cur; x != nil && !x.gone && !x.rang && slices.Contains(x.ring.Forks, f) &&
			(res.StatusCode == 180 || res.StatusCode == 183) {
			x.rang = true
			c.SendInOrder(x.Notify(c.LegDialog(x.FromA), "SIP/2.0 "+strconv.Itoa(res.StatusCode)+" "+res.Reason, false))
		}
		return
	}
	f.Final = res
	x := t.cur
	if res.IsSuccess() {
		if x == nil || !slices.Contains(x.ring.Forks, f) || c.State != call.StAnswered {
			f.AckAndBye(res) // another fork won, or the transfer is over
			return
		}
		x.answered(f, res)
		return
	}
	if x != nil && slices.Contains(x.ring.Forks, f) && f.RetryAuth(res) {
		return
	}
	t.forkFailed()
}

// forkFailed runs when a fork of the transfer failed: the next trunk is
// tried, or the transfer fails once every fork has.
func (t *transfers) forkFailed() {
	x := t.cur
	if x == nil || !x.ring.AllFailed() || x.ring.NextTrunk(x.rt) {
		return
	}
	code, reason, disp := dial.BestFailure(x.ring.Forks)
	x.Failed(code, reason, disp, strconv.Itoa(code)+" "+reason)
}

// Failed ends a transfer that reached nobody: the transferor learns the
// status in the final NOTIFY and the call goes on. When the transferor
// has left already, the transferee is hung up.
func (x *Transfer) Failed(code int, reason string, disp directory.Disposition, why string) {
	c := x.t.c
	x.t.cur = nil
	x.ring.CancelAll(nil)
	c.Core.Release(c, x.slots...)
	c.Log.Info("transfer failed", "to", x.Target, "status", code)
	transferor := c.Parties[leg.Index(x.FromA)]
	row := directory.Call{SIPCallID: c.LegDialog(x.FromA).CallID, CallerID: transferor.UserID, From: transferor.Num,
		Dialed: x.Target, To: x.Target, StartedAt: x.started, EndedAt: time.Now().UTC(), Disposition: disp,
		Reason: "transfer failed: " + why, HangupBy: "system", Node: c.Core.Node, Direction: directory.Internal}
	if rt := x.rt; rt != nil {
		row.Direction, row.CalleeID, row.GroupID = rt.Dir, rt.CalleeID, rt.GroupID
		if rt.To != "" {
			row.To = rt.To
		}
	}
	c.WriteRow(row)
	if !x.gone {
		c.SendInOrder(x.Notify(c.LegDialog(x.FromA), "SIP/2.0 "+strconv.Itoa(code)+" "+reason, true))
		return
	}
	// Nobody is left for the transferee.
	c.State = call.StEnded
	c.CDR.HangupBy = "callee"
	if c.CallerLeg == leg.Index(x.FromA) {
		c.CDR.HangupBy = "caller"
	}
	c.CDR.Reason = "transfer to " + x.Target + " failed: " + strconv.Itoa(code) + " " + reason
	c.Linger = time.Now().Add(leg.ByeTimeout)
	if x.FromA {
		c.ByeB()
	} else {
		c.ByeA()
	}
}

// HandedOver ends the transfer in progress x, whose transferor's leg now
// belongs to someone else (a target, an orbit).
func (x *Transfer) HandedOver() {
	x.t.cur = nil
}

// abort stops the transfer in progress because the call ends, and returns
// the leg (0 A, 1 B) of a transferor that already left, -1 when none did.
func (t *transfers) abort(why string) int {
	x := t.cur
	if x == nil {
		return -1
	}
	c := t.c
	t.cur = nil
	x.ring.CancelAll(nil)
	c.Core.Release(c, x.slots...)
	c.Linger = time.Now().Add(leg.ByeTimeout)
	c.Log.Info("transfer abandoned", "to", x.Target, "why", why)
	if x.gone {
		return leg.Index(x.FromA)
	}
	return -1
}

// transferorLeft takes the transferor's BYE during its transfer: its
// dialog is over, the transfer goes on.
func (t *transfers) transferorLeft(fromA bool) {
	c, x := t.c, t.cur
	x.gone = true
	c.DropPending(fromA)
	c.Leave(*c.LegDialog(fromA))
	c.Log.Info("transferor hung up; transfer goes on", "to", x.Target)
}

// answered connects the transferee to the target that answered.
func (x *Transfer) answered(f *dial.Fork, res *sip.Response) {
	c := x.t.c
	d := dial.ForkDialog(f, res)
	if err := f.Ack(d.Request(sip.ACK)); err != nil {
		c.Log.Info("ack not sent", "err", err)
	}
	_, m, err := sdpneg.Parse(res.Body())
	if err != nil {
		c.Log.Info("bad sdp from transfer target", "err", err)
		bye := d.Request(sip.BYE)
		c.WG.Go(func() { c.SendBye(bye) })
		x.Failed(488, "Not Acceptable Here", directory.Failed, "bad sdp answer")
		return
	}
	x.HandedOver()
	x.ring.CancelAll(f)
	moved, tee := leg.Index(x.FromA), leg.Index(!x.FromA)
	c.SetLegCodec(leg.RelayLeg(x.FromA), sdpneg.FirstVoice(res.Body()))
	sdpneg.SetMedia(c.Relay, leg.RelayLeg(x.FromA), m)
	c.Relay.SetHold(leg.RelayLeg(x.FromA), m.Hold)

	old := c.Legs[moved].Dialog
	c.Legs[moved].Dialog, c.Legs[moved].SDP, c.Legs[moved].Origin = d, f.Req.Body(), x.origin
	c.Relay.SetPeer(leg.RelayLeg(x.FromA), leg.PeerIP(d.Dest))
	if !x.FromA {
		c.BTarget = &f.Target
	}
	c.DropPending(x.FromA)
	if !x.gone {
		c.Leave(old)
	}

	transferor := c.Parties[moved]
	num := f.Target.Ext
	if num == "" {
		num = x.rt.To
	}
	c.SetParty(moved, call.Party{UserID: f.Target.UserID, Num: num, Ext: f.Target.Ext})
	var keep []string
	for _, p := range c.Parties {
		keep = append(keep, p.Ext)
	}
	var free []string
	for _, ext := range append([]string{transferor.Ext}, x.slots...) {
		if !slices.Contains(keep, ext) {
			free = append(free, ext)
		}
	}
	c.Core.Release(c, free...)
	if x.FromA {
		var cred *call.Credential
		if f.Target.Ext != "" {
			cred, _ = x.t.b.Auth.Credential(f.Target.Ext)
		}
		c.Caller = cred
	}
	c.Log.Info("call transferred", "by", transferor.Num, "to", num)
	x.writeCDR(f, transferor)

	if !x.gone {
		c.SendInOrder(x.Notify(&old, "SIP/2.0 200 OK", true), old.Request(sip.BYE))
		// The transferor sends RTP until it has our BYE: a late packet of
		// it may have latched the leg meant for the target.
		c.AfterChain(call.RelatchEvent{ToA: x.FromA, CallID: d.CallID, RTP: m.RTP, RTCP: m.RTCP})
	}
	c.UnholdTransferee(tee == 0, res.Body())
}

// writeCDR ends the call's row and starts the transferee's with the
// target.
func (x *Transfer) writeCDR(f *dial.Fork, transferor call.Party) {
	c := x.t.c
	now := time.Now().UTC()
	to := c.Parties[leg.Index(x.FromA)]
	c.CDR.EndedAt = now
	c.CDR.HangupBy = "transfer"
	c.CDR.Reason = "transferred to " + to.Num + " by " + transferor.Num
	c.WriteCDR() // a recording stays with this row; teardown completes it
	tee := c.Parties[leg.Index(!x.FromA)]
	row := directory.Call{SIPCallID: c.LegDialog(!x.FromA).CallID, CallerID: tee.UserID, From: tee.Num,
		CalleeID: f.Target.UserID, GroupID: x.rt.GroupID, To: to.Num, Dialed: x.Target, StartedAt: x.started,
		AnsweredAt: now, Disposition: directory.Answered, Reason: "transferred by " + transferor.Num,
		Node: c.Core.Node}
	row.Direction = call.RowDirection(f.Target.Trunk != nil, tee.Ext == "")
	c.CDR = row
	c.Show(row)
	c.CallerLeg = leg.Index(!x.FromA)
}

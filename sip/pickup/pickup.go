package pickup

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// Call pickup: answering, from your own phone, a call that rings for
// someone else.
//
//   - Group pickup (pickup.group, *8) takes the call that has rung longest
//     for a member of the picker's groups (the department authz knows:
//     the members of every group the picker belongs to, subgroups
//     included).
//   - Directed pickup (pickup.directed, **EXT) takes the call ringing for
//     extension EXT.
//   - An INVITE with Replaces naming the early dialog of a ringing
//     extension's phone (what a phone sends when a busy lamp key of a
//     ringing extension is pressed: the dialog-info of the lamp gives the
//     Call-ID) takes that call. The Replaces tags may be left empty (the
//     dialog-info shows only the Call-ID); when given, one of them must be
//     the PBX's tag of that dialog, else 481.
//
// Each is allowed by calls.control ("act on calls") over the user the
// call rings for: none refuses, department allows the picker's groups,
// any allows every extension (group pickup still looks only in the
// picker's groups). A refusal is 403 with authz's reason; nothing ringing
// that the picker may take is 404 (Nothing To Pick Up).
//
// Finding what rings reads a board fed by the leg events every call
// raises (sip/call's legstates.go): no call's state is read from another goroutine.
// The pickup itself is an event posted to the ringing call: on its own
// goroutine the call checks that it still rings there, cancels every
// fork, makes the picker's dialog its leg B (the PBX is the picker's
// UAS, and answers the picker's offer on the relay's leg B), answers the
// caller and records as an answered call would. Its CDR row shows the
// picker as the callee, with the reason "picked up by PICKER from EXT".

// pickupBoard is call pickup on the node: it holds the legs of
// extensions that ring now (not the callers' own legs), by the SIP
// Call-ID of the leg's dialog, and takes the pickers' INVITEs. b2bua
// holds it; the server tells it of every leg event (watchLegs).
type Board struct {
	Core *call.Core
	mu   sync.Mutex
	legs map[string]RingingLeg
}

// RingingLeg is one extension's phone ringing for a call.
type RingingLeg struct {
	callID string // the call's ID (its A leg's Call-ID)
	LegID  string // the Call-ID of the INVITE to the phone
	Ext    string
	userID int64
	since  time.Time
}

// Leg takes one leg event (Server.legEvent, on the call's goroutine).
func (pb *Board) Leg(e call.LegEvent) {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if e.State != call.LegRinging || e.Initiator {
		delete(pb.legs, e.LegID)
		return
	}
	if _, ok := pb.legs[e.LegID]; ok {
		return
	}
	if pb.legs == nil {
		pb.legs = make(map[string]RingingLeg)
	}
	pb.legs[e.LegID] = RingingLeg{callID: e.CallID, LegID: e.LegID, Ext: e.Ext, userID: e.UserID, since: time.Now()}
}

// Ringing returns the legs want accepts, one per call, the call that has
// rung longest first.
func (pb *Board) Ringing(want func(RingingLeg) bool) []RingingLeg {
	pb.mu.Lock()
	var out []RingingLeg
	for _, l := range pb.legs {
		if want(l) {
			out = append(out, l)
		}
	}
	pb.mu.Unlock()
	slices.SortFunc(out, func(a, b RingingLeg) int {
		if c := a.since.Compare(b.since); c != 0 {
			return c
		}
		return strings.Compare(a.LegID, b.LegID)
	})
	seen := map[string]bool{}
	return slices.DeleteFunc(out, func(l RingingLeg) bool {
		dup := seen[l.callID]
		seen[l.callID] = true
		return dup
	})
}

// Get returns the ringing leg whose dialog has Call-ID legID.
func (pb *Board) Get(legID string) (RingingLeg, bool) {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	l, ok := pb.legs[legID]
	return l, ok
}

// Feature answers an extension's INVITE to a pickup feature code
// (package sip's features.go): group pickup, or directed pickup of ext.
func (pb *Board) Feature(req *sip.Request, tx sip.ServerTransaction, picker *call.Credential, f directory.Feature, ext string) {
	subj, ok := pb.start(req, tx, picker)
	if !ok {
		return
	}
	var cands []RingingLeg
	if f == directory.FeaturePickupDirected {
		// Out of scope is refused whether it rings or not.
		if target, err := pb.Core.Auth.Credential(ext); err == nil && target != nil {
			if !pb.allowed(req, tx, picker, subj, target.UserID) {
				return
			}
		}
		cands = pb.Ringing(func(l RingingLeg) bool { return l.Ext == ext })
	} else {
		dept := subj.acc.Department
		cands = pb.Ringing(func(l RingingLeg) bool {
			_, in := slices.BinarySearch(dept, l.userID)
			return l.userID != 0 && (in || l.userID == picker.UserID)
		})
	}
	// Each leg is decided by the user it rings for, whoever the
	// extension belonged to when it was looked up.
	var denied error
	cands = slices.DeleteFunc(cands, func(l RingingLeg) bool {
		err := authz.Can(subj.s, authz.CallsControl, authz.Resource{Kind: authz.KindCall, UserIDs: []int64{l.userID}})
		if err != nil && denied == nil {
			denied = err
		}
		return err != nil
	})
	if len(cands) == 0 && denied != nil {
		pb.denied(req, tx, picker, denied)
		return
	}
	pb.pickup(req, tx, picker, cands, nil, string(f))
}

// Replaces takes an INVITE with Replaces that names the dialog of a
// ringing extension's phone. It reports false, answering nothing, when
// the Replaces names no such dialog: attended.go's replacing.invite then
// deals with it.
func (pb *Board) Replaces(req *sip.Request, tx sip.ServerTransaction, picker *call.Credential, value string) bool {
	if picker == nil {
		return false
	}
	rep, ok := ParseEarlyReplaces(value)
	if !ok {
		return false
	}
	l, ok := pb.Get(rep.CallID)
	if !ok {
		return false
	}
	subj, ok := pb.start(req, tx, picker)
	if !ok {
		return true
	}
	if !pb.allowed(req, tx, picker, subj, l.userID) {
		return true
	}
	// The board learns of answers a moment after the call: a leg it
	// still shows ringing may be confirmed by now, and then the Replaces
	// is an attended transfer's (sip/transfer), not a pickup.
	return pb.pickup(req, tx, picker, []RingingLeg{l}, &rep, "replaces")
}

// pickupSubject is the picker as authz sees them, and the directory's
// account of them (their department).
type pickupSubject struct {
	s   *authz.Subject
	acc *directory.Access
}

// start checks what every pickup needs (an offer, a free call slot,
// calls.control at all) and returns the picker's authz subject; false
// when it answered the INVITE.
func (pb *Board) start(req *sip.Request, tx sip.ServerTransaction, picker *call.Credential) (pickupSubject, bool) {
	b := pb.Core
	if len(req.Body()) == 0 {
		b.Responder.Respond(tx, req, 488, "Not Acceptable Here (Offer Needed)")
		return pickupSubject{}, false
	}
	if _, _, err := sdpneg.Parse(req.Body()); err != nil {
		b.Responder.Respond(tx, req, 488, "Not Acceptable Here")
		return pickupSubject{}, false
	}
	if b.Busy(picker.Ext) {
		b.Responder.Respond(tx, req, 403, "Forbidden (Too Many Calls)")
		return pickupSubject{}, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.StoreTimeout)
	defer cancel()
	acc, err := b.Store.Access(ctx, picker.UserID)
	if err != nil {
		b.Log.Warn("pickup refused: directory unavailable", "ext", picker.Ext, "err", err)
		res := b.Responder.Response(req, 503, "Service Unavailable")
		res.AppendHeader(sip.NewHeader("Retry-After", call.StoreRetryAfter))
		b.Responder.Send(tx, res)
		return pickupSubject{}, false
	}
	subj := pickupSubject{s: authz.NewSubject(acc), acc: acc}
	if err := authz.CanDo(subj.s, authz.CallsControl); err != nil {
		pb.denied(req, tx, picker, err)
		return pickupSubject{}, false
	}
	return subj, true
}

// allowed asks authz whether the picker may take a call ringing for
// user; it answers 403 and returns false when not.
func (pb *Board) allowed(req *sip.Request, tx sip.ServerTransaction, picker *call.Credential, subj pickupSubject, user int64) bool {
	var ids []int64
	if user != 0 {
		ids = []int64{user}
	}
	if err := authz.Can(subj.s, authz.CallsControl, authz.Resource{Kind: authz.KindCall, UserIDs: ids}); err != nil {
		pb.denied(req, tx, picker, err)
		return false
	}
	return true
}

// denied answers the picker's INVITE 403 with authz's reason.
func (pb *Board) denied(req *sip.Request, tx sip.ServerTransaction, picker *call.Credential, err error) {
	b := pb.Core
	reason := authz.DeniedReason(err)
	b.Log.Info("pickup refused", "call_id", req.CallID().Value(), "ext", picker.Ext, "reason", reason)
	b.Responder.Respond(tx, req, 403, "Forbidden ("+reason+")")
}

// pickup offers the picker's INVITE to the calls of cands in turn, until
// one takes it; it returns once the INVITE has its final response (and,
// for a 200, its ACK). With Replaces, when no call took it, it answers
// nothing and reports false.
func (pb *Board) pickup(req *sip.Request, tx sip.ServerTransaction, picker *call.Credential, cands []RingingLeg, rep *call.Replaces, how string) bool {
	b := pb.Core
	for _, l := range cands {
		c := b.Lookup(l.callID)
		if c == nil || c.ID != l.callID {
			continue
		}
		ev := &pickupEvent{req: req, tx: tx, picker: picker, ext: l.Ext, rep: rep,
			reply: make(chan pickupReply, 1), done: make(chan struct{})}
		if rep != nil {
			ev.legID = l.LegID
		}
		if !c.Post(ev) {
			continue
		}
		r := <-ev.reply
		if !r.handled {
			continue
		}
		<-ev.done
		if r.answered {
			ctx, cancel := context.WithTimeout(context.Background(), b.StoreTimeout)
			b.Audit(ctx, picker, "call.pickup", "extension:"+l.Ext,
				fmt.Sprintf("%s: call %s from %s to %s", how, c.ID, r.from, l.Ext))
			cancel()
		}
		return true
	}
	if rep != nil {
		return false
	}
	b.Log.Info("pickup: nothing ringing", "call_id", req.CallID().Value(), "ext", picker.Ext, "feature", how)
	b.Responder.Respond(tx, req, 404, "Not Found (Nothing To Pick Up)")
	return true
}

// ParseEarlyReplaces parses a Replaces value for pickup: the Call-ID,
// and the tags when given (a phone that learned only the Call-ID from
// dialog-info sends them empty, or not at all).
func ParseEarlyReplaces(v string) (call.Replaces, bool) {
	parts := strings.Split(strings.TrimSpace(v), ";")
	r := call.Replaces{CallID: strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "to-tag":
			r.ToTag = strings.TrimSpace(val)
		case "from-tag":
			r.FromTag = strings.TrimSpace(val)
		}
	}
	if r.CallID == "" || len(r.CallID) > 256 {
		return call.Replaces{}, false
	}
	return r, true
}

// pickupEvent asks a ringing call to be answered by the picker.
type pickupEvent struct {
	req    *sip.Request
	tx     sip.ServerTransaction
	picker *call.Credential
	ext    string         // the extension the call rings for
	legID  string         // with Replaces: the Call-ID of the leg it names
	rep    *call.Replaces // with Replaces: the tags it gives
	reply  chan pickupReply
	done   chan struct{} // closed once the INVITE is answered (and a 200 ACKed)
}

// pickupReply tells the picker's handler what the call did: handled, it
// answered the INVITE (answered: with a 200); otherwise it does not ring
// there (any more) and the INVITE is the handler's.
type pickupReply struct {
	handled, answered bool
	from              string // the caller, for the audit log
}

func (ev *pickupEvent) HandleOn(c *call.Call) { ev.onCall(c) }

// CallOver: the call ended before it saw the event.
func (ev *pickupEvent) CallOver(*call.Call) { ev.reply <- pickupReply{} }

// pickedFork returns the fork of call c that ev may take: one still
// ringing at ev.ext (with Replaces, the one it names, with a tag of ours
// when it gives tags); nil when none.
func (ev *pickupEvent) pickedFork(c *call.Call) *dial.Fork {
	if c.State != call.StRinging {
		return nil
	}
	if c.Caller != nil && c.Caller.UserID == ev.picker.UserID {
		return nil // the picker's own call
	}
	for _, f := range c.Ring.Forks {
		if f.Final != nil || f.Cancelled || f.Tx == nil || f.Target.Ext == "" || f.Target.Ext != ev.ext {
			continue
		}
		if ev.legID != "" {
			if f.Req.CallID().Value() != ev.legID {
				continue
			}
			ours := wire.Tag(f.Req.From().Params)
			if r := ev.rep; (r.ToTag != "" || r.FromTag != "") && r.ToTag != ours && r.FromTag != ours {
				continue
			}
		}
		return f
	}
	return nil
}

// onCall answers the caller of c with the picker's phone in place of the
// forks; on c's goroutine.
func (ev *pickupEvent) onCall(c *call.Call) {
	f := ev.pickedFork(c)
	if f == nil {
		ev.reply <- pickupReply{}
		return
	}
	reject := func(code int, reason string) {
		c.Log.Info("pickup refused", "by", ev.picker.Ext, "status", code, "reason", reason)
		c.Core.Responder.Respond(ev.tx, ev.req, code, reason)
		ev.reply <- pickupReply{handled: true}
		close(ev.done)
	}
	if c.Late || c.Ring.Offer == nil {
		reject(488, "Not Acceptable Here (Caller Sent No Offer)")
		return
	}
	if prev := c.Core.Lookup(ev.req.CallID().Value()); prev != nil {
		reject(482, "Loop Detected")
		return
	}
	toCaller, toPicker, ok := ev.media(c)
	if !ok {
		reject(488, "Not Acceptable Here")
		return
	}

	// The picker's dialog is leg B; its ACK, BYE and re-INVITEs come to
	// this call.
	src := ev.req.Source()
	req := ev.req.Clone()
	req.To().Params.Add("tag", sip.GenerateTagN(16))
	d := c.Core.UASDialog(req)
	c.Core.Alias(d.CallID, c)
	okPicker := c.OKResponse(req, toPicker, d.Contact)
	if err := ev.tx.Respond(okPicker); err != nil {
		// The picker gave up (CANCEL) or is gone: the call rings on.
		c.Log.Info("pickup given up: 200 to the picker not sent", "by", ev.picker.Ext, "err", err)
		c.Core.Unalias(d.CallID, c)
		ev.reply <- pickupReply{handled: true}
		close(ev.done)
		return
	}
	c.AwaitAck(req, call.Pending2xx{FromA: false, Tx: ev.tx, Res: okPicker, Done: ev.done})
	ev.reply <- pickupReply{handled: true, answered: true, from: c.Rt.From}
	c.Ring.CancelAll(nil)
	c.Legs[1].Dialog = d
	c.BAcked = true // we are the picker's UAS: no ACK of ours on leg B
	c.BTarget = &route.Target{UserID: ev.picker.UserID, Ext: ev.picker.Ext, Dest: src, Transport: d.Transport}
	c.Core.Take(c, ev.picker.Ext)
	c.Log.Info("call picked up", "by", ev.picker.Ext, "ringing_at", f.Target.Ext)
	ev.answerCaller(c, f.Target.Ext, toCaller)
}

// media points the relay's leg B of c at the picker and returns the
// answer for the caller and the one for the picker: the picker's offer,
// cut to the formats of the offer the forks got, stands for the answer a
// fork would have given. false when the picker shares no voice codec
// with that offer.
func (ev *pickupEvent) media(c *call.Call) (toCaller, toPicker []byte, ok bool) {
	picked, _, err := sdpneg.Parse(ev.req.Body())
	forkOffer, _, err2 := sdpneg.Parse(c.Ring.Offer)
	if err != nil || err2 != nil || !sdpneg.KeepCommonFormats(picked, forkOffer) ||
		len(sdpneg.VoiceCodecs(sdpneg.CodecsOf(sdpneg.Audio(picked)))) == 0 {
		return nil, nil, false
	}
	asAnswer, err := picked.Marshal()
	if err != nil {
		return nil, nil, false
	}
	answer, _, err := sdpneg.Parse(asAnswer)
	if err != nil {
		return nil, nil, false
	}
	src := ev.req.Source()
	toCaller, err = c.AnswerSDP(asAnswer) // points leg B at the picker
	if err != nil {
		return nil, nil, false
	}
	c.Relay.SetPeer(media.LegB, leg.PeerIP(src))
	sdpneg.SendRecv(answer)
	c.Legs[1].Origin = sdpneg.Origin{ID: c.Legs[0].Origin.ID + 2}
	toPicker, err = sdpneg.LegSDP(answer, &c.Legs[1].Origin, c.Core.MediaIP(src), c.Relay, media.LegB)
	if err != nil {
		return nil, nil, false
	}
	c.Legs[1].SDP = toPicker
	return toCaller, toPicker, true
}

// answerCaller answers the caller of c, which the picker took from ext,
// as answerWith does for a fork: the CDR row shows the picker as the
// callee, the recording starts, and the caller gets our 200.
func (ev *pickupEvent) answerCaller(c *call.Call, ext string, toCaller []byte) {
	picker := ev.picker
	c.State = call.StAnswered
	c.Relay.Arm()
	c.CDR.AnsweredAt = time.Now().UTC()
	c.CDR.Disposition = directory.Answered
	c.CDR.CalleeID, c.CDR.To = picker.UserID, picker.Ext
	c.CDR.Reason = "picked up by " + picker.Ext + " from " + ext
	c.Show(c.CDR)
	c.SetParty(0, call.Party{UserID: c.Rt.CallerID, Num: c.Rt.From, Ext: c.CallerExt()})
	c.SetParty(1, call.Party{UserID: picker.UserID, Num: picker.Ext, Ext: picker.Ext})
	c.Legs[0].Dialog = c.Core.UASDialog(c.AReq)
	c.Core.Taps.Joined(c)
	ok200 := c.OKResponse(c.AReq, toCaller, c.Legs[0].Dialog.Contact)
	c.AAnswered = true
	if err := c.ATx.Respond(ok200); err != nil {
		c.Log.Info("200 to caller not sent", "err", err)
		c.Hangup("system", "caller unreachable")
		c.CloseAFinal()
		return
	}
	c.AwaitAck(c.AReq, call.Pending2xx{FromA: true, Tx: c.ATx, Res: ok200, Done: c.AFinal, Initial: true})
	c.Core.Taps.Answered(c)
}

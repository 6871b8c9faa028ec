package call

import (
	"log/slog"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/trunk"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// The admission of in-dialog requests to a call's legs: which leg's
// dialog and peer a request names, by the rules of admit.go.

// admission tells which leg of a call an in-dialog request belongs to,
// and turns away the others (admit.go): it knows the call's legs and who
// is on them only as they are handed to it, the caller's INVITE (whose
// early dialog is leg A's until the answer) and the dialogs of the parties
// the call left. It is the call's part, embedded in it; only the call's
// actor touches it.
type admission struct {
	core         *Core
	callerInvite *sip.Request // the caller's INVITE, with our To-tag
	trunk        *trunk.Trunk // leg A's carrier, if the call came from a trunk
	// left are the dialogs of parties the call left (leave, as a leg changes
	// hands: legmove.go):
	// their late requests are answered; legReplaced, one of the legs'
	// dialogs was replaced, and the legs are told apart by dialog.
	left        []leg.Dialog
	legReplaced bool
	log         *slog.Logger
}

// admitted reports whether req, an in-dialog request that reached the
// call, belongs to one of legs, the call's, with parties on them once
// answered, and which (admit.go); callerExt is the caller's extension, ""
// from a trunk.
func (ad *admission) admitted(req *sip.Request, legs *[2]leg.Leg, parties [2]Party, callerExt string) (fromA, ok bool) {
	if legs[0].Dialog.CallID == "" {
		// Not answered yet: only the caller has a dialog (an early one,
		// with the To tag of our provisional responses).
		early := ad.inEarlyDialog(req)
		return early, early && ad.fromPeer(req, ad.callerInvite.Source(), callerExt, 0)
	}
	return ad.admit(req, legs, parties)
}

// inEarlyDialog reports whether req names the caller's early dialog: the
// Call-ID and From tag of the INVITE, and the To tag of our provisional
// responses.
func (ad *admission) inEarlyDialog(req *sip.Request) bool {
	return req.CallID().Value() == ad.callerInvite.CallID().Value() && wire.Tag(req.From().Params) == wire.Tag(ad.callerInvite.From().Params) &&
		wire.Tag(req.To().Params) == wire.Tag(ad.callerInvite.To().Params)
}

// admit reports whether req names the dialog of one of legs, answered
// legs with parties on them, and comes from that leg's peer, and which
// leg; it follows that peer to where it now sends from.
func (ad *admission) admit(req *sip.Request, legs *[2]leg.Leg, parties [2]Party) (fromA, ok bool) {
	for i := range legs {
		l := &legs[i]
		if !l.Owns(req) {
			continue
		}
		if !ad.fromPeer(req, l.Dialog.Dest, parties[i].Ext, i) {
			return i == 0, false
		}
		l.FollowPeer(req, ad.log)
		return i == 0, true
	}
	return false, false
}

// fromPeer is fromPeer for leg i (0: A, 1: B) of the call.
func (ad *admission) fromPeer(req *sip.Request, dest, ext string, i int) bool {
	carrier := ad.trunk // leg A's, if the call came from a trunk
	if i == 1 {
		carrier = nil
	}
	return fromPeer(ad.core, req, dest, ext, carrier)
}

// Leave remembers d, the dialog of a party the call left (a transferor,
// a parker, a replaced phone): its late requests are answered, and the
// legs are told apart by dialog from now on.
func (ad *admission) Leave(d leg.Dialog) {
	ad.left = append(ad.left, d)
	ad.legReplaced = true
}

// CallerExt is the caller's extension, "" for a call from a trunk.
func (c *Call) CallerExt() string {
	if c.Caller == nil {
		return ""
	}
	return c.Caller.Ext
}

// admitRequest applies admitted to a BYE, re-INVITE, REFER or other
// in-dialog request, noting its leg in ev, and answers the refused ones
// itself (turnAway).
func (ad *admission) admitRequest(ev *ReqEvent, legs *[2]leg.Leg, parties [2]Party, callerExt string) bool {
	fromA, ok := ad.admitted(ev.Req, legs, parties, callerExt)
	if !ok {
		ad.turnAway(ev)
		return false
	}
	ev.FromA = fromA
	return true
}

// turnAway answers a request admit refused: a request of a dialog the
// call left after a transfer gets 200 for a BYE (that dialog is over
// anyway) and 481 otherwise, and so does a stranger's.
func (ad *admission) turnAway(ev *ReqEvent) {
	if ad.leftDialog(ev.Req) && ev.Req.Method == sip.BYE {
		ad.core.Responder.Respond(ev.Tx, ev.Req, 200, "OK")
	} else {
		ad.refusedInDialog(ev.Req)
		ad.core.Responder.Respond(ev.Tx, ev.Req, 481, "Call/Transaction Does Not Exist")
	}
	close(ev.Done)
}

// leftDialog reports whether req belongs to a dialog the call left (a
// transferor's), from that dialog's peer.
func (ad *admission) leftDialog(req *sip.Request) bool {
	id, ftag := req.CallID().Value(), wire.Tag(req.From().Params)
	for _, d := range ad.left {
		if d.CallID == id && d.RemoteTag == ftag {
			return SameIP(req.Source(), d.Dest)
		}
	}
	return false
}

// refusedInDialog logs and counts an in-dialog request refused: a
// stranger's, or one naming the call with wrong tags.
func (ad *admission) refusedInDialog(req *sip.Request) {
	ad.log.Info("in-dialog request refused: not from a party of the call",
		"method", string(req.Method), "src", req.Source())
	ad.core.Counters.Drop("not the dialog's peer")
}

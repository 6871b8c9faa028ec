package call

import (
	"net/netip"

	"github.com/switchboard-pbx/switchboard/sip/leg"
)

// Re-INVITEs inside an answered call (hold, resume, a codec change, a
// session refresh), and ours: the call decides whether a leg's may pass
// now (onReinvite: glare, a room's gate) and hands it to the bridge, which
// passes it to the other leg or answers it, and sends ours on the legs
// (leg.Bridge). When a leg changes hands (legmove.go), the bridge takes
// the party that stayed off hold and has the leg's relay source latch
// again (relatchEvent).

// onReinvite passes a re-INVITE (hold, resume, codec change) to the other
// leg with its SDP pointed at the relay, unless the call refuses it now.
func (c *Call) onReinvite(ev *ReqEvent) {
	if c.State == StAnswered {
		// A new INVITE from a leg means it sent the ACK of our last 2xx,
		// even if sipgo hands us the INVITE first.
		c.onAck(&AckEvent{Req: ev.Req, FromA: ev.FromA, before: true})
	}
	code, reason := 0, ""
	switch {
	case c.State != StAnswered: // (or the ACK ended it: a late offer not answered)
		code, reason = 481, "Call/Transaction Does Not Exist"
	case c.Transacting() || c.hasPending():
		code, reason = 491, "Request Pending" // glare (RFC 3261 §14.2)
	default:
		code, reason = c.Rooms.RefuseReinvite(len(ev.Req.Body()) > 0)
	}
	if code != 0 {
		c.methods.refuse(ev, code, reason)
		return
	}
	c.Bridge.Reinvite(&leg.Incoming{Req: ev.Req, Tx: ev.Tx, FromA: ev.FromA, Done: ev.Done})
}

// bridgeDone is the result of one of the bridge's transactions on a leg,
// run on the call's goroutine; live is false once the call is no longer
// answered (legTx.send).
type bridgeDone func(live bool)

// RelatchEvent: the transferor has its BYE; the leg now the target's
// latches again if it latched onto the transferor (bridge.relatch).
type RelatchEvent struct {
	ToA       bool
	CallID    string
	RTP, RTCP netip.AddrPort
}

func (ev RelatchEvent) HandleOn(c *Call) {
	if c.State == StAnswered {
		c.Bridge.Relatch(ev.ToA, ev.CallID, ev.RTP, ev.RTCP)
	}
}

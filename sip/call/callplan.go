package call

import (
	"github.com/pion/sdp/v3"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// RefDND refuses a call to a callee in do not disturb.
var RefDND = &route.Refusal{Code: 486, Reason: "Busy Here", Disp: directory.Busy, Why: "do not disturb"}

// callPlan is how a new call goes on: an answerer of the PBX's takes it
// (ans: a queue, a menu, a mailbox), or its targets ring (spare: the
// trunks to fail over to).
type callPlan struct {
	ans            Answerer
	targets, spare []route.Target
	offer          *sdpneg.Media // the caller's, nil when late
	// offerSD is the caller's offer as parsed, for the dialer to address
	// (nil when late).
	offerSD *sdp.SessionDescription
}

// plan decides how c, a new call on rt, goes on, or refuses it; ref is
// the route's refusal, if any. The caller's offer must parse, and the
// caller and the callee be within their call limits (the call table's slots);
// an answerer's own refusal (a queue or menu wants an offer) comes after
// the caller's limit.
// A callee in do not disturb, not registered or at their call limit goes
// to their stand-in (a mailbox), when it takes the call.
func (b *Core) plan(c *Call, rt *route.Route, ref *route.Refusal) (callPlan, *route.Refusal) {
	ans, _ := rt.Answer.(Answerer) // nil: the route rings its targets
	p := callPlan{ans: ans}
	if ref != nil && (ref == RefDND || ref == route.Offline) && b.StandIn.Takes(c) {
		p.ans = b.StandIn
	}
	if ref != nil && p.ans == nil {
		return p, ref
	}
	if !c.Late {
		sd, m, err := sdpneg.Parse(c.AReq.Body())
		if err != nil {
			c.Log.Info("call refused: bad sdp", "err", err)
			return p, &route.Refusal{Code: 488, Reason: "Not Acceptable Here", Disp: directory.Failed, Why: "bad sdp offer"}
		}
		p.offer, p.offerSD = &m, sd
	}
	if c.Caller != nil && b.Busy(c.Caller.Ext) {
		return p, &route.Refusal{Code: 403, Reason: "Forbidden (Too Many Calls)", Disp: directory.Failed, Why: "caller call limit"}
	}
	if p.ans != nil {
		if ref := p.ans.Refusal(c); ref != nil {
			return p, ref
		}
	}
	p.targets, p.spare = dial.Pick(rt, b.Busy)
	if len(p.targets) == 0 && p.ans == nil && b.StandIn.Takes(c) {
		p.ans = b.StandIn
	}
	if len(p.targets) == 0 && p.ans == nil {
		return p, &route.Refusal{Code: 486, Reason: "Busy Here", Disp: directory.Busy, Why: "callee call limit"}
	}
	return p, nil
}

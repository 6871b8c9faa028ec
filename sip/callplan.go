package sip

import (
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// callPlan is how a new call goes on: an answerer of the PBX's takes it
// (ans: a queue, a menu, a mailbox), or its targets ring (spare: the
// trunks to fail over to).
type callPlan struct {
	ans            answerer
	targets, spare []target
	offer          *sdpneg.Media // the caller's, nil when late
}

// plan decides how c, a new call on rt, goes on, or refuses it; ref is
// the route's refusal, if any. The caller's offer must parse, and the
// caller and the callee be within their call limits (the b2bua's slots);
// an answerer's own refusal (a queue or menu wants an offer) comes after
// the caller's limit.
// A callee in do not disturb, not registered or at their call limit goes
// to their stand-in (a mailbox), when it takes the call.
func (b *b2bua) plan(c *call, rt *route, ref *refusal) (callPlan, *refusal) {
	p := callPlan{ans: rt.answer}
	if ref != nil && (ref == refDND || ref == refOffline) && b.standIn.takes(c) {
		p.ans = b.standIn
	}
	if ref != nil && p.ans == nil {
		return p, ref
	}
	if !c.late {
		_, m, err := sdpneg.Parse(c.aReq.Body())
		if err != nil {
			c.log.Info("call refused: bad sdp", "err", err)
			return p, &refusal{488, "Not Acceptable Here", directory.Failed, "bad sdp offer", nil}
		}
		p.offer = &m
	}
	if c.caller != nil && b.busy(c.caller.Ext) {
		return p, &refusal{403, "Forbidden (Too Many Calls)", directory.Failed, "caller call limit", nil}
	}
	if p.ans != nil {
		if ref := p.ans.refusal(c); ref != nil {
			return p, ref
		}
	}
	p.targets, p.spare = pickTargets(rt, b.busy)
	if len(p.targets) == 0 && p.ans == nil && b.standIn.takes(c) {
		p.ans = b.standIn
	}
	if len(p.targets) == 0 && p.ans == nil {
		return p, &refusal{486, "Busy Here", directory.Busy, "callee call limit", nil}
	}
	return p, nil
}

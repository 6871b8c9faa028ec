package call

import "github.com/emiago/sipgo/sip"

// dialogMethods passes an in-dialog request of the call, admitted and taken by
// no room, to the handler of its method: a BYE ends a leg (hangup.go), a
// re-INVITE goes to the gate (reinvite.go), a REFER to the call's
// transfers (Core.TakeRefer: package sip's transfer). A NOTIFY is answered 200, anything else 405.
type dialogMethods struct {
	bye, reinvite, refer func(*ReqEvent)
	respond              func(tx sip.ServerTransaction, req *sip.Request, code int, reason string)
}

// refuse answers ev with code and reason.
func (d dialogMethods) refuse(ev *ReqEvent, code int, reason string) {
	d.respond(ev.Tx, ev.Req, code, reason)
	close(ev.Done)
}

// dispatch hands ev to its method's handler, or answers it itself.
func (d dialogMethods) dispatch(ev *ReqEvent) {
	switch ev.Req.Method {
	case sip.BYE:
		d.bye(ev)
	case sip.INVITE:
		d.reinvite(ev)
	case sip.REFER:
		d.refer(ev)
	case sip.NOTIFY:
		d.refuse(ev, 200, "OK") // nothing to act on
	default:
		d.refuse(ev, 405, "Method Not Allowed")
	}
}

package sip

import "github.com/emiago/sipgo/sip"

// dialogMethods passes an in-dialog request of the call, admitted and taken by
// no room, to the handler of its method: a BYE ends a leg (hangup.go), a
// re-INVITE goes to the gate (reinvite.go), a REFER to the call's
// transfers (transfer.go). A NOTIFY is answered 200, anything else 405.
type dialogMethods struct {
	bye, reinvite, refer func(*reqEvent)
	respond              func(tx sip.ServerTransaction, req *sip.Request, code int, reason string)
}

// refuse answers ev with code and reason.
func (d dialogMethods) refuse(ev *reqEvent, code int, reason string) {
	d.respond(ev.tx, ev.req, code, reason)
	close(ev.done)
}

// dispatch hands ev to its method's handler, or answers it itself.
func (d dialogMethods) dispatch(ev *reqEvent) {
	switch ev.req.Method {
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

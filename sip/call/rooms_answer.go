package call

import (
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// Features that answer a call themselves instead of ringing anyone (a
// queue, a menu, a mailbox): the call's start (beginOn) asks them through
// these small interfaces, so that it names none of them.

// Answerer answers a call in place of ringing anyone. The router puts one
// on the route (Route.Answer) of a number that is a queue's or a menu's.
type Answerer interface {
	// Refusal is asked in beginOn before the call is filed: the refusal
	// of a call the answerer cannot take (one without an SDP offer), nil
	// when it can.
	Refusal(c *Call) *route.Refusal
	// AnswerCall answers c; it runs in beginOn once the call is filed and
	// its relay runs, before the call's actor starts.
	AnswerCall(c *Call)
}

// StandIn answers a call in the place of a callee who cannot take it:
// their mailbox (sip/voicemail). The b2bua holds one (b2bua.StandIn).
type StandIn interface {
	Answerer
	// Takes reports whether it answers a call its callee cannot take (do
	// not disturb, not registered, at the call limit), asked in beginOn
	// before any phone rings.
	Takes(c *Call) bool
	// AnswerRinging answers a call whose callee did not answer or was
	// busy, at the end of ringing, and reports whether it did.
	AnswerRinging(c *Call) bool
}

// OfferMaker is a room standing on leg B that made the offer of a
// late-offer call itself (a mailbox, vmlate.go): it takes the caller's
// answer from the ACK, in place of leg B's dialog.
type OfferMaker interface {
	TakeAnswer(m sdpneg.Media)
}

// TakeAnswer gives the caller's answer in the ACK to the room that
// made the offer, and reports whether one did.
func (rs *roomSet) TakeAnswer(m sdpneg.Media) bool {
	for _, r := range *rs {
		if o, ok := r.(OfferMaker); ok {
			o.TakeAnswer(m)
			return true
		}
	}
	return false
}

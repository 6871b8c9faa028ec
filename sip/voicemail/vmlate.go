package voicemail

import (
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// Voicemail for a late-offer call (an INVITE without SDP, RFC 3261
// §13.2.1): the mailbox's endpoint makes the offer, which goes to the
// caller in our 200 through the relay (widened to the codecs the relay
// transcodes to); the caller's answer comes in the ACK (lateAnswer), and
// only then do the greeting and the recording start.

// vmLateEvent is the telephone-event payload type of the mailbox's own
// offer.
const vmLateEvent = 101

// TakeAnswer takes the caller's answer to the mailbox's offer: the
// relay is pointed at the caller and the greeting starts.
func (d *vmDeposit) TakeAnswer(m sdpneg.Media) {
	c := d.c
	c.NeedAnswer = false
	sdpneg.SetMedia(c.Relay, media.LegA, m)
	c.Relay.SetHold(media.LegA, m.Hold)
	close(d.Ready)
	c.Log.Info("voicemail: the caller answered the mailbox's offer")
}

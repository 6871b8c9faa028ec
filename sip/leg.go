package sip

import "github.com/switchboard-pbx/switchboard/media"

// leg is one dialog of a call with what goes with it: where its requests
// go (dialog), the origin line of the SDP we send on it, and the last SDP
// we sent on it, which a re-INVITE without SDP is answered with and a
// transfer offers onward. A leg knows nothing of the other leg: the call
// (and its features) join legs on the relay and move them.
//
// Leg A is the caller's dialog with us, leg B the dialog we set up with
// whoever answered; a transfer or attended transfer puts another dialog in
// place of either. Only the call's goroutine touches its legs.
type leg struct {
	dlg    dialog
	origin origin
	sdp    []byte
}

// legIndex is the index in call.leg of leg A (fromA) or B.
func legIndex(fromA bool) int {
	if fromA {
		return 0
	}
	return 1
}

// party is who is on one leg of an answered call.
type party struct {
	userID int64
	num    string // extension or number
	ext    string // "" outside the PBX (trunk)
}

// mediaLeg is the relay leg of leg A (a) or B.
func mediaLeg(a bool) media.Leg {
	if a {
		return media.LegA
	}
	return media.LegB
}

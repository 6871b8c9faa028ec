package call

import (
	"sync/atomic"

	"github.com/switchboard-pbx/switchboard/sip/presence"
)

// LegState is where one extension's leg of a call stands, as busy lamps,
// presence and the dashboard show it.
type LegState uint8

const (
	// LegRinging: the extension's phone rings or, when it placed the
	// call, hears ringback.
	LegRinging LegState = iota + 1
	// LegAnswered: the extension is in the conversation (held or not).
	LegAnswered
	// LegEnded: the extension's leg is over.
	LegEnded
)

func (s LegState) String() string {
	switch s {
	case LegRinging:
		return "ringing"
	case LegAnswered:
		return "answered"
	case LegEnded:
		return "ended"
	}
	return "unknown"
}

// LegEvent tells watchers that one extension's leg of a call changed
// state. Trunk legs and legs without an extension raise none.
type LegEvent struct {
	CallID    string // the call's ID, the one its CDR row carries
	LegID     string // the SIP Call-ID of the dialog with the extension's phone
	Ext       string
	UserID    int64
	Initiator bool // the extension placed the call
	State     LegState
	Peer      string // the other party's number as the extension sees it; "" when hidden
	PeerName  string
}

// PresenceLeg is e as the presence table takes it.
func (e LegEvent) PresenceLeg() presence.Leg {
	l := presence.Leg{ID: e.LegID, Initiator: e.Initiator, Peer: e.Peer, PeerName: e.PeerName}
	switch e.State {
	case LegRinging:
		l.State = presence.LegRinging
	case LegAnswered:
		l.State = presence.LegAnswered
	}
	return l
}

// LegObserver receives leg events. It is called on the call's own
// goroutine and must not block.
type LegObserver func(LegEvent)

// LegObservers holds the one observer in force, and the server's own
// watchers (call pickup's board), added while the server is built.
type LegObservers struct {
	Observer atomic.Pointer[LegObserver]
	Own      []LegObserver
}

// Emit hands e to the server's own watchers and to the observer, if one
// is set.
func (o *LegObservers) Emit(e LegEvent) {
	for _, f := range o.Own {
		f(e)
	}
	if f := o.Observer.Load(); f != nil {
		(*f)(e)
	}
}
